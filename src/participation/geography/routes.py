"""Geography: browse the unit tree (pages and API), import units and populations (API)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Template
from sqlmodel import Session, col, func, select

from participation.accounts.roles import Role
from participation.accounts.service import units_in_scope
from participation.core.deps import DB
from participation.core.errors import ForbiddenError, ServiceError
from participation.core.i18n import N_
from participation.core.web import CurrentUser, UserDep, admits, render
from participation.geography import service
from participation.geography.models import Unit
from participation.geography.schemas import (
    ImportResult,
    PopulationCellOut,
    UnitDetail,
    UnitOut,
)

BROWSERS = (
    Role.ADMINISTRATOR,
    Role.OFFICIAL,
    Role.SUPERVISOR,
    Role.REWARD_OFFICER,
    Role.INTERVIEWER,
    Role.VOLUNTEER,
)


def _child_counts(db: Session, codes: list[str]) -> dict[str, int]:
    if not codes:
        return {}
    rows = db.exec(
        select(Unit.parent_code, func.count())
        .where(col(Unit.parent_code).in_(codes))
        .group_by(Unit.parent_code)
    ).all()
    return {code: count for code, count in rows if code}


def _out(unit: Unit, counts: dict[str, int]) -> UnitOut:
    return UnitOut(
        code=unit.code,
        name=unit.name,
        name_en=unit.name_en,
        level=unit.level,
        parent_code=unit.parent_code,
        population=unit.population,
        children=counts.get(unit.code, 0),
    )


def _visible(db: Session, user: CurrentUser, units: list[Unit]) -> list[Unit]:
    """Units an official may open: inside their scope, or above it (the path down to it)."""
    scope = units_in_scope(db, user.unit_code, user.role)
    if scope is None:
        return units
    allowed = set(scope)
    for code in scope:
        unit = db.get(Unit, code)
        if unit is not None:
            allowed.update(a.code for a in service.ancestors_of(db, unit))
    return [u for u in units if u.code in allowed]


def unit_detail(db: Session, user: CurrentUser, code: str) -> UnitDetail:
    """A unit with its neighbourhood, if the user may see it."""
    unit = service.get_unit(db, code)
    if not _visible(db, user, [unit]):
        raise ForbiddenError(N_("Unit %(code)s is outside your scope."), field="code", code=code)
    children = _visible(db, user, service.children_of(db, code))
    ancestors = service.ancestors_of(db, unit)
    counts = _child_counts(db, [unit.code, *[c.code for c in children]])
    scope = units_in_scope(db, user.unit_code, user.role)
    cells = (
        [
            PopulationCellOut(sex=c.sex, age_group=c.age_group, population=c.population)
            for c in service.population_cells(db, [code])
        ]
        if scope is None or code in scope
        else []
    )
    base = _out(unit, counts)
    return UnitDetail(
        **base.model_dump(),
        ancestors=[_out(a, {}) for a in ancestors],
        units=[_out(c, counts) for c in children],
        cells=cells,
    )


@get(
    "/api/units",
    opt=admits(*BROWSERS),
    tags=["geography"],
    operation_id="listUnits",
    sync_to_thread=True,
)
def list_units(
    db: DB,
    user: UserDep,
    parent: FromQuery[str | None] = None,
    level: FromQuery[str | None] = None,
) -> list[UnitOut]:
    """Units under ``parent`` (top-level units when omitted), or every unit of ``level``."""
    query = select(Unit)
    if level:
        query = query.where(Unit.level == level)
    if parent:
        query = query.where(Unit.parent_code == parent)
    elif not level:
        query = query.where(col(Unit.parent_code).is_(None))
    units = _visible(db, user, list(db.exec(query.order_by(Unit.code))))
    counts = _child_counts(db, [u.code for u in units])
    return [_out(u, counts) for u in units]


@get(
    "/api/units/{code:str}",
    opt=admits(*BROWSERS),
    tags=["geography"],
    operation_id="getUnit",
    sync_to_thread=True,
)
def get_unit(db: DB, user: UserDep, code: FromPath[str]) -> UnitDetail:
    """One unit with its ancestors, children and population cells."""
    return unit_detail(db, user, code)


def _upload_bytes(data: UploadFile | bytes | str) -> bytes | str:
    if isinstance(data, UploadFile):
        return data.file.read()
    if not isinstance(data, bytes | str):  # a multipart body without a file part
        raise ServiceError(N_("The file is empty."), field="data")
    return data


@post(
    "/api/units/import",
    opt=admits(Role.ADMINISTRATOR),
    tags=["geography"],
    operation_id="importUnits",
    sync_to_thread=True,
    status_code=200,
)
def import_units(
    db: DB,
    data: Annotated[UploadFile, Body(media_type=RequestEncodingType.MULTI_PART)],
) -> ImportResult:
    """Import a units CSV (official code-list format or code,name,level,parent_code).

    The whole file is validated first; a bad line rejects it (HTTP 400 naming line and field)
    and nothing is written.
    """
    try:
        summary = service.import_units(db, _upload_bytes(data))
        db.commit()
    except ServiceError:
        db.rollback()
        raise
    return ImportResult(**summary.__dict__)


@post(
    "/api/units/population/import",
    opt=admits(Role.ADMINISTRATOR),
    tags=["geography"],
    operation_id="importPopulation",
    sync_to_thread=True,
    status_code=200,
)
def import_population(
    db: DB,
    data: Annotated[UploadFile, Body(media_type=RequestEncodingType.MULTI_PART)],
) -> ImportResult:
    """Import a population CSV ``code,sex,age_group,population``, all or nothing."""
    try:
        summary = service.import_population(db, _upload_bytes(data))
        db.commit()
    except ServiceError:
        db.rollback()
        raise
    return ImportResult(**summary.__dict__)


@get("/units", opt=admits(*BROWSERS), include_in_schema=False, sync_to_thread=True)
def units_page(request: Request[Any, Any, Any], db: DB, user: UserDep) -> Template:
    """The unit tree, from the top."""
    top = _visible(db, user, service.children_of(db, None))
    counts = _child_counts(db, [u.code for u in top])
    return render(
        request,
        "geography/units.html",
        unit=None,
        ancestors=[],
        units=[_out(u, counts) for u in top],
        cells=[],
    )


@get("/units/{code:str}", opt=admits(*BROWSERS), include_in_schema=False, sync_to_thread=True)
def unit_page(
    request: Request[Any, Any, Any], db: DB, user: UserDep, code: FromPath[str]
) -> Template:
    """One unit: its path, children and population."""
    detail = unit_detail(db, user, code)
    return render(
        request,
        "geography/units.html",
        unit=detail,
        ancestors=detail.ancestors,
        units=detail.units,
        cells=detail.cells,
    )


route_handlers: list[Any] = [
    list_units,
    get_unit,
    import_units,
    import_population,
    units_page,
    unit_page,
]
