"""HTML pages of volunteers (``/volunteers``) and problems (``/problems``).

The visit page is one phone-sized multipart form: checklist, location, notes and a new finding
with its photo are saved together ("Save"), or saved and submitted ("Submit visit"). A refused
input re-renders the page with the message beside the field (HTTP 400), nothing half-saved.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlmodel import Session, select

from participation.accounts.roles import Role
from participation.core.deps import DB, AppSettings, Locale
from participation.core.errors import ForbiddenError, ServiceError, describe
from participation.core.i18n import N_, gettext
from participation.core.timeutil import local_now, to_local
from participation.core.web import CurrentUser, UserDep, admits, locale_of, public, render
from participation.geography.models import Level, Unit
from participation.volunteers import service
from participation.volunteers.api import (
    OFFICIALS,
    PARTICIPANTS,
    VOLUNTEERS,
    period_of,
    problem_out,
    rate_rows,
    visit_out,
)
from participation.volunteers.figures import as_json, rates_figure
from participation.volunteers.geo import PinMap, Shape, pin_map, street_shapes
from participation.volunteers.models import STATUS_LABELS, Finding, ProblemStatus

FORM = RequestEncodingType.URL_ENCODED
MULTIPART = RequestEncodingType.MULTI_PART
# A page (GET, returning a Template) never shares its path with a POST handler here: Litestar
# 2.x registers every handler of a path again when another is added, wrapping a sync
# Template-returning handler twice (the page then answers 500). Forms post to their own path.


def _message(exc: ServiceError, locale: str) -> str:
    return describe(exc, lambda msg, **kw: gettext(msg, locale, **kw))


def _text(data: dict[str, Any], name: str) -> str:
    value = data.get(name, "")
    if isinstance(value, list):
        value = value[0] if value else ""
    return value.strip() if isinstance(value, str) else ""


def _float(data: dict[str, Any], name: str) -> float | None:
    raw = _text(data, name)
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError as exc:
        raise ServiceError(N_("Invalid value for %(field)s."), field=name) from exc


def _int(data: dict[str, Any], name: str) -> int | None:
    raw = _text(data, name)
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise ServiceError(N_("Invalid value for %(field)s."), field=name) from exc


def _date(data: dict[str, Any], name: str) -> date:
    try:
        return date.fromisoformat(_text(data, name))
    except ValueError as exc:
        raise ServiceError(N_("Give the date as YYYY-MM-DD."), field=name) from exc


def _local_datetime(data: dict[str, Any], name: str, tz: str) -> datetime | None:
    """A ``datetime-local`` form value (city time) as an aware datetime."""
    raw = _text(data, name)
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw).replace(tzinfo=ZoneInfo(tz))
    except ValueError as exc:
        raise ServiceError(N_("Invalid value for %(field)s."), field=name) from exc


def _upload(data: dict[str, Any], name: str) -> bytes | None:
    value = data.get(name)
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, UploadFile):
        raw = value.file.read()
        return raw or None
    return None


def _common(db: Session, settings: Any) -> dict[str, Any]:
    return {
        "labels": STATUS_LABELS,
        "categories": {c.code: c for c in service.categories(db)},
        "local": lambda d: to_local(d, settings.timezone) if d else None,
    }


# ---------------------------------------------------------------- volunteers home


@get("/volunteers", opt=admits(*PARTICIPANTS), include_in_schema=False, sync_to_thread=True)
def volunteers_home(
    request: Request[Any, Any, Any], db: DB, settings: AppSettings, user: UserDep
) -> Template:
    """Volunteers: their visits, hours, points and assignments. Officials: registrations,
    teams, assignments and recent visits of their scope."""
    ctx = _common(db, settings)
    if user.role == Role.VOLUNTEER.value:
        volunteer = service.volunteer_for_user(db, user.id)
        visits = service.visits_of(db, volunteer.id or 0)
        return render(
            request,
            "volunteers/mine.html",
            volunteer=volunteer,
            totals=service.totals(db, [volunteer.id or 0])[volunteer.id or 0],
            visits=visits,
            finding_counts=service.finding_counts(db, [v.id for v in visits if v.id]),
            assignments=service.assignments_of(db, volunteer, local_now(settings.timezone).date()),
            standards=service.standards(db),
            names=service.street_names(db, [v.street_code for v in visits]),
            **ctx,
        )
    volunteers = service.volunteers_in_scope(db, user)
    scope = service.scope_of(db, user)
    assignments = service.assignments_in_scope(db, user)
    teams = service.teams_in_scope(db, user)
    visits = service.visits_in_scope(db, user, limit=50)
    codes = [v.street_code for v in volunteers] + [a.unit_code for a in assignments]
    codes += [t.unit_code for t in teams] + [v.street_code for v in visits]
    return render(
        request,
        "volunteers/manage.html",
        volunteers=volunteers,
        totals=service.totals(db, [v.id for v in volunteers if v.id]),
        phones={v.id: service.masked_phone(settings, v) for v in volunteers},
        teams=teams,
        team_names={t.id: t.name for t in teams},
        volunteer_names={v.id: v.name for v in volunteers},
        assignments=assignments,
        visits=visits,
        standards=service.standards(db),
        streets=service.streets(db, scope),
        names=service.street_names(db, codes),
        notice=request.query_params.get("notice"),
        **ctx,
    )


@post(
    "/volunteers/{volunteer_id:int}/decision",
    opt=admits(*OFFICIALS),
    include_in_schema=False,
    sync_to_thread=True,
)
def decide_page(
    db: DB,
    user: UserDep,
    volunteer_id: FromPath[int],
    data: Annotated[dict[str, Any], Body(media_type=FORM)],
) -> Redirect:
    """Approve or reject an application, or end an active volunteer's service."""
    decision = _text(data, "decision")
    if decision not in ("approve", "reject", "deactivate"):
        raise ServiceError(N_("Choose approve, reject or end service."), field="decision")
    if decision == "deactivate":
        service.deactivate(db, user, volunteer_id, _text(data, "confirm"))
    else:
        service.decide(db, user, volunteer_id, decision == "approve")
    db.commit()
    return Redirect(path=f"/volunteers?notice={decision}", status_code=303)


@post("/volunteers/register", opt=admits(*OFFICIALS), include_in_schema=False, sync_to_thread=True)
def register_page(
    db: DB,
    settings: AppSettings,
    user: UserDep,
    data: Annotated[dict[str, Any], Body(media_type=FORM)],
) -> Redirect:
    """An official registers a volunteer (approved at once)."""
    fields = ("name", "phone", "street_code", "username", "password", "note")
    service.register_by_official(db, settings, user, **{k: _text(data, k) for k in fields})
    db.commit()
    return Redirect(path="/volunteers?notice=registered#volunteers", status_code=303)


@post("/volunteers/teams", opt=admits(*OFFICIALS), include_in_schema=False, sync_to_thread=True)
def create_team_page(
    db: DB, user: UserDep, data: Annotated[dict[str, Any], Body(media_type=FORM)]
) -> Redirect:
    """Form a team."""
    service.create_team(db, user, _text(data, "name"), _text(data, "unit_code"))
    db.commit()
    return Redirect(path="/volunteers?notice=team#teams", status_code=303)


@post(
    "/volunteers/{volunteer_id:int}/team",
    opt=admits(*OFFICIALS),
    include_in_schema=False,
    sync_to_thread=True,
)
def set_team_page(
    db: DB,
    user: UserDep,
    volunteer_id: FromPath[int],
    data: Annotated[dict[str, Any], Body(media_type=FORM)],
) -> Redirect:
    """Put a volunteer in a team."""
    service.set_team(db, user, volunteer_id, _int(data, "team_id"))
    db.commit()
    return Redirect(path="/volunteers?notice=team#volunteers", status_code=303)


@post(
    "/volunteers/assignments", opt=admits(*OFFICIALS), include_in_schema=False, sync_to_thread=True
)
def create_assignment_page(
    db: DB, user: UserDep, data: Annotated[dict[str, Any], Body(media_type=FORM)]
) -> Redirect:
    """Give a volunteer or a team an area and period."""
    target = _text(data, "target")  # "v:12" or "t:3"
    volunteer_id = int(target[2:]) if target.startswith("v:") and target[2:].isdigit() else None
    team_id = int(target[2:]) if target.startswith("t:") and target[2:].isdigit() else None
    service.create_assignment(
        db,
        user,
        unit_code=_text(data, "unit_code"),
        period_start=_date(data, "period_start"),
        period_end=_date(data, "period_end"),
        volunteer_id=volunteer_id,
        team_id=team_id,
        standard_id=_int(data, "standard_id"),
        note=_text(data, "note"),
    )
    db.commit()
    return Redirect(path="/volunteers?notice=assignment#assignments", status_code=303)


# ---------------------------------------------------------------- application (public)


def _all_streets(db: Session) -> list[tuple[Unit, list[Unit]]]:
    counties = {u.code: u for u in db.exec(select(Unit).where(Unit.level == Level.COUNTY.value))}
    groups: dict[str, list[Unit]] = {}
    for s in service.streets(db):
        groups.setdefault(s.parent_code or "", []).append(s)
    return [(counties[c], groups[c]) for c in sorted(groups) if c in counties]


@get("/volunteers/apply", opt=public(), include_in_schema=False, sync_to_thread=True)
def apply_form(request: Request[Any, Any, Any], db: DB) -> Template:
    """The public volunteer application form."""
    return render(request, "volunteers/apply.html", groups=_all_streets(db), form={}, error=None)


@post(
    "/volunteers/apply/send",
    opt=public(),
    include_in_schema=False,
    sync_to_thread=True,
    status_code=200,
)
def apply_page(
    request: Request[Any, Any, Any],
    db: DB,
    settings: AppSettings,
    locale: Locale,
    data: Annotated[dict[str, Any], Body(media_type=FORM)],
) -> Template:
    """Record an application; on a refused input show the form again with the message."""
    fields = ("name", "phone", "street_code", "username", "password", "note")
    form = {k: _text(data, k) for k in fields}
    try:
        volunteer = service.apply(db, settings, **form)
        db.commit()
    except ServiceError as exc:
        db.rollback()
        form.pop("password", None)
        page = render(
            request,
            "volunteers/apply.html",
            groups=_all_streets(db),
            form=form,
            error={"field": exc.field, "message": _message(exc, locale)},
        )
        page.status_code = exc.status_code
        return page
    return render(request, "volunteers/applied.html", volunteer=volunteer)


# ---------------------------------------------------------------- visits


@post("/volunteers/visits", opt=admits(*VOLUNTEERS), include_in_schema=False, sync_to_thread=True)
def start_visit_page(
    db: DB, user: UserDep, data: Annotated[dict[str, Any], Body(media_type=FORM)]
) -> Redirect:
    """Open a draft visit and go to its form."""
    visit = service.start_visit(
        db,
        user,
        standard_id=_int(data, "standard_id"),
        assignment_id=_int(data, "assignment_id"),
    )
    db.commit()
    return Redirect(path=f"/volunteers/visits/{visit.id}", status_code=303)


def _county_shapes(db: Session, shapes: list[Shape], street_code: str) -> list[Shape]:
    """The boundaries of the streets of ``street_code``'s county (all when none matches)."""
    street = db.get(Unit, street_code)
    if street is None or not street.parent_code:
        return shapes
    siblings = set(db.exec(select(Unit.code).where(Unit.parent_code == street.parent_code)).all())
    return [s for s in shapes if s.code in siblings] or shapes


def _pin_map(db: Session, shapes: list[Shape], street_code: str) -> PinMap | None:
    return pin_map(_county_shapes(db, shapes, street_code)) if shapes else None


def _visit_page(
    request: Request[Any, Any, Any],
    db: Session,
    settings: Any,
    user: CurrentUser,
    visit_id: int,
    *,
    error: dict[str, Any] | None = None,
    form: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Template:
    visit = service.readable_visit(db, user, visit_id)
    standard = service.get_standard(db, visit.standard_id)
    out = visit_out(db, visit)
    editable = user.role == Role.VOLUNTEER.value and visit.status == "draft"
    volunteer = service.get_volunteer(db, visit.volunteer_id)
    shapes = street_shapes(db) if editable else []
    pin = _pin_map(db, shapes, volunteer.street_code)
    page = render(
        request,
        "volunteers/visit.html",
        visit=visit,
        out=out,
        standard=standard,
        editable=editable,
        volunteer=volunteer,
        groups=_all_streets(db) if editable else [],
        boundaries_loaded=bool(shapes),
        pin=pin,
        names_by_code=service.street_names(db, [p.code for p in pin.paths]) if pin else {},
        pin_point=pin.project(visit.lon, visit.lat)
        if pin and visit.lat is not None and visit.lon is not None
        else None,
        street_name=service.street_names(db, [visit.street_code]).get(visit.street_code or "", ""),
        error=error,
        form=form or {},
        notice=request.query_params.get("notice"),
        **_common(db, settings),
    )
    page.status_code = status_code
    return page


@get(
    "/volunteers/visits/{visit_id:int}",
    opt=admits(*PARTICIPANTS),
    include_in_schema=False,
    sync_to_thread=True,
)
def visit_page(
    request: Request[Any, Any, Any],
    db: DB,
    settings: AppSettings,
    user: UserDep,
    visit_id: FromPath[int],
) -> Template:
    """A visit: the volunteer's form while a draft, read-only once submitted."""
    return _visit_page(request, db, settings, user, visit_id)


@post(
    "/volunteers/visits/{visit_id:int}/save",
    opt=admits(*VOLUNTEERS),
    include_in_schema=False,
    sync_to_thread=True,
    status_code=200,
)
def save_visit_page(
    request: Request[Any, Any, Any],
    db: DB,
    settings: AppSettings,
    user: UserDep,
    locale: Locale,
    visit_id: FromPath[int],
    data: Annotated[dict[str, Any], Body(media_type=MULTIPART)],
) -> Template | Redirect:
    """Save the checklist, location and notes, add the new finding (with its photo) when one
    is described, and submit when the "Submit visit" button was pressed."""
    action = _text(data, "action") or "save"
    try:
        service.update_visit(
            db,
            user,
            visit_id,
            lat=_float(data, "lat"),
            lon=_float(data, "lon"),
            location_source=_text(data, "location_source") or None,
            street_code=_text(data, "street_code") or None,
            address=_text(data, "address"),
            notes=_text(data, "notes"),
            results={k[7:]: _text(data, k) for k in data if k.startswith("result_")},
            started_at=_local_datetime(data, "started_at", settings.timezone),
        )
        description = _text(data, "finding_description")
        photo = _upload(data, "photo")
        if description or photo:
            keys: list[str] = []
            if photo:
                keys.append(service.store_finding_photo(db, settings, user, visit_id, photo).key)
            if not description:
                raise ServiceError(N_("Describe what you found."), field="finding_description")
            service.add_finding(
                db,
                user,
                visit_id,
                category=_text(data, "finding_category"),
                item_code=_text(data, "finding_item"),
                description=description,
                photo_keys=keys,
            )
        if action == "submit":
            _, problems = service.submit_visit(db, user, visit_id)
            db.commit()
            return Redirect(
                path=f"/volunteers/visits/{visit_id}?notice=submitted&problems={len(problems)}",
                status_code=303,
            )
        db.commit()
    except ForbiddenError:
        db.rollback()
        raise
    except ServiceError as exc:
        db.rollback()
        if exc.status_code == 404:
            raise
        if exc.field == "description":
            exc.field = "finding_description"
        form = {k: _text(data, k) for k in data if not isinstance(data.get(k), UploadFile)}
        return _visit_page(
            request,
            db,
            settings,
            user,
            visit_id,
            error={"field": exc.field, "message": _message(exc, locale)},
            form=form,
            status_code=exc.status_code,
        )
    return Redirect(path=f"/volunteers/visits/{visit_id}?notice=saved#findings", status_code=303)


@post(
    "/volunteers/findings/{finding_id:int}/delete",
    opt=admits(*VOLUNTEERS),
    include_in_schema=False,
    sync_to_thread=True,
)
def delete_finding_page(
    db: DB, settings: AppSettings, user: UserDep, finding_id: FromPath[int]
) -> Redirect:
    """Remove a finding (and its photos) from a draft visit."""
    finding = db.get(Finding, finding_id)
    visit_id = finding.visit_id if finding else 0
    service.remove_finding(db, settings, user, finding_id)
    db.commit()
    return Redirect(path=f"/volunteers/visits/{visit_id}#findings", status_code=303)


# ---------------------------------------------------------------- problems


@get("/problems", opt=admits(*PARTICIPANTS), include_in_schema=False, sync_to_thread=True)
def problems_page(
    request: Request[Any, Any, Any],
    db: DB,
    settings: AppSettings,
    user: UserDep,
    status: FromQuery[str | None] = None,
    overdue: FromQuery[bool] = False,
    street_code: FromQuery[str | None] = None,
) -> Template:
    """Problems of the caller's streets, earliest deadline first, overdue ones flagged."""
    rows = service.problems_in_scope(
        db, user, status=status or None, street_code=street_code or None, overdue=overdue
    )
    scope = service.scope_of(db, user) if user.role != Role.VOLUNTEER.value else set()
    names = service.street_names(db, [p.street_code for p in rows])
    return render(
        request,
        "problems/list.html",
        problems=[problem_out(db, p, names=names) for p in rows],
        statuses=[s.value for s in ProblemStatus],
        status=status or "",
        overdue=overdue,
        street_code=street_code or "",
        streets=service.streets(db, scope) if scope != set() else [],
        **_common(db, settings),
    )


def _problem_page(
    request: Request[Any, Any, Any],
    db: Session,
    settings: Any,
    user: CurrentUser,
    problem_id: int,
    *,
    error: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Template:
    problem = service.problem_in_scope(db, user, problem_id)
    out = problem_out(db, problem, full=True)
    actions = (
        [a for a, (sources, _) in service.TRANSITIONS.items() if problem.status in sources]
        if user.role in (Role.OFFICIAL.value, Role.ADMINISTRATOR.value)
        else []
    )
    page = render(
        request,
        "problems/detail.html",
        problem=out,
        actions=actions,
        action_labels=service.ACTION_LABELS,
        error=error,
        notice=request.query_params.get("notice"),
        **_common(db, settings),
    )
    page.status_code = status_code
    return page


@get(
    "/problems/{problem_id:int}",
    opt=admits(*PARTICIPANTS),
    include_in_schema=False,
    sync_to_thread=True,
)
def problem_page(
    request: Request[Any, Any, Any],
    db: DB,
    settings: AppSettings,
    user: UserDep,
    problem_id: FromPath[int],
) -> Template:
    """A problem: finding photos, deadline, history of transitions, and the next steps."""
    return _problem_page(request, db, settings, user, problem_id)


@post(
    "/problems/{problem_id:int}/transition",
    opt=admits(*OFFICIALS),
    include_in_schema=False,
    sync_to_thread=True,
    status_code=200,
)
def transition_page(
    request: Request[Any, Any, Any],
    db: DB,
    settings: AppSettings,
    user: UserDep,
    locale: Locale,
    problem_id: FromPath[int],
    data: Annotated[dict[str, Any], Body(media_type=MULTIPART)],
) -> Template | Redirect:
    """Assign, rectify (with a proof photo), verify or reopen a problem."""
    action = _text(data, "action")
    try:
        service.transition(
            db,
            settings,
            user,
            problem_id,
            action,
            note=_text(data, "note"),
            photo_data=_upload(data, "photo"),
        )
        db.commit()
    except ServiceError as exc:
        db.rollback()
        if exc.status_code in (403, 404):
            raise
        return _problem_page(
            request,
            db,
            settings,
            user,
            problem_id,
            error={"field": exc.field, "message": _message(exc, locale), "action": action},
            status_code=exc.status_code,
        )
    return Redirect(path=f"/problems/{problem_id}?notice={action}", status_code=303)


@get("/problems/rates", opt=admits(*OFFICIALS), include_in_schema=False, sync_to_thread=True)
def rates_page(
    request: Request[Any, Any, Any],
    db: DB,
    settings: AppSettings,
    user: UserDep,
    start: FromQuery[str | None] = None,
    end: FromQuery[str | None] = None,
) -> Template:
    """Rectification rate and on-time rate per street for a period."""
    s, e = period_of(start, end, settings.timezone)
    rows = rate_rows(db, user, s, e, settings.timezone)
    total = sum(r.total for r in rows)
    rectified = sum(r.rectified for r in rows)
    locale = locale_of(request)
    figure = rates_figure(rows, lambda msg: gettext(msg, locale)) if total else None
    return render(
        request,
        "problems/rates.html",
        rows=rows,
        start=s,
        end=e,
        total=total,
        rectified=rectified,
        overall=rectified / total if total else None,
        fig_json=as_json(figure) if figure else None,
    )


route_handlers: list[Any] = [
    volunteers_home,
    decide_page,
    register_page,
    create_team_page,
    set_team_page,
    create_assignment_page,
    apply_form,
    apply_page,
    start_visit_page,
    visit_page,
    save_visit_page,
    delete_finding_page,
    problems_page,
    problem_page,
    transition_page,
    rates_page,
]
