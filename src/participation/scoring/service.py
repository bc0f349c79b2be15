"""Scoring services: schemes and versions, imported indicators, assessments, bulletins.

An assessment gathers the inputs of a period from the database (survey wave results by source,
this platform's rectification, inspection and report figures, imported indicator values), hands
them to the pure :func:`participation.scoring.compute.compute` and stores the outcome with the
scheme version it used. Bulletins present a stored assessment: draft → approved → published.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, col, func, select

from participation.accounts.roles import Role
from participation.accounts.service import streets_in_scope
from participation.core.errors import ConflictError, ForbiddenError, NotFoundError, ServiceError
from participation.core.i18n import N_
from participation.core.timeutil import utcnow
from participation.geography.models import Level, Unit
from participation.scoring.compute import COUNTY, STREET, Observation, UnitRef, compute
from participation.scoring.config import ComponentConfig, SchemeConfig, parse_config
from participation.scoring.models import (
    Assessment,
    Bulletin,
    BulletinStatus,
    ImportedValue,
    Scheme,
    SchemeVersion,
)
from participation.surveys.models import Wave, WaveResult, WaveStatus

USABLE_WAVES = (WaveStatus.CLOSED.value, WaveStatus.PUBLISHED.value)
PERIOD_RE = re.compile(r"^(\d{4})(?:-(0[1-9]|1[0-2]))?$")


# --- schemes -------------------------------------------------------------------------------


def validate_config(data: dict[str, Any]) -> SchemeConfig:
    """Validate a scheme configuration; a bad one is a 400 naming the first bad field."""
    try:
        return parse_config(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "config"
        raise ServiceError(
            N_("Invalid scheme configuration at %(where)s: %(problem)s"),
            field="config",
            where=where,
            problem=first.get("msg", ""),
        ) from exc


def create_scheme(
    session: Session,
    *,
    code: str,
    name: str,
    config: dict[str, Any],
    name_en: str = "",
    user_id: int | None = None,
) -> SchemeVersion:
    """Create a scheme with its first version."""
    code = code.strip()
    if not re.fullmatch(r"[a-z0-9_-]{1,40}", code):
        raise ServiceError(N_("The scheme code %(code)s is not valid."), field="code", code=code)
    if session.exec(select(Scheme).where(Scheme.code == code)).first():
        raise ConflictError(N_("The scheme %(code)s exists already."), field="code", code=code)
    validated = validate_config(config)
    scheme = Scheme(code=code, name=name.strip() or code, name_en=name_en)
    session.add(scheme)
    session.flush()
    assert scheme.id is not None
    version = SchemeVersion(
        scheme_id=scheme.id, version=1, config=validated.model_dump(mode="json"), created_by=user_id
    )
    session.add(version)
    session.flush()
    return version


def add_version(
    session: Session,
    scheme_id: int,
    config: dict[str, Any],
    note: str = "",
    user_id: int | None = None,
) -> SchemeVersion:
    """A new immutable version of a scheme (earlier versions and their results are kept)."""
    if session.get(Scheme, scheme_id) is None:
        raise NotFoundError(N_("No scheme %(id)s."), field="scheme_id", id=scheme_id)
    validated = validate_config(config)
    latest = session.exec(
        select(func.max(SchemeVersion.version)).where(SchemeVersion.scheme_id == scheme_id)
    ).one()
    version = SchemeVersion(
        scheme_id=scheme_id,
        version=(latest or 0) + 1,
        config=validated.model_dump(mode="json"),
        note=note[:300],
        created_by=user_id,
    )
    session.add(version)
    session.flush()
    return version


def get_version(session: Session, version_id: int) -> SchemeVersion:
    """A scheme version, or 404."""
    version = session.get(SchemeVersion, version_id)
    if version is None:
        raise NotFoundError(
            N_("No scheme version %(id)s."), field="scheme_version_id", id=version_id
        )
    return version


def latest_versions(session: Session) -> list[tuple[Scheme, SchemeVersion]]:
    """Every scheme with its latest version."""
    out: list[tuple[Scheme, SchemeVersion]] = []
    for scheme in session.exec(select(Scheme).order_by(Scheme.id)):
        version = session.exec(
            select(SchemeVersion)
            .where(SchemeVersion.scheme_id == scheme.id)
            .order_by(col(SchemeVersion.version).desc())
        ).first()
        if version is not None:
            out.append((scheme, version))
    return out


def default_version(session: Session) -> SchemeVersion | None:
    """The latest version of the first scheme (the bureau's main scheme), if any."""
    versions = latest_versions(session)
    return versions[0][1] if versions else None


# --- imported indicators -------------------------------------------------------------------


@dataclass(frozen=True)
class ImportSummary:
    """What an import of indicator values did."""

    rows: int
    created: int
    updated: int


def _rows_from_upload(data: bytes | str, filename: str) -> list[tuple[int, dict[str, str]]]:
    """(line, row) pairs of a CSV or XLSX file with the header on line 1."""
    is_xlsx = filename.lower().endswith(".xlsx") or (isinstance(data, bytes) and data[:2] == b"PK")
    table: list[list[str]] = []
    if is_xlsx:
        from openpyxl import load_workbook

        raw = data if isinstance(data, bytes) else data.encode()
        try:
            book = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for a damaged file
            raise ServiceError(
                N_("The file is not a readable XLSX workbook."), field="file"
            ) from exc
        sheet = book.worksheets[0]
        for values in sheet.iter_rows(values_only=True):
            table.append(["" if v is None else str(v).strip() for v in values])
        book.close()
    else:
        if isinstance(data, bytes):
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise ServiceError(N_("The file is not UTF-8 text."), field="file") from exc
        else:
            text = data.lstrip("\ufeff")
        try:
            table = [[c.strip() for c in row] for row in csv.reader(io.StringIO(text))]
        except csv.Error as exc:
            raise ServiceError(N_("The file is not valid CSV."), field="file") from exc
    if not table:
        raise ServiceError(N_("The file is empty."), field="file", line=1)
    header = [h.strip().lower() for h in table[0]]
    missing = [h for h in ("unit_code", "period", "value") if h not in header]
    if missing:
        raise ServiceError(
            N_("The header lacks the column %(column)s (expected unit_code,period,value)."),
            field=missing[0],
            line=1,
            column=missing[0],
        )
    rows: list[tuple[int, dict[str, str]]] = []
    for index, cells in enumerate(table[1:], start=2):
        if not any(cells):
            continue
        cells = cells + [""] * (len(header) - len(cells))
        rows.append((index, dict(zip(header, cells, strict=False))))
    return rows


def import_values(
    session: Session, indicator: str, data: bytes | str, filename: str = "values.csv"
) -> ImportSummary:
    """Import ``unit_code,period,value`` rows of an indicator (CSV or XLSX), all or nothing.

    Periods are ``YYYY`` (a year-end figure) or ``YYYY-MM`` (a month). A bad row rejects the
    whole file, naming its line and column; re-importing a row replaces its value.
    """
    indicator = indicator.strip()
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", indicator):
        raise ServiceError(
            N_("The indicator code %(code)s is not valid."), field="indicator", code=indicator
        )
    rows = _rows_from_upload(data, filename)
    known = set(session.exec(select(Unit.code)).all())
    parsed: dict[tuple[str, str], float] = {}
    for line, row in rows:
        code = row.get("unit_code", "")
        if code not in known:
            raise ServiceError(
                N_("unknown unit %(value)s."), line=line, field="unit_code", value=code
            )
        period = row.get("period", "")
        if not PERIOD_RE.match(period):
            raise ServiceError(
                N_("%(value)s is not a period (YYYY or YYYY-MM)."),
                line=line,
                field="period",
                value=period,
            )
        try:
            value = float(row.get("value", ""))
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise ServiceError(
                N_("%(value)s is not a number."), line=line, field="value", value=row.get("value")
            )
        if (code, period) in parsed:
            raise ServiceError(
                N_("unit %(code)s and period %(period)s appear twice."),
                line=line,
                field="unit_code",
                code=code,
                period=period,
            )
        parsed[(code, period)] = value
    existing = {
        (v.unit_code, v.period): v
        for v in session.exec(select(ImportedValue).where(ImportedValue.indicator == indicator))
    }
    created = updated = 0
    for (code, period), value in parsed.items():
        old = existing.get((code, period))
        if old is None:
            session.add(
                ImportedValue(indicator=indicator, unit_code=code, period=period, value=value)
            )
            created += 1
        elif old.value != value:
            old.value = value
            old.imported_at = utcnow()
            session.add(old)
            updated += 1
    session.flush()
    return ImportSummary(len(parsed), created, updated)


def _period_bounds(period: str) -> tuple[date, date, bool]:
    m = PERIOD_RE.match(period)
    assert m is not None
    year = int(m.group(1))
    if m.group(2) is None:
        return date(year, 1, 1), date(year, 12, 31), True
    month = int(m.group(2))
    end = date(year + (month == 12), month % 12 + 1, 1)
    return date(year, month, 1), date.fromordinal(end.toordinal() - 1), False


# --- gathering inputs ----------------------------------------------------------------------


def unit_refs(session: Session) -> list[UnitRef]:
    """Streets and counties of the city, as plain data."""
    rows = session.exec(
        select(Unit).where(col(Unit.level).in_([Level.STREET.value, Level.COUNTY.value]))
    ).all()
    return [UnitRef(u.code, u.name, u.level, u.parent_code, u.population, u.name_en) for u in rows]


def waves_in(session: Session, source: str, start: date, end: date) -> list[Wave]:
    """Closed or published waves of ``source`` whose period ends within [start, end]."""
    return list(
        session.exec(
            select(Wave)
            .where(
                Wave.source == source,
                col(Wave.status).in_(USABLE_WAVES),
                col(Wave.period_end) >= start,
                col(Wave.period_end) <= end,
            )
            .order_by(Wave.period_end, Wave.id)
        )
    )


def _is_yearend(wave: Wave) -> bool:
    return bool(wave.settings.get("year_end")) or (wave.period_end - wave.period_start).days >= 300


def _survey_observations(
    session: Session, comp: ComponentConfig, waves: list[Wave]
) -> list[Observation]:
    if not waves:
        return []
    by_id = {w.id: w for w in waves}
    results = session.exec(
        select(WaveResult).where(
            col(WaveResult.wave_id).in_(list(by_id)),
            col(WaveResult.level).in_([STREET, COUNTY]),
        )
    ).all()
    out: list[Observation] = []
    for r in results:
        wave = by_id[r.wave_id]
        if comp.metric == "p_satisfied":
            if r.p_satisfied is None:
                continue
            value, se = r.p_satisfied * 100.0, (r.p_se or 0.0) * 100.0
        else:
            if r.mean is None:
                continue
            value, se = r.mean, r.se or 0.0
        out.append(
            Observation(comp.key, r.unit_code, value, se, wave.period_end, _is_yearend(wave))
        )
    return out


def _platform_figures(session: Session, kind: str, start: date, end: date) -> dict[str, float]:
    """This platform's figures per street for a component kind (0–100 for rates)."""
    if kind in ("rectification_rate", "rectification_on_time"):
        from participation.volunteers.service import rectification_rates

        stats = rectification_rates(session, start, end)
        attr = "rate" if kind == "rectification_rate" else "on_time_rate"
        out: dict[str, float] = {}
        for code, s in stats.items():
            value = getattr(s, attr)
            if value is not None:
                out[code] = float(value) * 100.0 if float(value) <= 1.0 else float(value)
        return out
    if kind == "inspection":
        from participation.volunteers.service import inspection_scores

        return {k: float(v) for k, v in inspection_scores(session, start, end).items()}
    from participation.reports.service import verified_report_counts

    return {k: float(v) for k, v in verified_report_counts(session, start, end).items()}


@dataclass
class Inputs:
    """What an assessment is computed from."""

    units: list[UnitRef]
    observations: list[Observation]
    described: dict[str, Any]


def gather(session: Session, config: SchemeConfig, start: date, end: date) -> Inputs:
    """The units and observations of every component for the period [start, end]."""
    observations: list[Observation] = []
    described: dict[str, Any] = {}
    for comp in config.components:
        if comp.kind == "survey":
            assert comp.source is not None
            waves = waves_in(session, comp.source, start, end)
            observations.extend(_survey_observations(session, comp, waves))
            described[comp.key] = {"waves": [w.id for w in waves]}
        elif comp.kind == "imported":
            rows = session.exec(
                select(ImportedValue).where(ImportedValue.indicator == comp.indicator)
            ).all()
            used = 0
            for v in rows:
                p_start, p_end, whole_year = _period_bounds(v.period)
                if p_start >= start and p_end <= end:
                    observations.append(
                        Observation(comp.key, v.unit_code, v.value, None, p_end, whole_year)
                    )
                    used += 1
            described[comp.key] = {"indicator": comp.indicator, "values": used}
        else:
            figures = _platform_figures(session, comp.kind, start, end)
            observations.extend(
                Observation(comp.key, code, value, None, end) for code, value in figures.items()
            )
            described[comp.key] = {"platform": comp.kind, "units": len(figures)}
    return Inputs(unit_refs(session), observations, described)


# --- assessments ---------------------------------------------------------------------------


def _bottom_sets(results: dict[str, Any], level_key: str, k: int) -> set[str]:
    units = sorted(results.get(level_key, []), key=lambda u: (u["score"], u["code"]))
    return {u["code"] for u in units[:k]}


def history_for(
    session: Session, scheme_id: int, before: date, k: int, periods: int
) -> dict[str, list[set[str]]]:
    """Bottom-K sets of the scheme's earlier assessments (one per period, oldest first)."""
    rows = session.exec(
        select(Assessment)
        .join(SchemeVersion, col(SchemeVersion.id) == Assessment.scheme_version_id)
        .where(SchemeVersion.scheme_id == scheme_id, col(Assessment.period_end) < before)
        .order_by(col(Assessment.period_end).desc(), col(Assessment.id).desc())
    ).all()
    latest: dict[date, Assessment] = {}
    for a in rows:
        latest.setdefault(a.period_end, a)
    chosen = sorted(latest.values(), key=lambda a: a.period_end)[-periods:]
    return {
        STREET: [_bottom_sets(a.results, "streets", k) for a in chosen],
        COUNTY: [_bottom_sets(a.results, "counties", k) for a in chosen],
    }


def assess(
    session: Session,
    version_id: int,
    label: str,
    start: date,
    end: date,
    user_id: int | None = None,
) -> Assessment:
    """Compute and store the assessment of [start, end] under a scheme version."""
    if end < start:
        raise ServiceError(N_("The period ends before it starts."), field="period_end")
    version = get_version(session, version_id)
    config = parse_config(version.config)
    inputs = gather(session, config, start, end)
    if not inputs.observations:
        raise ServiceError(
            N_("No data for this period: no closed wave or value falls within it."),
            field="period_start",
        )
    history = history_for(
        session,
        version.scheme_id,
        start,
        config.rules.escalation_bottom,
        max(config.rules.escalation_periods - 1, 0),
    )
    outcome = compute(inputs.units, inputs.observations, config, history)
    assessment = Assessment(
        scheme_version_id=version_id,
        label=label.strip() or f"{start.isoformat()} – {end.isoformat()}",
        period_start=start,
        period_end=end,
        inputs=inputs.described,
        results=outcome.to_json(),
        computed_by=user_id,
    )
    session.add(assessment)
    session.flush()
    return assessment


def get_assessment(session: Session, assessment_id: int) -> Assessment:
    """An assessment, or 404."""
    assessment = session.get(Assessment, assessment_id)
    if assessment is None:
        raise NotFoundError(N_("No assessment %(id)s."), field="assessment_id", id=assessment_id)
    return assessment


def list_assessments(session: Session) -> list[Assessment]:
    """Assessments, newest period first."""
    return list(
        session.exec(
            select(Assessment).order_by(
                col(Assessment.period_end).desc(), col(Assessment.id).desc()
            )
        )
    )


def latest_assessment(session: Session) -> Assessment | None:
    """The most recent assessment (latest period, then latest computed)."""
    return session.exec(
        select(Assessment).order_by(col(Assessment.period_end).desc(), col(Assessment.id).desc())
    ).first()


# --- bulletins -----------------------------------------------------------------------------


def may_approve(session: Session, role: str, unit_code: str | None) -> bool:
    """Administrators and city-level officials approve and publish bulletins."""
    if role == Role.ADMINISTRATOR.value:
        return True
    return role == Role.OFFICIAL.value and streets_in_scope(session, unit_code, role) is None


def create_bulletin(
    session: Session,
    assessment_id: int,
    title: str,
    title_en: str = "",
    note: str = "",
    user_id: int | None = None,
) -> Bulletin:
    """A draft bulletin of an assessment."""
    assessment = get_assessment(session, assessment_id)
    title = title.strip()
    if not title:
        raise ServiceError(N_("A title is required."), field="title")
    bulletin = Bulletin(
        assessment_id=assessment.id or assessment_id,
        title=title[:200],
        title_en=title_en.strip()[:200],
        note=note.strip()[:2000],
        created_by=user_id,
    )
    session.add(bulletin)
    session.flush()
    return bulletin


def get_bulletin(session: Session, bulletin_id: int) -> Bulletin:
    """A bulletin, or 404."""
    bulletin = session.get(Bulletin, bulletin_id)
    if bulletin is None:
        raise NotFoundError(N_("No bulletin %(id)s."), field="bulletin_id", id=bulletin_id)
    return bulletin


def _check_approver(session: Session, role: str, unit_code: str | None) -> None:
    if not may_approve(session, role, unit_code):
        raise ForbiddenError(
            N_("Only administrators and city officials approve or publish bulletins."),
            field="status",
        )


def approve_bulletin(
    session: Session, bulletin_id: int, user_id: int | None, role: str, unit_code: str | None
) -> Bulletin:
    """draft → approved."""
    _check_approver(session, role, unit_code)
    bulletin = get_bulletin(session, bulletin_id)
    if bulletin.status != BulletinStatus.DRAFT.value:
        raise ConflictError(N_("Only a draft bulletin can be approved."), field="status")
    bulletin.status = BulletinStatus.APPROVED.value
    bulletin.approved_by = user_id
    bulletin.approved_at = utcnow()
    session.add(bulletin)
    session.flush()
    return bulletin


def publish_bulletin(
    session: Session, bulletin_id: int, role: str, unit_code: str | None
) -> Bulletin:
    """approved → published (visible to the public)."""
    _check_approver(session, role, unit_code)
    bulletin = get_bulletin(session, bulletin_id)
    if bulletin.status != BulletinStatus.APPROVED.value:
        raise ConflictError(
            N_("A bulletin must be approved before it is published."), field="status"
        )
    bulletin.status = BulletinStatus.PUBLISHED.value
    bulletin.published_at = utcnow()
    session.add(bulletin)
    session.flush()
    return bulletin


def list_bulletins(session: Session, published_only: bool = True) -> list[Bulletin]:
    """Bulletins, newest first (only published ones unless asked)."""
    query = select(Bulletin)
    if published_only:
        query = query.where(Bulletin.status == BulletinStatus.PUBLISHED.value)
    return list(
        session.exec(query.order_by(col(Bulletin.created_at).desc(), col(Bulletin.id).desc()))
    )


# --- exports -------------------------------------------------------------------------------

EXPORT_COLUMNS: tuple[str, ...] = (
    N_("Level"),
    N_("Rank"),
    N_("Rank interval"),
    N_("Code"),
    N_("Name"),
    N_("Score"),
    N_("95% CI low"),
    N_("95% CI high"),
    N_("Grade"),
    N_("Versus the mean"),
    N_("Talks"),
    N_("Plausibly in the bottom"),
)


def export_rows(results: dict[str, Any], translate: Callable[[str], str]) -> list[list[Any]]:
    """The ranked rows of an assessment for CSV/XLSX (header first), in the reader's language."""
    from participation.scoring.config import GRADE_LABELS

    rows: list[list[Any]] = [[translate(c) for c in EXPORT_COLUMNS]]
    for level, key in ((COUNTY, "counties"), (STREET, "streets")):
        for u in results.get(key, []):
            if u["above_mean"]:
                verdict = translate(N_("above"))
            elif u["below_mean"]:
                verdict = translate(
                    N_("below") if u["below_mean_significant"] else N_("below, within the margin")
                )
            else:
                verdict = "="
            rows.append(
                [
                    translate(level),
                    u["rank"],
                    f"{u['rank_low']}–{u['rank_high']}",
                    u["code"],
                    u["name"],
                    round(u["score"], 2),
                    round(u["ci_low"], 2),
                    round(u["ci_high"], 2),
                    translate(GRADE_LABELS.get(u["grade"], u["grade"])),
                    verdict,
                    translate(N_("yes")) if u["talks"] else "",
                    translate(N_("yes")) if u["plausibly_talks"] else "",
                ]
            )
    return rows


def to_csv(rows: Iterable[list[Any]]) -> bytes:
    """CSV bytes with a BOM (Excel opens UTF-8 Chinese text correctly)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    for row in rows:
        writer.writerow(row)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(rows: list[list[Any]], title: str, notes: list[str]) -> bytes:
    """An XLSX workbook: the ranked table, then a sheet with the method note."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "ranking"
    sheet.append([title])
    sheet["A1"].font = Font(bold=True, size=14)
    for row in rows:
        sheet.append(row)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    widths = [8, 6, 10, 12, 18, 8, 10, 10, 8, 16, 6, 10]
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[chr(64 + index)].width = width
    sheet.freeze_panes = "A3"
    method = book.create_sheet("method")
    for line in notes:
        method.append([line])
    method.column_dimensions["A"].width = 120
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()
