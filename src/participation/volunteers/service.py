"""Volunteer supervision and problem rectification (整改): the services.

Volunteers apply (public form) or are entered by an official; an official whose scope holds the
volunteer's street approves, which creates or re-activates the ``volunteer`` account. Officials
form teams and give assignments (a unit and a period, with an inspection standard). A volunteer
logs visits — location from the browser or a pin (the street is found from the coordinates when
street boundaries are loaded, else chosen), checklist results, findings with photos, notes — and
sees and edits only their own visits until they submit one. Submission scores the checklist,
credits hours and points, and turns every finding into a :class:`Problem` for the street with a
deadline by category. Problems move open → assigned → rectified (proof photo required) →
verified, or back to reopened; each transition is a :class:`ProblemEvent` (who, when, note).

For the scoring domain: :func:`rectification_rates` (rate and on-time rate per street and
period) and :func:`inspection_scores` (mean checklist score per street and period).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from participation.accounts.models import User
from participation.accounts.roles import Role
from participation.accounts.service import create_user, hash_password, streets_in_scope
from participation.core.crypto import Vault, mask_phone
from participation.core.errors import ConflictError, ForbiddenError, NotFoundError, ServiceError
from participation.core.i18n import N_
from participation.core.timeutil import utcnow
from participation.geography.models import Level, Unit
from participation.media import service as media
from participation.media.models import Photo
from participation.settings import Settings
from participation.volunteers.geo import street_at
from participation.volunteers.models import (
    Assignment,
    Finding,
    InspectionStandard,
    Problem,
    ProblemCategory,
    ProblemEvent,
    ProblemStatus,
    Team,
    Visit,
    Volunteer,
    VolunteerStatus,
)

VISIT_POINTS = 10
"""Points credited for a submitted visit."""
FINDING_POINTS = 5
"""Points credited per finding of a submitted visit."""
MAX_VISIT_HOURS = 8.0
"""Longest visit credited, in hours (a forgotten draft does not earn a week)."""
MIN_VISIT_HOURS = 0.25
RESULTS = ("pass", "fail", "na")
FINDING_KIND = "finding"
PROOF_KIND = "rectification"
PHONE_RE = re.compile(r"^1[3-9]\d{9}$")
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,64}$")
OFFICIALS = (Role.OFFICIAL.value, Role.ADMINISTRATOR.value)

DEFAULT_CATEGORIES: tuple[tuple[str, str, str, int], ...] = (
    ("exposed_garbage", "暴露垃圾", "Exposed garbage", 1),
    ("street_vending", "占道经营", "Street vending", 3),
    ("illegal_construction", "违法建设", "Illegal construction", 30),
    ("broken_facility", "设施损坏", "Broken facility", 7),
    ("illegal_advertising", "违规广告", "Illegal advertising", 5),
    ("greening", "绿化管护", "Greening", 7),
    ("parking", "乱停乱放", "Disorderly parking", 2),
)
DEFAULT_STANDARD: dict[str, Any] = {
    "name": "城市管理市容环境检查标准",
    "description": "Street-level checklist of the city-management bureau: cleanliness, order, "
    "facilities, advertising.",
    "items": [
        {"code": "C1", "text": "路面干净，无暴露垃圾", "points": 10, "category": "exposed_garbage"},
        {"code": "C2", "text": "垃圾桶完好、未满溢", "points": 10, "category": "exposed_garbage"},
        {"code": "O1", "text": "无占道经营、店外经营", "points": 10, "category": "street_vending"},
        {"code": "O2", "text": "车辆停放有序", "points": 5, "category": "parking"},
        {"code": "F1", "text": "路灯、井盖、护栏完好", "points": 10, "category": "broken_facility"},
        {"code": "B1", "text": "无违法建设", "points": 10, "category": "illegal_construction"},
        {
            "code": "A1",
            "text": "无违规广告、乱贴乱画",
            "points": 5,
            "category": "illegal_advertising",
        },
        {"code": "G1", "text": "绿地整洁、无毁绿", "points": 5, "category": "greening"},
    ],
}


class Actor(Protocol):
    """Who acts: the signed-in user (``participation.core.web.CurrentUser``)."""

    @property
    def id(self) -> int: ...
    @property
    def role(self) -> str: ...
    @property
    def unit_code(self) -> str | None: ...


# ---------------------------------------------------------------- scope helpers


def scope_of(session: Session, actor: Actor) -> set[str] | None:
    """Street codes an actor may see (None: all). Volunteers: none through this path."""
    if actor.role == Role.ADMINISTRATOR.value:
        return None
    if actor.role == Role.OFFICIAL.value:
        return streets_in_scope(session, actor.unit_code, actor.role)
    return set()


def _require_official(actor: Actor) -> None:
    if actor.role not in OFFICIALS:
        raise ForbiddenError(N_("Only officials may do this."))


def _require_street_in_scope(session: Session, actor: Actor, street_code: str) -> None:
    scope = scope_of(session, actor)
    if scope is not None and street_code not in scope:
        raise ForbiddenError(N_("This street is outside your scope."), field="street_code")


def _unit(session: Session, code: str | None, field: str, *, street: bool = False) -> Unit:
    code = (code or "").strip()
    unit = session.get(Unit, code) if code else None
    if unit is None:
        raise ServiceError(N_("Unknown unit %(code)s."), field=field, code=code or "—")
    if street and unit.level != Level.STREET.value:
        raise ServiceError(N_("%(code)s is not a street."), field=field, code=code)
    return unit


def street_names(session: Session, codes: Iterable[str | None]) -> dict[str, str]:
    """Names of units by code."""
    wanted = sorted({c for c in codes if c})
    if not wanted:
        return {}
    rows = session.exec(select(Unit.code, Unit.name).where(col(Unit.code).in_(wanted))).all()
    return dict(rows)


def streets(session: Session, scope: set[str] | None = None) -> list[Unit]:
    """Streets (optionally only those in ``scope``), by code."""
    query = select(Unit).where(Unit.level == Level.STREET.value).order_by(col(Unit.code))
    if scope is not None:
        query = query.where(col(Unit.code).in_(sorted(scope)))
    return list(session.exec(query))


# ---------------------------------------------------------------- categories and standards


def ensure_defaults(session: Session) -> None:
    """Create the default problem categories and inspection standard when none exist."""
    if session.exec(select(ProblemCategory)).first() is None:
        for i, (code, name, name_en, days) in enumerate(DEFAULT_CATEGORIES):
            session.add(
                ProblemCategory(
                    code=code, name=name, name_en=name_en, deadline_days=days, sort_order=i
                )
            )
        session.flush()
    if session.exec(select(InspectionStandard)).first() is None:
        create_standard(
            session,
            DEFAULT_STANDARD["name"],
            DEFAULT_STANDARD["items"],
            DEFAULT_STANDARD["description"],
        )


def categories(session: Session) -> list[ProblemCategory]:
    """Problem categories in display order."""
    return list(
        session.exec(
            select(ProblemCategory).order_by(
                col(ProblemCategory.sort_order), col(ProblemCategory.code)
            )
        )
    )


def get_category(session: Session, code: str, field: str = "category") -> ProblemCategory:
    """A category by code (ServiceError naming ``field`` when unknown)."""
    cat = session.get(ProblemCategory, (code or "").strip())
    if cat is None:
        raise ServiceError(N_("Unknown problem category %(code)s."), field=field, code=code or "—")
    return cat


def set_category(
    session: Session,
    code: str,
    *,
    name: str,
    deadline_days: int,
    name_en: str = "",
) -> ProblemCategory:
    """Create or change a problem category and its deadline (days)."""
    code = (code or "").strip()
    if not re.fullmatch(r"[a-z0-9_]{2,32}", code):
        raise ServiceError(
            N_("A category code has 2–32 lowercase letters, digits or _."), field="code"
        )
    if not name.strip():
        raise ServiceError(N_("A name is required."), field="name")
    if not 1 <= int(deadline_days) <= 365:
        raise ServiceError(N_("The deadline must be 1–365 days."), field="deadline_days")
    cat = session.get(ProblemCategory, code)
    if cat is None:
        count = len(categories(session))
        cat = ProblemCategory(code=code, name=name.strip(), sort_order=count, deadline_days=1)
    cat.name = name.strip()
    cat.name_en = name_en.strip()
    cat.deadline_days = int(deadline_days)
    session.add(cat)
    session.flush()
    return cat


def validate_items(session: Session, items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Checked checklist items: unique codes, text, points 1–100, a known category."""
    if not items:
        raise ServiceError(N_("A standard needs at least one item."), field="items")
    known = {c.code for c in categories(session)}
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    for n, item in enumerate(items, start=1):
        code = str(item.get("code", "")).strip()
        text = str(item.get("text", "")).strip()
        category = str(item.get("category", "")).strip()
        try:
            points = int(item.get("points", 0))
        except (TypeError, ValueError):
            points = 0
        if not code or code in seen or len(code) > 32:
            raise ServiceError(N_("Item %(n)s: a unique code is required."), field="items", n=n)
        if not text:
            raise ServiceError(N_("Item %(n)s: the text is required."), field="items", n=n)
        if not 1 <= points <= 100:
            raise ServiceError(N_("Item %(n)s: points must be 1–100."), field="items", n=n)
        if category not in known:
            raise ServiceError(
                N_("Item %(n)s: unknown category %(code)s."), field="items", n=n, code=category
            )
        seen.add(code)
        out.append({"code": code, "text": text, "points": points, "category": category})
    return out


def create_standard(
    session: Session, name: str, items: Sequence[dict[str, Any]], description: str = ""
) -> InspectionStandard:
    """A new inspection standard (checklist)."""
    name = (name or "").strip()
    if not name:
        raise ServiceError(N_("A name is required."), field="name")
    if session.exec(select(InspectionStandard).where(InspectionStandard.name == name)).first():
        raise ConflictError(N_("A standard named %(name)s exists."), field="name", name=name)
    standard = InspectionStandard(
        name=name, description=description.strip(), items=validate_items(session, items)
    )
    session.add(standard)
    session.flush()
    return standard


def standards(session: Session, active_only: bool = True) -> list[InspectionStandard]:
    """Inspection standards by id."""
    query = select(InspectionStandard).order_by(col(InspectionStandard.id))
    if active_only:
        query = query.where(col(InspectionStandard.active).is_(True))
    return list(session.exec(query))


def get_standard(session: Session, standard_id: int | None) -> InspectionStandard:
    """A standard by id."""
    standard = session.get(InspectionStandard, standard_id) if standard_id else None
    if standard is None:
        raise ServiceError(N_("Unknown inspection standard."), field="standard_id")
    return standard


# ---------------------------------------------------------------- volunteers


def apply(
    session: Session,
    settings: Settings,
    *,
    name: str,
    phone: str,
    street_code: str,
    username: str,
    password: str,
    note: str = "",
) -> Volunteer:
    """A volunteer application (public form, or entered by an official)."""
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise ServiceError(N_("Please give your name."), field="name")
    phone = re.sub(r"[\s-]", "", phone or "")
    if phone.startswith("+86"):
        phone = phone[3:]
    if not PHONE_RE.match(phone):
        raise ServiceError(N_("Please give an 11-digit mobile number."), field="phone")
    _unit(session, street_code, "street_code", street=True)
    username = (username or "").strip()
    if not USERNAME_RE.match(username):
        raise ServiceError(
            N_("A username has 3–64 letters, digits, dots, dashes or underscores."),
            field="username",
        )
    taken = (
        session.exec(select(User).where(User.username == username)).first()
        or session.exec(
            select(Volunteer).where(
                Volunteer.username == username, Volunteer.status != VolunteerStatus.REJECTED.value
            )
        ).first()
    )
    if taken:
        raise ConflictError(N_("This username is taken."), field="username")
    if len(password or "") < 8:
        raise ServiceError(N_("The password must have at least 8 characters."), field="password")
    vault = Vault(settings)
    phone_hash = vault.keyed_hash(phone)
    pending = session.exec(
        select(Volunteer).where(
            Volunteer.phone_hash == phone_hash,
            col(Volunteer.status).in_(
                [VolunteerStatus.APPLIED.value, VolunteerStatus.ACTIVE.value]
            ),
        )
    ).first()
    if pending:
        raise ConflictError(N_("This phone number is already registered."), field="phone")
    volunteer = Volunteer(
        username=username,
        name=name,
        phone_enc=vault.encrypt(phone),
        phone_hash=phone_hash,
        street_code=street_code.strip(),
        password_hash=hash_password(password),
        note=(note or "").strip()[:400],
    )
    session.add(volunteer)
    session.flush()
    return volunteer


def register_by_official(
    session: Session, settings: Settings, actor: Actor, **fields: Any
) -> Volunteer:
    """An official enters a volunteer of a street in their scope: recorded and approved at once."""
    _require_official(actor)
    street = _unit(session, str(fields.get("street_code", "")), "street_code", street=True)
    _require_street_in_scope(session, actor, street.code)
    volunteer = apply(session, settings, **fields)
    return decide(session, actor, volunteer.id or 0, approve=True)


def get_volunteer(session: Session, volunteer_id: int) -> Volunteer:
    """A volunteer by id."""
    volunteer = session.get(Volunteer, volunteer_id)
    if volunteer is None:
        raise NotFoundError(N_("No such volunteer."), field="volunteer_id")
    return volunteer


def volunteer_for_user(session: Session, user_id: int) -> Volunteer:
    """The volunteer record of a signed-in volunteer account."""
    volunteer = session.exec(select(Volunteer).where(Volunteer.user_id == user_id)).first()
    if volunteer is None or volunteer.status != VolunteerStatus.ACTIVE.value:
        raise ForbiddenError(N_("Your account is not an active volunteer."))
    return volunteer


def volunteer_in_scope(session: Session, actor: Actor, volunteer_id: int) -> Volunteer:
    """A volunteer an official may manage (403 outside their scope)."""
    _require_official(actor)
    volunteer = get_volunteer(session, volunteer_id)
    _require_street_in_scope(session, actor, volunteer.street_code)
    return volunteer


def decide(session: Session, actor: Actor, volunteer_id: int, approve: bool) -> Volunteer:
    """Approve (creating or activating the ``volunteer`` account) or reject an application."""
    volunteer = volunteer_in_scope(session, actor, volunteer_id)
    if volunteer.status not in (VolunteerStatus.APPLIED.value, VolunteerStatus.INACTIVE.value):
        raise ConflictError(
            N_("This registration is already %(status)s."), field="status", status=volunteer.status
        )
    now = utcnow()
    if approve:
        if volunteer.user_id is None:
            if session.exec(select(User).where(User.username == volunteer.username)).first():
                raise ConflictError(N_("This username is taken."), field="username")
            user = create_user(
                session,
                username=volunteer.username,
                password="placeholder-password",
                role=Role.VOLUNTEER,
                display_name=volunteer.name,
                unit_code=volunteer.street_code,
            )
            user.password_hash = volunteer.password_hash
            volunteer.user_id = user.id
        else:
            user = session.get(User, volunteer.user_id)
            assert user is not None
            user.active = True
            user.role = Role.VOLUNTEER.value
        session.add(user)
        volunteer.password_hash = ""
        volunteer.status = VolunteerStatus.ACTIVE.value
    else:
        volunteer.status = VolunteerStatus.REJECTED.value
        volunteer.password_hash = ""
    volunteer.decided_at = now
    volunteer.decided_by = actor.id
    session.add(volunteer)
    session.flush()
    return volunteer


def deactivate(session: Session, actor: Actor, volunteer_id: int, confirm: str) -> Volunteer:
    """End a volunteer's service: the account is disabled, the record kept.

    ``confirm`` must repeat the volunteer's sign-in name, so a wrong id ends nobody's service.
    """
    volunteer = volunteer_in_scope(session, actor, volunteer_id)
    if (confirm or "").strip() != volunteer.username:
        raise ServiceError(N_("Repeat the volunteer's sign-in name to confirm."), field="confirm")
    if volunteer.status != VolunteerStatus.ACTIVE.value:
        raise ConflictError(
            N_("This registration is already %(status)s."), field="status", status=volunteer.status
        )
    volunteer.status = VolunteerStatus.INACTIVE.value
    if volunteer.user_id is not None:
        user = session.get(User, volunteer.user_id)
        if user is not None:
            user.active = False
            session.add(user)
    session.add(volunteer)
    session.flush()
    return volunteer


def volunteers_in_scope(
    session: Session, actor: Actor, status: str | None = None
) -> list[Volunteer]:
    """Volunteers an official may see, newest applications first."""
    _require_official(actor)
    query = select(Volunteer).order_by(col(Volunteer.applied_at).desc())
    scope = scope_of(session, actor)
    if scope is not None:
        query = query.where(col(Volunteer.street_code).in_(sorted(scope)))
    if status:
        query = query.where(Volunteer.status == status)
    return list(session.exec(query))


def masked_phone(settings: Settings, volunteer: Volunteer) -> str:
    """The volunteer's phone, masked."""
    if not volunteer.phone_enc:
        return ""
    return mask_phone(Vault(settings).decrypt(volunteer.phone_enc))


@dataclass(frozen=True)
class Totals:
    """Hours and points of a volunteer (submitted visits)."""

    visits: int
    findings: int
    hours: float
    points: int


def totals(session: Session, volunteer_ids: Sequence[int]) -> dict[int, Totals]:
    """Hours and points per volunteer from their submitted visits."""
    out = {v: Totals(0, 0, 0.0, 0) for v in volunteer_ids}
    if not volunteer_ids:
        return out
    visits = session.exec(
        select(Visit).where(
            col(Visit.volunteer_id).in_(list(volunteer_ids)), Visit.status == "submitted"
        )
    ).all()
    counts = finding_counts(session, [v.id for v in visits if v.id is not None])
    acc: dict[int, list[float]] = {v: [0, 0, 0.0, 0] for v in volunteer_ids}
    for visit in visits:
        a = acc[visit.volunteer_id]
        a[0] += 1
        a[1] += counts.get(visit.id or 0, 0)
        a[2] += visit.hours
        a[3] += visit.points
    for vid, a in acc.items():
        out[vid] = Totals(int(a[0]), int(a[1]), round(float(a[2]), 2), int(a[3]))
    return out


# ---------------------------------------------------------------- teams and assignments


def create_team(session: Session, actor: Actor, name: str, unit_code: str) -> Team:
    """A team working in ``unit_code`` (a street, or a county for a county-wide group)."""
    _require_official(actor)
    name = (name or "").strip()
    if not name:
        raise ServiceError(N_("A name is required."), field="name")
    unit = _unit(session, unit_code, "unit_code")
    scope = scope_of(session, actor)
    if scope is not None:
        if unit.level == Level.STREET.value:
            _require_street_in_scope(session, actor, unit.code)
        elif not scope or unit.code != actor.unit_code:
            raise ForbiddenError(N_("This unit is outside your scope."), field="unit_code")
    team = Team(name=name, unit_code=unit.code, created_by=actor.id)
    session.add(team)
    session.flush()
    return team


def teams_in_scope(session: Session, actor: Actor) -> list[Team]:
    """Teams whose unit is in the actor's scope (or the actor's own unit)."""
    scope = scope_of(session, actor)
    query = select(Team).order_by(col(Team.id))
    if scope is not None:
        allowed = set(scope) | ({actor.unit_code} if actor.unit_code else set())
        query = query.where(col(Team.unit_code).in_(sorted(allowed)))
    return list(session.exec(query))


def set_team(session: Session, actor: Actor, volunteer_id: int, team_id: int | None) -> Volunteer:
    """Put a volunteer in a team (or none)."""
    volunteer = volunteer_in_scope(session, actor, volunteer_id)
    if team_id is not None:
        team = session.get(Team, team_id)
        if team is None or team.id not in {t.id for t in teams_in_scope(session, actor)}:
            raise ServiceError(N_("Unknown team."), field="team_id")
    volunteer.team_id = team_id
    session.add(volunteer)
    session.flush()
    return volunteer


def create_assignment(
    session: Session,
    actor: Actor,
    *,
    unit_code: str,
    period_start: date,
    period_end: date,
    volunteer_id: int | None = None,
    team_id: int | None = None,
    standard_id: int | None = None,
    note: str = "",
) -> Assignment:
    """Give a volunteer or a team an area (a unit) and a period."""
    _require_official(actor)
    unit = _unit(session, unit_code, "unit_code")
    if unit.level == Level.STREET.value:
        _require_street_in_scope(session, actor, unit.code)
    elif scope_of(session, actor) is not None and unit.code != actor.unit_code:
        raise ForbiddenError(N_("This unit is outside your scope."), field="unit_code")
    if period_end < period_start:
        raise ServiceError(N_("The period ends before it starts."), field="period_end")
    if (volunteer_id is None) == (team_id is None):
        raise ServiceError(N_("Choose a volunteer or a team."), field="volunteer_id")
    if volunteer_id is not None:
        volunteer = volunteer_in_scope(session, actor, volunteer_id)
        if volunteer.status != VolunteerStatus.ACTIVE.value:
            raise ServiceError(N_("This volunteer is not active."), field="volunteer_id")
    if team_id is not None and team_id not in {t.id for t in teams_in_scope(session, actor)}:
        raise ServiceError(N_("Unknown team."), field="team_id")
    if standard_id is not None:
        get_standard(session, standard_id)
    assignment = Assignment(
        volunteer_id=volunteer_id,
        team_id=team_id,
        unit_code=unit.code,
        period_start=period_start,
        period_end=period_end,
        standard_id=standard_id,
        note=(note or "").strip()[:400],
        created_by=actor.id,
    )
    session.add(assignment)
    session.flush()
    return assignment


def assignments_of(
    session: Session, volunteer: Volunteer, on: date | None = None
) -> list[Assignment]:
    """A volunteer's assignments (their own and their team's), current ones when ``on``."""
    mine = col(Assignment.volunteer_id) == volunteer.id
    if volunteer.team_id is not None:
        mine = mine | (col(Assignment.team_id) == volunteer.team_id)
    query = select(Assignment).where(mine)
    if on is not None:
        query = query.where(Assignment.period_start <= on, Assignment.period_end >= on)
    return list(session.exec(query.order_by(col(Assignment.period_start).desc())))


def assignments_in_scope(session: Session, actor: Actor) -> list[Assignment]:
    """Assignments of units in the actor's scope, latest first."""
    query = select(Assignment).order_by(col(Assignment.period_start).desc(), col(Assignment.id))
    scope = scope_of(session, actor)
    if scope is not None:
        allowed = set(scope) | ({actor.unit_code} if actor.unit_code else set())
        query = query.where(col(Assignment.unit_code).in_(sorted(allowed)))
    return list(session.exec(query))


# ---------------------------------------------------------------- visits


def _owned_visit(session: Session, actor: Actor, visit_id: int) -> tuple[Visit, Volunteer]:
    visit = session.get(Visit, visit_id)
    if visit is None:
        raise NotFoundError(N_("No such visit."), field="visit_id")
    if actor.role != Role.VOLUNTEER.value:
        raise ForbiddenError(N_("Only the volunteer who logged a visit may change it."))
    volunteer = volunteer_for_user(session, actor.id)
    if visit.volunteer_id != volunteer.id:
        raise ForbiddenError(N_("This visit belongs to another volunteer."), field="visit_id")
    return visit, volunteer


def editable_visit(session: Session, actor: Actor, visit_id: int) -> Visit:
    """A draft visit of the acting volunteer (403 for anyone else, 409 once submitted)."""
    visit, _ = _owned_visit(session, actor, visit_id)
    if visit.status != "draft":
        raise ConflictError(
            N_("This visit is submitted and can no longer be changed."), field="status"
        )
    return visit


def readable_visit(session: Session, actor: Actor, visit_id: int) -> Visit:
    """A visit the actor may read: its volunteer; officials in scope once it is submitted."""
    if actor.role == Role.VOLUNTEER.value:
        return _owned_visit(session, actor, visit_id)[0]
    _require_official(actor)
    visit = session.get(Visit, visit_id)
    if visit is None or visit.status != "submitted":
        raise NotFoundError(N_("No such visit."), field="visit_id")
    scope = scope_of(session, actor)
    if scope is not None and visit.street_code not in scope:
        raise ForbiddenError(N_("This street is outside your scope."), field="street_code")
    return visit


def start_visit(
    session: Session,
    actor: Actor,
    *,
    standard_id: int | None = None,
    assignment_id: int | None = None,
    started_at: datetime | None = None,
) -> Visit:
    """Open a draft visit for the acting volunteer."""
    if actor.role != Role.VOLUNTEER.value:
        raise ForbiddenError(N_("Only volunteers log visits."))
    volunteer = volunteer_for_user(session, actor.id)
    assignment = None
    if assignment_id is not None:
        assignment = session.get(Assignment, assignment_id)
        if assignment is None or assignment.id not in {
            a.id for a in assignments_of(session, volunteer)
        }:
            raise ServiceError(N_("Unknown assignment."), field="assignment_id")
        standard_id = standard_id or assignment.standard_id
    if standard_id is None:
        first = standards(session)
        if not first:
            raise ServiceError(N_("Unknown inspection standard."), field="standard_id")
        standard_id = first[0].id
    get_standard(session, standard_id)
    now = utcnow()
    if started_at is not None and (started_at > now + timedelta(minutes=5)):
        raise ServiceError(N_("The visit cannot start in the future."), field="started_at")
    visit = Visit(
        volunteer_id=volunteer.id or 0,
        assignment_id=assignment.id if assignment else None,
        standard_id=standard_id or 0,
        started_at=started_at or now,
        street_code=(
            assignment.unit_code
            if assignment and _is_street(session, assignment.unit_code)
            else None
        ),
        street_source="chosen" if assignment and _is_street(session, assignment.unit_code) else "",
    )
    session.add(visit)
    session.flush()
    return visit


def _is_street(session: Session, code: str) -> bool:
    unit = session.get(Unit, code)
    return unit is not None and unit.level == Level.STREET.value


def update_visit(
    session: Session,
    actor: Actor,
    visit_id: int,
    *,
    lat: float | None = None,
    lon: float | None = None,
    location_source: str | None = None,
    street_code: str | None = None,
    address: str | None = None,
    notes: str | None = None,
    results: dict[str, str] | None = None,
    started_at: datetime | None = None,
) -> Visit:
    """Change a draft visit: when it started (not in the future), location (street resolved
    from boundaries when loaded, else the chosen one), address, notes, checklist results
    (item code → pass / fail / na)."""
    visit = editable_visit(session, actor, visit_id)
    if started_at is not None:
        if started_at.tzinfo is None:
            raise ServiceError(N_("Give the time with its time zone."), field="started_at")
        if started_at > utcnow() + timedelta(minutes=5):
            raise ServiceError(N_("The visit cannot start in the future."), field="started_at")
        if started_at < utcnow() - timedelta(days=30):
            raise ServiceError(N_("A visit is logged within 30 days of it."), field="started_at")
        visit.started_at = started_at
    if (lat is None) != (lon is None):
        raise ServiceError(N_("Give both latitude and longitude."), field="lat")
    if lat is not None and lon is not None:
        if not (-90 <= lat <= 90):
            raise ServiceError(N_("The latitude must be between -90 and 90."), field="lat")
        if not (-180 <= lon <= 180):
            raise ServiceError(N_("The longitude must be between -180 and 180."), field="lon")
        visit.lat, visit.lon = lat, lon
        visit.location_source = location_source if location_source in ("gps", "pin") else "pin"
    if address is not None:
        visit.address = address.strip()[:200]
    if notes is not None:
        visit.notes = notes.strip()[:2000]
    if results is not None:
        standard = get_standard(session, visit.standard_id)
        codes = {i["code"] for i in standard.items}
        clean: dict[str, str] = dict(visit.results)
        for code, value in results.items():
            if code not in codes:
                raise ServiceError(
                    N_("Unknown checklist item %(code)s."), field="results", code=code
                )
            if value in ("", None):
                clean.pop(code, None)
                continue
            if value not in RESULTS:
                raise ServiceError(
                    N_("Checklist item %(code)s must be pass, fail or n/a."),
                    field=f"result_{code}",
                    code=code,
                )
            clean[code] = value
        visit.results = clean
    _resolve_street(session, visit, street_code)
    visit.updated_at = utcnow()
    session.add(visit)
    session.flush()
    return visit


def _resolve_street(session: Session, visit: Visit, chosen: str | None) -> None:
    """The street from the coordinates when boundaries are loaded, else the chosen street."""
    if visit.lat is not None and visit.lon is not None:
        found, loaded = street_at(session, visit.lat, visit.lon)
        if found:
            visit.street_code, visit.street_source = found, "boundary"
            return
        if loaded and not chosen and visit.street_source == "boundary":
            visit.street_code, visit.street_source = None, ""
    if chosen:
        _unit(session, chosen, "street_code", street=True)
        visit.street_code, visit.street_source = chosen.strip(), "chosen"


def add_finding(
    session: Session,
    actor: Actor,
    visit_id: int,
    *,
    category: str,
    description: str,
    item_code: str = "",
    photo_keys: Sequence[str] = (),
    lat: float | None = None,
    lon: float | None = None,
) -> Finding:
    """Add a finding (category, description, photos already uploaded) to a draft visit."""
    visit = editable_visit(session, actor, visit_id)
    standard = get_standard(session, visit.standard_id)
    item_code = (item_code or "").strip()
    if item_code:
        item = next((i for i in standard.items if i["code"] == item_code), None)
        if item is None:
            raise ServiceError(
                N_("Unknown checklist item %(code)s."), field="item_code", code=item_code
            )
        category = category or item["category"]
    get_category(session, category)
    description = (description or "").strip()
    if not description:
        raise ServiceError(N_("Describe what you found."), field="description")
    finding = Finding(
        visit_id=visit.id or 0,
        item_code=item_code,
        category=category,
        description=description[:1000],
        lat=lat if lat is not None else visit.lat,
        lon=lon if lon is not None else visit.lon,
    )
    session.add(finding)
    session.flush()
    assert finding.id is not None
    media.attach(session, list(photo_keys), FINDING_KIND, finding.id, user_id=actor.id)
    return finding


def store_finding_photo(
    session: Session, settings: Settings, actor: Actor, visit_id: int, data: bytes
) -> Photo:
    """Store a photo for a finding of a draft visit (not attached yet)."""
    editable_visit(session, actor, visit_id)
    return media.store_photo(session, settings, data, owner_kind=media.PENDING, user_id=actor.id)


def remove_finding(session: Session, settings: Settings, actor: Actor, finding_id: int) -> None:
    """Delete a finding (and its photos) of a draft visit."""
    finding = session.get(Finding, finding_id)
    if finding is None:
        raise NotFoundError(N_("No such finding."), field="finding_id")
    editable_visit(session, actor, finding.visit_id)
    for photo in media.photos_of(session, FINDING_KIND, finding_id):
        media.delete_photo(session, settings, photo)
    session.delete(finding)
    session.flush()


def findings_of(session: Session, visit_id: int) -> list[Finding]:
    """The findings of a visit."""
    return list(
        session.exec(select(Finding).where(Finding.visit_id == visit_id).order_by(col(Finding.id)))
    )


def finding_counts(session: Session, visit_ids: Sequence[int]) -> dict[int, int]:
    """Number of findings per visit."""
    if not visit_ids:
        return {}
    rows = session.exec(select(Finding.visit_id).where(col(Finding.visit_id).in_(list(visit_ids))))
    out: dict[int, int] = {}
    for vid in rows:
        out[vid] = out.get(vid, 0) + 1
    return out


def checklist_score(standard: InspectionStandard, results: dict[str, str]) -> float | None:
    """Share (0–100) of the applicable items' points that passed; None when none applies."""
    total = passed = 0
    for item in standard.items:
        value = results.get(item["code"])
        if value in ("pass", "fail"):
            total += int(item["points"])
            if value == "pass":
                passed += int(item["points"])
    return round(100.0 * passed / total, 1) if total else None


def submit_visit(
    session: Session, actor: Actor, visit_id: int, *, ended_at: datetime | None = None
) -> tuple[Visit, list[Problem]]:
    """Submit a draft visit: checklist complete, street known; every finding becomes a problem
    for the visit's street with the category's deadline; hours and points are credited.

    The visit row is locked first (PostgreSQL), so a double submission opens problems once and
    the second answers 409."""
    editable_visit(session, actor, visit_id)
    session.get(Visit, visit_id, with_for_update=True, populate_existing=True)
    visit = editable_visit(session, actor, visit_id)
    standard = get_standard(session, visit.standard_id)
    missing = [i["code"] for i in standard.items if i["code"] not in visit.results]
    if missing:
        raise ServiceError(
            N_("Answer every checklist item (missing: %(codes)s)."),
            field=f"result_{missing[0]}",
            codes=", ".join(missing),
        )
    if not visit.street_code:
        raise ServiceError(N_("Choose the street of the visit."), field="street_code")
    findings = findings_of(session, visit.id or 0)
    failed = [i for i in standard.items if visit.results.get(i["code"]) == "fail"]
    covered = {f.item_code for f in findings}
    uncovered = [i["code"] for i in failed if i["code"] not in covered]
    if uncovered:
        raise ServiceError(
            N_("Record a finding for every failed item (missing: %(codes)s)."),
            field="findings",
            codes=", ".join(uncovered),
        )
    now = utcnow()
    ended = ended_at or now
    if ended < visit.started_at:
        raise ServiceError(N_("The visit ends before it starts."), field="ended_at")
    hours = (ended - visit.started_at).total_seconds() / 3600.0
    visit.ended_at = ended
    visit.hours = round(min(MAX_VISIT_HOURS, max(MIN_VISIT_HOURS, hours)), 2)
    visit.points = VISIT_POINTS + FINDING_POINTS * len(findings)
    visit.score = checklist_score(standard, visit.results)
    visit.status = "submitted"
    visit.submitted_at = now
    visit.updated_at = now
    session.add(visit)
    problems = [
        open_problem(
            session,
            category=f.category,
            street_code=visit.street_code,
            description=f.description,
            lat=f.lat,
            lon=f.lon,
            finding_id=f.id,
            user_id=actor.id,
            at=now,
        )
        for f in findings
    ]
    session.flush()
    return visit, problems


def visits_of(session: Session, volunteer_id: int) -> list[Visit]:
    """A volunteer's visits, newest first."""
    return list(
        session.exec(
            select(Visit)
            .where(Visit.volunteer_id == volunteer_id)
            .order_by(col(Visit.started_at).desc(), col(Visit.id).desc())
        )
    )


def visits_in_scope(session: Session, actor: Actor, limit: int = 200) -> list[Visit]:
    """Submitted visits in an official's streets, newest first."""
    _require_official(actor)
    query = (
        select(Visit)
        .where(Visit.status == "submitted")
        .order_by(col(Visit.submitted_at).desc())
        .limit(limit)
    )
    scope = scope_of(session, actor)
    if scope is not None:
        query = query.where(col(Visit.street_code).in_(sorted(scope)))
    return list(session.exec(query))


# ---------------------------------------------------------------- problems


TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "assign": (
        (ProblemStatus.OPEN.value, ProblemStatus.REOPENED.value),
        ProblemStatus.ASSIGNED.value,
    ),
    "rectify": (
        (ProblemStatus.ASSIGNED.value, ProblemStatus.REOPENED.value),
        ProblemStatus.RECTIFIED.value,
    ),
    "verify": ((ProblemStatus.RECTIFIED.value,), ProblemStatus.VERIFIED.value),
    "reopen": ((ProblemStatus.RECTIFIED.value,), ProblemStatus.REOPENED.value),
}
ACTION_LABELS: dict[str, str] = {
    "create": N_("created"),
    "assign": N_("assign"),
    "rectify": N_("rectify"),
    "verify": N_("verify"),
    "reopen": N_("reopen"),
}
DONE = (ProblemStatus.RECTIFIED.value, ProblemStatus.VERIFIED.value)


def open_problem(
    session: Session,
    *,
    category: str,
    street_code: str,
    description: str,
    lat: float | None = None,
    lon: float | None = None,
    finding_id: int | None = None,
    user_id: int | None = None,
    at: datetime | None = None,
) -> Problem:
    """A new open problem for a street, due after the category's deadline."""
    cat = get_category(session, category)
    _unit(session, street_code, "street_code", street=True)
    now = at or utcnow()
    problem = Problem(
        finding_id=finding_id,
        category=cat.code,
        street_code=street_code,
        description=description,
        lat=lat,
        lon=lon,
        created_at=now,
        updated_at=now,
        deadline=now + timedelta(days=cat.deadline_days),
    )
    session.add(problem)
    session.flush()
    session.add(
        ProblemEvent(
            problem_id=problem.id or 0,
            action="create",
            to_status=problem.status,
            user_id=user_id,
            at=now,
        )
    )
    return problem


def is_overdue(problem: Problem, now: datetime | None = None) -> bool:
    """Not rectified and past its deadline."""
    return problem.status not in DONE and (now or utcnow()) > problem.deadline


def problem_in_scope(session: Session, actor: Actor, problem_id: int) -> Problem:
    """A problem the actor may see: officials of its street, administrators, and the volunteer
    whose finding it came from (403 otherwise)."""
    problem = session.get(Problem, problem_id)
    if problem is None:
        raise NotFoundError(N_("No such problem."), field="problem_id")
    if actor.role == Role.VOLUNTEER.value:
        if problem_volunteer_user(session, problem) != actor.id:
            raise ForbiddenError(N_("This problem is outside your scope."), field="problem_id")
        return problem
    _require_official(actor)
    _require_street_in_scope(session, actor, problem.street_code)
    return problem


def problem_volunteer_user(session: Session, problem: Problem) -> int | None:
    """The account id of the volunteer whose finding opened ``problem``."""
    if problem.finding_id is None:
        return None
    row = session.exec(
        select(Volunteer.user_id)
        .join(Visit, col(Visit.volunteer_id) == col(Volunteer.id))
        .join(Finding, col(Finding.visit_id) == col(Visit.id))
        .where(Finding.id == problem.finding_id)
    ).first()
    return row


def transition(
    session: Session,
    settings: Settings,
    actor: Actor,
    problem_id: int,
    action: str,
    *,
    note: str = "",
    photo_keys: Sequence[str] = (),
    photo_data: bytes | None = None,
    assignee_id: int | None = None,
) -> Problem:
    """Move a problem along: ``assign``, ``rectify`` (proof photo required: an uploaded key or
    the bytes), ``verify`` or ``reopen`` (a reason required). Officials of the street and
    administrators only; every transition is recorded with who and when."""
    _require_official(actor)
    problem_in_scope(session, actor, problem_id)
    # Lock the row (PostgreSQL) and read it afresh: two officials moving the same problem at
    # once are serialised, and the second sees the first one's state (409 if it no longer fits).
    problem = session.get(Problem, problem_id, with_for_update=True, populate_existing=True)
    assert problem is not None
    if action not in TRANSITIONS:
        raise ServiceError(N_("Unknown action %(action)s."), field="action", action=action)
    sources, target = TRANSITIONS[action]
    if problem.status not in sources:
        raise ConflictError(
            N_("A problem that is %(status)s cannot be moved with %(action)s."),
            field="action",
            status=problem.status,
            action=action,
        )
    note = (note or "").strip()[:1000]
    if action == "reopen" and not note:
        raise ServiceError(N_("Say why the problem is reopened."), field="note")
    if action == "assign" and assignee_id is not None:
        assignee = session.get(User, assignee_id)
        if assignee is None or assignee.role != Role.OFFICIAL.value or not assignee.active:
            raise ServiceError(N_("Unknown official."), field="assignee_id")
        scope = streets_in_scope(session, assignee.unit_code, assignee.role)
        if scope is not None and problem.street_code not in scope:
            raise ServiceError(
                N_("This official is not responsible for the street."), field="assignee_id"
            )
    if action == "rectify" and not photo_keys and not photo_data:
        raise ServiceError(N_("A rectification needs a proof photo."), field="photo")
    now = utcnow()
    event = ProblemEvent(
        problem_id=problem.id or 0,
        action=action,
        from_status=problem.status,
        to_status=target,
        user_id=actor.id,
        note=note,
        at=now,
    )
    session.add(event)
    session.flush()
    assert event.id is not None
    if action == "rectify":
        if photo_data:
            media.store_photo(
                session,
                settings,
                photo_data,
                owner_kind=PROOF_KIND,
                owner_id=event.id,
                user_id=actor.id,
            )
        if photo_keys:
            media.attach(session, list(photo_keys), PROOF_KIND, event.id, user_id=actor.id)
        problem.rectified_at = now
    elif action == "verify":
        problem.verified_at = now
    elif action == "reopen":
        problem.rectified_at = None
        problem.reopen_count += 1
    elif action == "assign":
        problem.assigned_to = assignee_id or actor.id
    problem.status = target
    problem.updated_at = now
    session.add(problem)
    session.flush()
    return problem


def events_of(session: Session, problem_id: int) -> list[ProblemEvent]:
    """The transitions of a problem, oldest first."""
    return list(
        session.exec(
            select(ProblemEvent)
            .where(ProblemEvent.problem_id == problem_id)
            .order_by(col(ProblemEvent.at), col(ProblemEvent.id))
        )
    )


def problems_in_scope(
    session: Session,
    actor: Actor,
    *,
    status: str | None = None,
    street_code: str | None = None,
    overdue: bool = False,
    limit: int = 500,
) -> list[Problem]:
    """Problems an actor may see (officials: their streets; volunteers: from their findings)."""
    query = select(Problem).order_by(col(Problem.deadline), col(Problem.id))
    if actor.role == Role.VOLUNTEER.value:
        volunteer = volunteer_for_user(session, actor.id)
        query = (
            query.join(Finding, col(Finding.id) == col(Problem.finding_id))
            .join(Visit, col(Visit.id) == col(Finding.visit_id))
            .where(Visit.volunteer_id == volunteer.id)
        )
    else:
        _require_official(actor)
        scope = scope_of(session, actor)
        if scope is not None:
            query = query.where(col(Problem.street_code).in_(sorted(scope)))
    if street_code:
        _require_street_in_scope(session, actor, street_code)
        query = query.where(Problem.street_code == street_code)
    if status:
        if status not in {s.value for s in ProblemStatus}:
            raise ServiceError(N_("Unknown status %(status)s."), field="status", status=status)
        query = query.where(Problem.status == status)
    if overdue:
        query = query.where(
            col(Problem.status).not_in(list(DONE)), col(Problem.deadline) < utcnow()
        )
    return list(session.exec(query.limit(limit)))


# ---------------------------------------------------------------- rates for scoring


@dataclass(frozen=True)
class RateRow:
    """Rectification figures of one street for a period.

    ``total``: problems opened in the period; ``rectified``: of them, those rectified (awaiting
    verification or verified); ``verified``; ``overdue``: not rectified and past the deadline;
    ``due``: rectified or past the deadline (their outcome is known); ``on_time``: rectified no
    later than the deadline. ``rate`` = rectified / total; ``on_time_rate`` = on_time / due
    (fractions 0–1, None without a denominator).
    """

    street_code: str
    total: int
    rectified: int
    verified: int
    overdue: int
    due: int
    on_time: int
    rate: float | None
    on_time_rate: float | None


CITY_TZ: str = Settings.model_fields["timezone"].default
"""The city's time zone when the caller names none (the ``timezone`` setting's default)."""


def _bounds(period_start: date, period_end: date, tz: str | None) -> tuple[datetime, datetime]:
    """[first day 00:00, day after the last day 00:00) in the city's local time."""
    zone = ZoneInfo(tz or CITY_TZ)
    start = datetime.combine(period_start, time.min, tzinfo=zone)
    end = datetime.combine(period_end + timedelta(days=1), time.min, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def rectification_rates(
    session: Session,
    period_start: date,
    period_end: date,
    street_codes: Iterable[str] | None = None,
    *,
    now: datetime | None = None,
    tz: str | None = None,
) -> dict[str, RateRow]:
    """Rectification rate and on-time rate per street for problems opened in the period.

    The period is [period_start, period_end] in whole days of the city's time zone ``tz``
    (default: the ``timezone`` setting's default, Asia/Shanghai). Used by the scoring domain
    (components ``rectification_rate`` and ``rectification_on_time``: it reads ``rate`` and
    ``on_time_rate``, fractions, and scales them to 0–100). Streets without problems in the
    period are absent unless named in ``street_codes`` (then with zero counts and None rates).
    """
    start, end = _bounds(period_start, period_end, tz)
    query = select(
        Problem.street_code, Problem.status, Problem.rectified_at, Problem.deadline
    ).where(Problem.created_at >= start, Problem.created_at < end)
    wanted = set(street_codes) if street_codes is not None else None
    if wanted is not None:
        query = query.where(col(Problem.street_code).in_(sorted(wanted)))
    now = now or utcnow()
    acc: dict[str, list[int]] = {c: [0, 0, 0, 0, 0, 0] for c in (wanted or ())}
    for street_code, status, rectified_at, deadline in session.exec(query):
        a = acc.setdefault(street_code, [0, 0, 0, 0, 0, 0])
        a[0] += 1
        if status in DONE and rectified_at is not None:
            a[1] += 1
            a[4] += 1
            if rectified_at <= deadline:
                a[5] += 1
        elif now > deadline:
            a[3] += 1
            a[4] += 1
        if status == ProblemStatus.VERIFIED.value:
            a[2] += 1
    return {
        code: RateRow(
            street_code=code,
            total=a[0],
            rectified=a[1],
            verified=a[2],
            overdue=a[3],
            due=a[4],
            on_time=a[5],
            rate=a[1] / a[0] if a[0] else None,
            on_time_rate=a[5] / a[4] if a[4] else None,
        )
        for code, a in sorted(acc.items())
    }


def inspection_scores(
    session: Session, period_start: date, period_end: date, tz: str | None = None
) -> dict[str, float]:
    """Mean checklist score (0–100) of the visits submitted in the period, per street.

    Used by the scoring domain's ``inspection`` component.
    """
    start, end = _bounds(period_start, period_end, tz)
    rows = session.exec(
        select(Visit.street_code, Visit.score).where(
            Visit.status == "submitted",
            col(Visit.submitted_at) >= start,
            col(Visit.submitted_at) < end,
            col(Visit.score).is_not(None),
        )
    ).all()
    sums: dict[str, list[float]] = {}
    for code, score in rows:
        if code is None or score is None:
            continue
        s = sums.setdefault(code, [0.0, 0.0])
        s[0] += float(score)
        s[1] += 1
    return {code: round(s[0] / s[1], 2) for code, s in sorted(sums.items())}


# ---------------------------------------------------------------- photo access


def _finding_photo_visible(session: Session, user: Any, photo: Photo) -> bool:
    if user is None or photo.owner_id is None:
        return False
    finding = session.get(Finding, photo.owner_id)
    if finding is None:
        return False
    visit = session.get(Visit, finding.visit_id)
    if visit is None:
        return False
    if user.role == Role.VOLUNTEER.value:
        volunteer = session.get(Volunteer, visit.volunteer_id)
        return volunteer is not None and volunteer.user_id == user.id
    if user.role == Role.OFFICIAL.value and visit.status == "submitted" and visit.street_code:
        scope = streets_in_scope(session, user.unit_code, user.role)
        return scope is None or visit.street_code in scope
    return False


def _proof_photo_visible(session: Session, user: Any, photo: Photo) -> bool:
    if user is None or photo.owner_id is None:
        return False
    event = session.get(ProblemEvent, photo.owner_id)
    problem = session.get(Problem, event.problem_id) if event else None
    if problem is None:
        return False
    if user.role == Role.VOLUNTEER.value:
        return problem_volunteer_user(session, problem) == user.id
    if user.role == Role.OFFICIAL.value:
        scope = streets_in_scope(session, user.unit_code, user.role)
        return scope is None or problem.street_code in scope
    return False


media.register_access(FINDING_KIND, _finding_photo_visible)
media.register_access(PROOF_KIND, _proof_photo_visible)


def finding_photos(session: Session, finding_ids: Sequence[int]) -> dict[int, list[Photo]]:
    """Photos per finding."""
    return media.photos_of_many(session, FINDING_KIND, list(finding_ids))


def proof_photos(session: Session, event_ids: Sequence[int]) -> dict[int, list[Photo]]:
    """Proof photos per problem event."""
    return media.photos_of_many(session, PROOF_KIND, list(event_ids))
