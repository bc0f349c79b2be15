"""JSON API of the volunteers domain (``/api/volunteers/...``) and of problems
(``/api/problems/...``). Thin handlers: call a service, commit, return a schema."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from litestar import get, patch, post, put
from litestar.params import FromPath, FromQuery, JSONBody
from sqlmodel import Session, col, select

from participation.accounts.models import User
from participation.accounts.roles import Role
from participation.core.deps import DB, AppSettings
from participation.core.errors import ForbiddenError, ServiceError
from participation.core.i18n import N_
from participation.core.timeutil import local_now
from participation.core.web import CurrentUser, UserDep, admits, public
from participation.media import service as media
from participation.media.models import Photo
from participation.settings import Settings
from participation.volunteers import service
from participation.volunteers.models import Assignment, Problem, Visit, Volunteer
from participation.volunteers.schemas import (
    ApplicationIn,
    AssignmentIn,
    AssignmentOut,
    CategoryIn,
    CategoryOut,
    DeactivateIn,
    DecisionIn,
    EventOut,
    FindingIn,
    FindingOut,
    MeOut,
    PhotoRef,
    ProblemOut,
    RateRowOut,
    StandardIn,
    StandardOut,
    TeamIn,
    TeamMemberIn,
    TeamOut,
    TotalsOut,
    TransitionIn,
    VisitOut,
    VisitStartIn,
    VisitUpdateIn,
    VolunteerOut,
)

OFFICIALS = (Role.OFFICIAL, Role.ADMINISTRATOR)
PARTICIPANTS = (Role.VOLUNTEER, Role.OFFICIAL, Role.ADMINISTRATOR)
VOLUNTEERS = (Role.VOLUNTEER,)


# ---------------------------------------------------------------- shapes


def photo_ref(photo: Photo) -> PhotoRef:
    """A photo reference."""
    return PhotoRef(key=photo.key, url=media.url_of(photo), width=photo.width, height=photo.height)


def volunteer_out(db: Session, settings: Settings, v: Volunteer) -> VolunteerOut:
    """The API shape of a volunteer."""
    assert v.id is not None
    t = service.totals(db, [v.id])[v.id]
    return VolunteerOut(
        id=v.id,
        name=v.name,
        username=v.username,
        phone_masked=service.masked_phone(settings, v),
        street_code=v.street_code,
        street_name=service.street_names(db, [v.street_code]).get(v.street_code, ""),
        team_id=v.team_id,
        status=v.status,
        applied_at=v.applied_at,
        decided_at=v.decided_at,
        totals=TotalsOut(visits=t.visits, findings=t.findings, hours=t.hours, points=t.points),
    )


def assignment_out(db: Session, a: Assignment) -> AssignmentOut:
    """The API shape of an assignment."""
    return AssignmentOut(
        id=a.id or 0,
        unit_code=a.unit_code,
        unit_name=service.street_names(db, [a.unit_code]).get(a.unit_code, ""),
        period_start=a.period_start,
        period_end=a.period_end,
        volunteer_id=a.volunteer_id,
        team_id=a.team_id,
        standard_id=a.standard_id,
        note=a.note,
    )


def visit_out(db: Session, visit: Visit) -> VisitOut:
    """The API shape of a visit with its findings and their photos and problems."""
    findings = service.findings_of(db, visit.id or 0)
    ids = [f.id for f in findings if f.id is not None]
    photos = service.finding_photos(db, ids)
    problems = (
        {
            p.finding_id: p.id
            for p in db.exec(select(Problem).where(col(Problem.finding_id).in_(ids)))
        }
        if ids
        else {}
    )
    return VisitOut(
        id=visit.id or 0,
        volunteer_id=visit.volunteer_id,
        assignment_id=visit.assignment_id,
        standard_id=visit.standard_id,
        status=visit.status,
        started_at=visit.started_at,
        ended_at=visit.ended_at,
        lat=visit.lat,
        lon=visit.lon,
        location_source=visit.location_source,
        street_code=visit.street_code,
        street_source=visit.street_source,
        address=visit.address,
        notes=visit.notes,
        results=dict(visit.results),
        score=visit.score,
        hours=visit.hours,
        points=visit.points,
        submitted_at=visit.submitted_at,
        findings=[
            FindingOut(
                id=f.id or 0,
                item_code=f.item_code,
                category=f.category,
                description=f.description,
                lat=f.lat,
                lon=f.lon,
                photos=[photo_ref(p) for p in photos.get(f.id or 0, [])],
                problem_id=problems.get(f.id),
            )
            for f in findings
        ],
    )


def user_names(db: Session, ids: list[int | None]) -> dict[int, str]:
    """Display names of accounts."""
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    rows = db.exec(select(User.id, User.display_name).where(col(User.id).in_(wanted))).all()
    return {i: n for i, n in rows if i is not None}


def problem_out(
    db: Session, p: Problem, *, full: bool = False, names: dict[str, str] | None = None
) -> ProblemOut:
    """The API shape of a problem (with history and photos when ``full``); ``names``: street
    names already looked up (lists)."""
    if names is None:
        names = service.street_names(db, [p.street_code])
    out = ProblemOut(
        id=p.id or 0,
        category=p.category,
        street_code=p.street_code,
        street_name=names.get(p.street_code, ""),
        description=p.description,
        lat=p.lat,
        lon=p.lon,
        status=p.status,
        created_at=p.created_at,
        deadline=p.deadline,
        overdue=service.is_overdue(p),
        assigned_to=p.assigned_to,
        rectified_at=p.rectified_at,
        verified_at=p.verified_at,
        reopen_count=p.reopen_count,
        finding_id=p.finding_id,
    )
    if full:
        if p.finding_id is not None:
            out.photos = [
                photo_ref(x) for x in service.finding_photos(db, [p.finding_id])[p.finding_id]
            ]
        events = service.events_of(db, p.id or 0)
        proofs = service.proof_photos(db, [e.id for e in events if e.id is not None])
        names = user_names(db, [e.user_id for e in events])
        out.events = [
            EventOut(
                action=e.action,
                from_status=e.from_status,
                to_status=e.to_status,
                user_id=e.user_id,
                user_name=names.get(e.user_id or 0, ""),
                note=e.note,
                at=e.at,
                photos=[photo_ref(x) for x in proofs.get(e.id or 0, [])],
            )
            for e in events
        ]
    return out


def _commit(db: Session) -> None:
    try:
        db.commit()
    except BaseException:
        db.rollback()
        raise


# ---------------------------------------------------------------- volunteers


@post(
    "/api/volunteers/applications",
    opt=public(),
    tags=["volunteers"],
    operation_id="applyAsVolunteer",
    sync_to_thread=True,
    status_code=201,
)
def apply_api(db: DB, settings: AppSettings, data: JSONBody[ApplicationIn]) -> VolunteerOut:
    """Apply to become a volunteer; an official of the street approves the application."""
    v = service.apply(db, settings, **data.model_dump())
    _commit(db)
    return volunteer_out(db, settings, v)


@post(
    "/api/volunteers",
    opt=admits(*OFFICIALS),
    tags=["volunteers"],
    operation_id="registerVolunteer",
    sync_to_thread=True,
    status_code=201,
)
def register_api(
    db: DB, settings: AppSettings, user: UserDep, data: JSONBody[ApplicationIn]
) -> VolunteerOut:
    """An official registers a volunteer of a street in their scope (approved at once)."""
    v = service.register_by_official(db, settings, user, **data.model_dump())
    _commit(db)
    return volunteer_out(db, settings, v)


@get(
    "/api/volunteers",
    opt=admits(*OFFICIALS),
    tags=["volunteers"],
    operation_id="listVolunteers",
    sync_to_thread=True,
)
def list_volunteers_api(
    db: DB, settings: AppSettings, user: UserDep, status: FromQuery[str | None] = None
) -> list[VolunteerOut]:
    """Volunteers and applications of the streets in the caller's scope."""
    return [volunteer_out(db, settings, v) for v in service.volunteers_in_scope(db, user, status)]


@post(
    "/api/volunteers/{volunteer_id:int}/decision",
    opt=admits(*OFFICIALS),
    tags=["volunteers"],
    operation_id="decideVolunteer",
    sync_to_thread=True,
    status_code=200,
)
def decide_api(
    db: DB,
    settings: AppSettings,
    user: UserDep,
    volunteer_id: FromPath[int],
    data: JSONBody[DecisionIn],
) -> VolunteerOut:
    """Approve (creates or activates the volunteer account) or reject an application."""
    v = service.decide(db, user, volunteer_id, data.approve)
    _commit(db)
    return volunteer_out(db, settings, v)


@post(
    "/api/volunteers/{volunteer_id:int}/deactivate",
    opt=admits(*OFFICIALS),
    tags=["volunteers"],
    operation_id="deactivateVolunteer",
    sync_to_thread=True,
    status_code=200,
)
def deactivate_api(
    db: DB,
    settings: AppSettings,
    user: UserDep,
    volunteer_id: FromPath[int],
    data: JSONBody[DeactivateIn],
) -> VolunteerOut:
    """End a volunteer's service (``confirm``: their sign-in name): the account is disabled,
    visits and points are kept; approving the registration again restores it."""
    v = service.deactivate(db, user, volunteer_id, data.confirm)
    _commit(db)
    return volunteer_out(db, settings, v)


@put(
    "/api/volunteers/{volunteer_id:int}/team",
    opt=admits(*OFFICIALS),
    tags=["volunteers"],
    operation_id="setVolunteerTeam",
    sync_to_thread=True,
)
def set_team_api(
    db: DB,
    settings: AppSettings,
    user: UserDep,
    volunteer_id: FromPath[int],
    data: JSONBody[TeamMemberIn],
) -> VolunteerOut:
    """Put a volunteer in a team of the caller's scope (or none)."""
    v = service.set_team(db, user, volunteer_id, data.team_id)
    _commit(db)
    return volunteer_out(db, settings, v)


@get(
    "/api/volunteers/me",
    opt=admits(*VOLUNTEERS),
    tags=["volunteers"],
    operation_id="getMyVolunteerRecord",
    sync_to_thread=True,
)
def me_api(db: DB, settings: AppSettings, user: UserDep) -> MeOut:
    """The signed-in volunteer: registration, hours and points, current assignments."""
    v = service.volunteer_for_user(db, user.id)
    return MeOut(
        volunteer=volunteer_out(db, settings, v),
        assignments=[
            assignment_out(db, a)
            for a in service.assignments_of(db, v, local_now(settings.timezone).date())
        ],
    )


@get(
    "/api/volunteers/teams",
    opt=admits(*OFFICIALS),
    tags=["volunteers"],
    operation_id="listTeams",
    sync_to_thread=True,
)
def list_teams_api(db: DB, user: UserDep) -> list[TeamOut]:
    """Teams of the caller's scope."""
    return [
        TeamOut(id=t.id or 0, name=t.name, unit_code=t.unit_code)
        for t in service.teams_in_scope(db, user)
    ]


@post(
    "/api/volunteers/teams",
    opt=admits(*OFFICIALS),
    tags=["volunteers"],
    operation_id="createTeam",
    sync_to_thread=True,
    status_code=201,
)
def create_team_api(db: DB, user: UserDep, data: JSONBody[TeamIn]) -> TeamOut:
    """Form a team working in a unit of the caller's scope."""
    t = service.create_team(db, user, data.name, data.unit_code)
    _commit(db)
    return TeamOut(id=t.id or 0, name=t.name, unit_code=t.unit_code)


@get(
    "/api/volunteers/assignments",
    opt=admits(*OFFICIALS),
    tags=["volunteers"],
    operation_id="listAssignments",
    sync_to_thread=True,
)
def list_assignments_api(db: DB, user: UserDep) -> list[AssignmentOut]:
    """Assignments in the caller's scope, latest first."""
    return [assignment_out(db, a) for a in service.assignments_in_scope(db, user)]


@post(
    "/api/volunteers/assignments",
    opt=admits(*OFFICIALS),
    tags=["volunteers"],
    operation_id="createAssignment",
    sync_to_thread=True,
    status_code=201,
)
def create_assignment_api(db: DB, user: UserDep, data: JSONBody[AssignmentIn]) -> AssignmentOut:
    """Give a volunteer or a team an area (unit) and a period with a standard."""
    a = service.create_assignment(db, user, **data.model_dump())
    _commit(db)
    return assignment_out(db, a)


@get(
    "/api/volunteers/standards",
    opt=admits(*PARTICIPANTS),
    tags=["volunteers"],
    operation_id="listStandards",
    sync_to_thread=True,
)
def list_standards_api(db: DB) -> list[StandardOut]:
    """Active inspection standards with their checklists."""
    return [
        StandardOut(
            id=s.id or 0, name=s.name, description=s.description, items=s.items, active=s.active
        )
        for s in service.standards(db)
    ]


@post(
    "/api/volunteers/standards",
    opt=admits(Role.ADMINISTRATOR),
    tags=["volunteers"],
    operation_id="createStandard",
    sync_to_thread=True,
    status_code=201,
)
def create_standard_api(db: DB, data: JSONBody[StandardIn]) -> StandardOut:
    """Add an inspection standard (checklist items with points and a problem category)."""
    s = service.create_standard(
        db, data.name, [i.model_dump() for i in data.items], data.description
    )
    _commit(db)
    return StandardOut(
        id=s.id or 0, name=s.name, description=s.description, items=s.items, active=s.active
    )


# ---------------------------------------------------------------- visits


def _visits_for(db: Session, user: CurrentUser) -> list[Visit]:
    if user.role == Role.VOLUNTEER.value:
        return service.visits_of(db, service.volunteer_for_user(db, user.id).id or 0)
    return service.visits_in_scope(db, user)


@get(
    "/api/volunteers/visits",
    opt=admits(*PARTICIPANTS),
    tags=["volunteers"],
    operation_id="listVisits",
    sync_to_thread=True,
)
def list_visits_api(db: DB, user: UserDep) -> list[VisitOut]:
    """Volunteers: their own visits; officials: submitted visits in their streets."""
    return [visit_out(db, v) for v in _visits_for(db, user)]


@post(
    "/api/volunteers/visits",
    opt=admits(*VOLUNTEERS),
    tags=["volunteers"],
    operation_id="startVisit",
    sync_to_thread=True,
    status_code=201,
)
def start_visit_api(db: DB, user: UserDep, data: JSONBody[VisitStartIn]) -> VisitOut:
    """Open a draft visit (time starts now)."""
    v = service.start_visit(
        db, user, standard_id=data.standard_id, assignment_id=data.assignment_id
    )
    _commit(db)
    return visit_out(db, v)


@get(
    "/api/volunteers/visits/{visit_id:int}",
    opt=admits(*PARTICIPANTS),
    tags=["volunteers"],
    operation_id="getVisit",
    sync_to_thread=True,
)
def get_visit_api(db: DB, user: UserDep, visit_id: FromPath[int]) -> VisitOut:
    """One visit: its volunteer always; officials of its street once submitted (else 403)."""
    return visit_out(db, service.readable_visit(db, user, visit_id))


@patch(
    "/api/volunteers/visits/{visit_id:int}",
    opt=admits(*VOLUNTEERS),
    tags=["volunteers"],
    operation_id="updateVisit",
    sync_to_thread=True,
)
def update_visit_api(
    db: DB, user: UserDep, visit_id: FromPath[int], data: JSONBody[VisitUpdateIn]
) -> VisitOut:
    """Change a draft visit of one's own (403 for others, 409 once submitted)."""
    v = service.update_visit(db, user, visit_id, **data.model_dump())
    _commit(db)
    return visit_out(db, v)


@post(
    "/api/volunteers/visits/{visit_id:int}/findings",
    opt=admits(*VOLUNTEERS),
    tags=["volunteers"],
    operation_id="addFinding",
    sync_to_thread=True,
    status_code=201,
)
def add_finding_api(
    db: DB, user: UserDep, visit_id: FromPath[int], data: JSONBody[FindingIn]
) -> VisitOut:
    """Record a finding with photos uploaded through ``POST /api/media/photos``."""
    service.add_finding(
        db,
        user,
        visit_id,
        category=data.category,
        description=data.description,
        item_code=data.item_code,
        photo_keys=data.photos,
        lat=data.lat,
        lon=data.lon,
    )
    _commit(db)
    return visit_out(db, service.readable_visit(db, user, visit_id))


@post(
    "/api/volunteers/visits/{visit_id:int}/submit",
    opt=admits(*VOLUNTEERS),
    tags=["volunteers"],
    operation_id="submitVisit",
    sync_to_thread=True,
    status_code=200,
)
def submit_visit_api(db: DB, user: UserDep, visit_id: FromPath[int]) -> VisitOut:
    """Submit a visit: each finding becomes a problem for the street with its deadline."""
    v, _ = service.submit_visit(db, user, visit_id)
    _commit(db)
    return visit_out(db, v)


# ---------------------------------------------------------------- problems


@get(
    "/api/problems",
    opt=admits(*PARTICIPANTS),
    tags=["problems"],
    operation_id="listProblems",
    sync_to_thread=True,
)
def list_problems_api(
    db: DB,
    user: UserDep,
    status: FromQuery[str | None] = None,
    street_code: FromQuery[str | None] = None,
    overdue: FromQuery[bool] = False,
) -> list[ProblemOut]:
    """Problems of the caller's streets (volunteers: those from their findings)."""
    rows = service.problems_in_scope(
        db, user, status=status, street_code=street_code, overdue=overdue
    )
    names = service.street_names(db, [p.street_code for p in rows])
    return [problem_out(db, p, names=names) for p in rows]


@get(
    "/api/problems/{problem_id:int}",
    opt=admits(*PARTICIPANTS),
    tags=["problems"],
    operation_id="getProblem",
    sync_to_thread=True,
)
def get_problem_api(db: DB, user: UserDep, problem_id: FromPath[int]) -> ProblemOut:
    """One problem with its photos and every transition (who, when, note, proof photos)."""
    return problem_out(db, service.problem_in_scope(db, user, problem_id), full=True)


@post(
    "/api/problems/{problem_id:int}/transitions",
    opt=admits(*OFFICIALS),
    tags=["problems"],
    operation_id="moveProblem",
    sync_to_thread=True,
    status_code=200,
)
def transition_api(
    db: DB,
    settings: AppSettings,
    user: UserDep,
    problem_id: FromPath[int],
    data: JSONBody[TransitionIn],
) -> ProblemOut:
    """assign (open/reopened → assigned), rectify (→ rectified; a proof photo key is required),
    verify (rectified → verified) or reopen (rectified → reopened; a note is required).
    A transition not allowed from the current state answers 409 naming ``action``."""
    p = service.transition(
        db,
        settings,
        user,
        problem_id,
        data.action,
        note=data.note,
        photo_keys=data.photos,
        assignee_id=data.assignee_id,
    )
    _commit(db)
    return problem_out(db, p, full=True)


def period_of(start: str | None, end: str | None, tz: str) -> tuple[date, date]:
    """A period from ISO dates (default: the last 30 days, city time); ServiceError naming
    the field."""
    try:
        end_d = date.fromisoformat(end) if end else local_now(tz).date()
    except ValueError as exc:
        raise ServiceError(N_("Give the date as YYYY-MM-DD."), field="end") from exc
    try:
        start_d = date.fromisoformat(start) if start else end_d - timedelta(days=29)
    except ValueError as exc:
        raise ServiceError(N_("Give the date as YYYY-MM-DD."), field="start") from exc
    if start_d > end_d:
        raise ServiceError(N_("The period ends before it starts."), field="end")
    return start_d, end_d


def rate_rows(db: Session, user: CurrentUser, start: date, end: date, tz: str) -> list[RateRowOut]:
    """Rates of the streets in the caller's scope."""
    scope = service.scope_of(db, user)
    if scope is not None and not scope:
        raise ForbiddenError(N_("Only officials may do this."))
    rows = service.rectification_rates(db, start, end, scope, tz=tz)
    names = service.street_names(db, rows)
    return [
        RateRowOut(street_name=names.get(code, ""), **r.__dict__)
        for code, r in rows.items()
        if r.total or scope is not None
    ]


@get(
    "/api/problems/rates",
    opt=admits(*OFFICIALS),
    tags=["problems"],
    operation_id="rectificationRates",
    sync_to_thread=True,
)
def rates_api(
    db: DB,
    settings: AppSettings,
    user: UserDep,
    start: FromQuery[str | None] = None,
    end: FromQuery[str | None] = None,
) -> list[RateRowOut]:
    """Rectification rate and on-time rate per street for problems opened in [start, end]
    (ISO dates, default the last 30 days), for the streets in the caller's scope."""
    s, e = period_of(start, end, settings.timezone)
    return rate_rows(db, user, s, e, settings.timezone)


@get(
    "/api/problems/categories",
    opt=admits(*PARTICIPANTS),
    tags=["problems"],
    operation_id="listProblemCategories",
    sync_to_thread=True,
)
def categories_api(db: DB) -> list[CategoryOut]:
    """Problem categories and their rectification deadlines in days."""
    return [
        CategoryOut(code=c.code, name=c.name, name_en=c.name_en, deadline_days=c.deadline_days)
        for c in service.categories(db)
    ]


@put(
    "/api/problems/categories/{code:str}",
    opt=admits(Role.ADMINISTRATOR),
    tags=["problems"],
    operation_id="setProblemCategory",
    sync_to_thread=True,
)
def set_category_api(db: DB, code: FromPath[str], data: JSONBody[CategoryIn]) -> CategoryOut:
    """Create or change a category and its deadline (applies to problems opened later)."""
    c = service.set_category(
        db, code, name=data.name, name_en=data.name_en, deadline_days=data.deadline_days
    )
    _commit(db)
    return CategoryOut(code=c.code, name=c.name, name_en=c.name_en, deadline_days=c.deadline_days)


route_handlers: list[Any] = [
    apply_api,
    register_api,
    list_volunteers_api,
    decide_api,
    deactivate_api,
    set_team_api,
    me_api,
    list_teams_api,
    create_team_api,
    list_assignments_api,
    create_assignment_api,
    list_standards_api,
    create_standard_api,
    list_visits_api,
    start_visit_api,
    get_visit_api,
    update_visit_api,
    add_finding_api,
    submit_visit_api,
    list_problems_api,
    get_problem_api,
    transition_api,
    rates_api,
    categories_api,
    set_category_api,
]
