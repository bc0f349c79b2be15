"""Geography services: importing units and populations, browsing the tree.

Unit files come in the formats of the official code lists (``provinces.csv``, ``cities.csv``,
``areas.csv``, ``streets.csv``, ``villages.csv`` of modood/Administrative-divisions-of-China) or a
generic ``code,name,level,parent_code[,name_en]``. Population files are
``code,sex,age_group,population`` (see ``docs/population-csv.md``). Every import validates the
whole file first and writes it in one transaction: a bad line rejects the file, naming the line
and the field, and leaves the database as it was. Importing the same file again changes nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import Session, col, select

from participation.core.errors import NotFoundError, ServiceError
from participation.core.i18n import N_
from participation.geography.models import (
    AGE_GROUPS,
    LEVEL_ORDER,
    SEXES,
    Level,
    PopulationCell,
    Unit,
)

CODE_LENGTH = {
    Level.PROVINCE: 2,
    Level.CITY: 4,
    Level.COUNTY: 6,
    Level.STREET: 9,
    Level.COMMUNITY: 12,
}

# header (as a tuple) → (level, column holding the parent code)
OFFICIAL_FORMATS: dict[tuple[str, ...], tuple[Level, str | None]] = {
    ("code", "name"): (Level.PROVINCE, None),
    ("code", "name", "provinceCode"): (Level.CITY, "provinceCode"),
    ("code", "name", "cityCode", "provinceCode"): (Level.COUNTY, "cityCode"),
    ("code", "name", "areaCode", "provinceCode", "cityCode"): (Level.STREET, "areaCode"),
    ("code", "name", "streetCode", "provinceCode", "cityCode", "areaCode"): (
        Level.COMMUNITY,
        "streetCode",
    ),
}
GENERIC_REQUIRED = ("code", "name", "level", "parent_code")


@dataclass(frozen=True)
class ImportSummary:
    """What an import did."""

    rows: int
    created: int
    updated: int
    unchanged: int


def _read_csv(data: bytes | str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ServiceError(N_("The file is not UTF-8 text."), field="file") from exc
    else:
        text = data.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration as exc:
        raise ServiceError(N_("The file is empty."), field="file", line=1) from exc
    except csv.Error as exc:
        raise ServiceError(N_("Line %(line)s is not valid CSV."), line=1, field="file") from exc
    header = [h.strip() for h in header]
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise ServiceError(
                    N_("Line %(line)s has %(found)s fields, the header has %(expected)s."),
                    line=line,
                    field="file",
                    found=len(row),
                    expected=len(header),
                )
            rows.append((line, {h: cell.strip() for h, cell in zip(header, row, strict=True)}))
    except csv.Error as exc:
        raise ServiceError(
            N_("Line %(line)s is not valid CSV."), line=reader.line_num, field="file"
        ) from exc
    return header, rows


def _row_error(line: int, field: str, message: str, **params: object) -> ServiceError:
    return ServiceError(message, line=line, field=field, **params)


def parse_units(data: bytes | str) -> list[tuple[int, Unit]]:
    """Validate a units file and return its units (with their line numbers)."""
    header, rows = _read_csv(data)
    fmt = OFFICIAL_FORMATS.get(tuple(header))
    if fmt is None and not set(GENERIC_REQUIRED) <= set(header):
        raise ServiceError(
            N_(
                "Unrecognised header %(header)s: expected an official code list "
                "(code,name,… as in streets.csv) or code,name,level,parent_code."
            ),
            field="header",
            line=1,
            header=",".join(header),
        )
    units: list[tuple[int, Unit]] = []
    seen: set[str] = set()
    for line, row in rows:
        code = row["code"]
        if fmt is not None:
            level, parent_col = fmt
            parent = row[parent_col] if parent_col else None
        else:
            try:
                level = Level(row["level"])
            except ValueError as exc:
                raise _row_error(
                    line, "level", N_("unknown level %(value)s."), value=row["level"]
                ) from exc
            parent = row["parent_code"] or None
        if not code.isdigit() or len(code) != CODE_LENGTH[level]:
            raise _row_error(
                line,
                "code",
                N_("%(value)s is not a %(digits)s-digit division code."),
                value=code,
                digits=CODE_LENGTH[level],
            )
        if code in seen:
            raise _row_error(line, "code", N_("code %(value)s appears twice."), value=code)
        seen.add(code)
        name = row["name"]
        if not name:
            raise _row_error(line, "name", N_("the name is empty."))
        if parent is not None and (not parent.isdigit() or not code.startswith(parent[:2])):
            raise _row_error(
                line, "parent_code", N_("%(value)s is not a valid parent code."), value=parent
            )
        population = None
        if row.get("population"):
            try:
                population = int(row["population"])
            except ValueError as exc:
                raise _row_error(
                    line,
                    "population",
                    N_("%(value)s is not a whole number."),
                    value=row["population"],
                ) from exc
            if population < 0:
                raise _row_error(line, "population", N_("the population is negative."))
        units.append(
            (
                line,
                Unit(
                    code=code,
                    name=name,
                    name_en=row.get("name_en", ""),
                    level=level.value,
                    parent_code=parent,
                    population=population,
                ),
            )
        )
    return units


def import_units(session: Session, data: bytes | str) -> ImportSummary:
    """Import a units file all-or-nothing; re-importing the same file changes nothing."""
    parsed = parse_units(data)
    in_file = {u.code: u for _, u in parsed}
    existing = {
        u.code: u for u in session.exec(select(Unit).where(col(Unit.code).in_(list(in_file)))).all()
    }
    parent_codes = {u.parent_code for _, u in parsed if u.parent_code}
    known_parents = {
        u.code: u.level
        for u in session.exec(select(Unit).where(col(Unit.code).in_(list(parent_codes)))).all()
    }
    known_parents.update({c: u.level for c, u in in_file.items()})
    for line, unit in parsed:
        if unit.parent_code is None:
            continue
        parent_level = known_parents.get(unit.parent_code)
        if parent_level is None:
            if unit.level == Level.CITY.value:
                unit.parent_code = None  # a city may be the top of the imported tree
                continue
            raise _row_error(
                line,
                "parent_code",
                N_("parent unit %(value)s is neither in the file nor in the database."),
                value=unit.parent_code,
            )
        if LEVEL_ORDER[Level(parent_level)] >= LEVEL_ORDER[Level(unit.level)]:
            raise _row_error(
                line,
                "parent_code",
                N_("parent %(value)s is not above a %(level)s."),
                value=unit.parent_code,
                level=unit.level,
            )
    created = updated = unchanged = 0
    # Parents first, so foreign keys hold within the transaction.
    for _, unit in sorted(parsed, key=lambda lu: LEVEL_ORDER[Level(lu[1].level)]):
        old = existing.get(unit.code)
        if old is None:
            session.add(unit)
            created += 1
            continue
        new_values = {
            "name": unit.name,
            "level": unit.level,
            "parent_code": unit.parent_code,
        }
        if unit.name_en:
            new_values["name_en"] = unit.name_en
        if unit.population is not None:
            new_values["population"] = unit.population
        if all(getattr(old, k) == v for k, v in new_values.items()):
            unchanged += 1
            continue
        for k, v in new_values.items():
            setattr(old, k, v)
        session.add(old)
        updated += 1
    session.flush()
    return ImportSummary(len(parsed), created, updated, unchanged)


def import_population(session: Session, data: bytes | str) -> ImportSummary:
    """Import ``code,sex,age_group,population`` all-or-nothing; sets each unit's population."""
    header, rows = _read_csv(data)
    required = ("code", "sex", "age_group", "population")
    missing = [c for c in required if c not in header]
    if missing:
        raise ServiceError(
            N_("The header lacks the column %(column)s."),
            field=missing[0],
            line=1,
            column=missing[0],
        )
    codes = {row["code"] for _, row in rows}
    units = {u.code for u in session.exec(select(Unit).where(col(Unit.code).in_(list(codes))))}
    cells: dict[tuple[str, str, str], int] = {}
    for line, row in rows:
        if row["code"] not in units:
            raise _row_error(line, "code", N_("unknown unit %(value)s."), value=row["code"])
        if row["sex"] not in SEXES:
            raise _row_error(
                line,
                "sex",
                N_("%(value)s is not one of %(allowed)s."),
                value=row["sex"],
                allowed=", ".join(SEXES),
            )
        if row["age_group"] not in AGE_GROUPS:
            raise _row_error(
                line,
                "age_group",
                N_("%(value)s is not one of %(allowed)s."),
                value=row["age_group"],
                allowed=", ".join(AGE_GROUPS),
            )
        try:
            population = int(row["population"])
        except ValueError as exc:
            raise _row_error(
                line,
                "population",
                N_("%(value)s is not a whole number."),
                value=row["population"],
            ) from exc
        if population < 0:
            raise _row_error(line, "population", N_("the population is negative."))
        key = (row["code"], row["sex"], row["age_group"])
        if key in cells:
            raise _row_error(line, "code", N_("this unit and cell appear twice."))
        cells[key] = population
    existing = {
        (c.unit_code, c.sex, c.age_group): c
        for c in session.exec(
            select(PopulationCell).where(col(PopulationCell.unit_code).in_(list(codes)))
        )
    }
    created = updated = unchanged = 0
    for key, population in cells.items():
        old = existing.get(key)
        if old is None:
            session.add(
                PopulationCell(
                    unit_code=key[0], sex=key[1], age_group=key[2], population=population
                )
            )
            created += 1
        elif old.population == population:
            unchanged += 1
        else:
            old.population = population
            session.add(old)
            updated += 1
    session.flush()
    totals: dict[str, int] = {}
    for cell in session.exec(
        select(PopulationCell).where(col(PopulationCell.unit_code).in_(list(codes)))
    ):
        totals[cell.unit_code] = totals.get(cell.unit_code, 0) + cell.population
    for code, total in totals.items():
        unit = session.get(Unit, code)
        if unit is not None and unit.population != total:
            unit.population = total
            session.add(unit)
    roll_up_population(session)
    session.flush()
    return ImportSummary(len(cells), created, updated, unchanged)


def roll_up_population(session: Session) -> None:
    """Set each county's and city's population to the sum of its children's, where known."""
    units = list(session.exec(select(Unit)))
    children: dict[str, list[Unit]] = {}
    for u in units:
        if u.parent_code:
            children.setdefault(u.parent_code, []).append(u)
    for level in (Level.COUNTY, Level.CITY, Level.PROVINCE):
        for u in units:
            if u.level != level.value:
                continue
            kids = children.get(u.code, [])
            if kids and all(k.population is not None for k in kids):
                total = sum(k.population or 0 for k in kids)
                if u.population != total:
                    u.population = total
                    session.add(u)


def get_unit(session: Session, code: str) -> Unit:
    """A unit by code, or a 404 error."""
    unit = session.get(Unit, code)
    if unit is None:
        raise NotFoundError(N_("Unit %(code)s does not exist."), field="code", code=code)
    return unit


def children_of(session: Session, code: str | None) -> list[Unit]:
    """The units directly under ``code`` (top-level units when None), by code."""
    query = select(Unit)
    query = (
        query.where(col(Unit.parent_code).is_(None))
        if code is None
        else query.where(Unit.parent_code == code)
    )
    return list(session.exec(query.order_by(Unit.code)))


def ancestors_of(session: Session, unit: Unit) -> list[Unit]:
    """The chain of parents of ``unit``, top first."""
    chain: list[Unit] = []
    current = unit
    while current.parent_code:
        parent = session.get(Unit, current.parent_code)
        if parent is None:
            break
        chain.append(parent)
        current = parent
    return list(reversed(chain))


def units_by_level(session: Session, level: Level) -> list[Unit]:
    """All units of a level, by code."""
    return list(session.exec(select(Unit).where(Unit.level == level.value).order_by(Unit.code)))


def population_cells(session: Session, codes: Iterable[str]) -> list[PopulationCell]:
    """Population cells of the given units."""
    return list(
        session.exec(
            select(PopulationCell)
            .where(col(PopulationCell.unit_code).in_(list(codes)))
            .order_by(PopulationCell.unit_code, PopulationCell.sex, PopulationCell.age_group)
        )
    )
