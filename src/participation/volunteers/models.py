"""Tables of the volunteers domain: volunteers and teams, assignments, inspection standards,
visits with checklist results and findings, and the problems (整改 cases) findings become.

Photos of findings and rectification proofs are ``participation.media`` photos with
``owner_kind`` ``"finding"`` and ``"rectification"`` (owner: the finding id, the problem event
id).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from participation.core.i18n import N_
from participation.core.timeutil import utcnow


class VolunteerStatus(StrEnum):
    """Where a volunteer's registration stands."""

    APPLIED = "applied"
    ACTIVE = "active"
    REJECTED = "rejected"
    INACTIVE = "inactive"


class ProblemStatus(StrEnum):
    """The states of a problem case: open → assigned → rectified → verified, or reopened."""

    OPEN = "open"
    ASSIGNED = "assigned"
    RECTIFIED = "rectified"
    VERIFIED = "verified"
    REOPENED = "reopened"


STATUS_LABELS: dict[str, str] = {
    "applied": N_("applied"),
    "active": N_("active"),
    "rejected": N_("rejected"),
    "inactive": N_("inactive"),
    "draft": N_("draft"),
    "submitted": N_("submitted"),
    "open": N_("open"),
    "assigned": N_("assigned"),
    "rectified": N_("rectified"),
    "verified": N_("verified"),
    "reopened": N_("reopened"),
}


class Team(SQLModel, table=True):
    """A volunteer inspection group (市民检查团) working in one unit (street or county)."""

    __tablename__ = "volunteer_team"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80)
    unit_code: str = Field(foreign_key="unit.code", max_length=12, index=True)
    created_by: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow)


class Volunteer(SQLModel, table=True):
    """A registered (or applying) volunteer. Approval creates or activates the ``volunteer``
    account ``user_id``; the phone number is encrypted and looked up by its keyed hash."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int | None = Field(default=None, foreign_key="user_account.id", unique=True)
    username: str = Field(max_length=64, index=True)
    name: str = Field(max_length=80)
    phone_enc: str = Field(default="", max_length=500)
    phone_hash: str = Field(default="", max_length=64, index=True)
    street_code: str = Field(foreign_key="unit.code", max_length=12, index=True)
    team_id: int | None = Field(default=None, foreign_key="volunteer_team.id", index=True)
    status: str = Field(default=VolunteerStatus.APPLIED.value, max_length=12, index=True)
    password_hash: str = Field(
        default="", max_length=200, description="Chosen at application; moved to the account"
    )
    note: str = Field(default="", max_length=400)
    applied_at: datetime = Field(default_factory=utcnow)
    decided_at: datetime | None = None
    decided_by: int | None = Field(default=None, foreign_key="user_account.id")


class InspectionStandard(SQLModel, table=True):
    """A configurable checklist (检查标准): items with points and a problem category each.

    ``items``: ``[{"code": "G1", "text": "...", "points": 5, "category": "garbage"}, ...]``.
    """

    __tablename__ = "inspection_standard"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True)
    description: str = Field(default="", max_length=1000)
    items: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)


class ProblemCategory(SQLModel, table=True):
    """A category of problem with its rectification deadline in days (configurable)."""

    __tablename__ = "problem_category"

    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=80, description="Chinese name")
    name_en: str = Field(default="", max_length=80)
    deadline_days: int = Field(default=7, ge=1, le=365)
    sort_order: int = 0


class Assignment(SQLModel, table=True):
    """An area (unit) and period given to a volunteer or a team, with the standard to apply."""

    id: int | None = Field(default=None, primary_key=True)
    volunteer_id: int | None = Field(default=None, foreign_key="volunteer.id", index=True)
    team_id: int | None = Field(default=None, foreign_key="volunteer_team.id", index=True)
    unit_code: str = Field(foreign_key="unit.code", max_length=12, index=True)
    period_start: date
    period_end: date
    standard_id: int | None = Field(default=None, foreign_key="inspection_standard.id")
    note: str = Field(default="", max_length=400)
    created_by: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow)


class Visit(SQLModel, table=True):
    """A supervisory visit logged by a volunteer (editable by them until submitted).

    ``results`` maps checklist item codes to ``"pass"``, ``"fail"`` or ``"na"``; ``score`` is
    the share (0–100) of the applicable items' points that passed, set on submission together
    with ``hours`` and ``points``.
    """

    id: int | None = Field(default=None, primary_key=True)
    volunteer_id: int = Field(foreign_key="volunteer.id", index=True)
    assignment_id: int | None = Field(default=None, foreign_key="assignment.id")
    standard_id: int = Field(foreign_key="inspection_standard.id")
    status: str = Field(default="draft", max_length=12, index=True)
    started_at: datetime = Field(default_factory=utcnow)
    ended_at: datetime | None = None
    lat: float | None = None
    lon: float | None = None
    location_source: str = Field(default="", max_length=12, description="gps, pin or none")
    street_code: str | None = Field(default=None, foreign_key="unit.code", max_length=12)
    street_source: str = Field(default="", max_length=12, description="boundary or chosen")
    address: str = Field(default="", max_length=200)
    notes: str = Field(default="", max_length=2000)
    results: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    score: float | None = None
    hours: float = 0.0
    points: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    submitted_at: datetime | None = Field(default=None, index=True)


class Finding(SQLModel, table=True):
    """Something wrong seen on a visit; on submission it becomes a :class:`Problem`."""

    id: int | None = Field(default=None, primary_key=True)
    visit_id: int = Field(foreign_key="visit.id", index=True)
    item_code: str = Field(default="", max_length=32)
    category: str = Field(foreign_key="problem_category.code", max_length=32)
    description: str = Field(max_length=1000)
    lat: float | None = None
    lon: float | None = None
    created_at: datetime = Field(default_factory=utcnow)


class Problem(SQLModel, table=True):
    """A rectification case (整改) for the responsible street, with a deadline by category."""

    id: int | None = Field(default=None, primary_key=True)
    finding_id: int | None = Field(default=None, foreign_key="finding.id", unique=True)
    category: str = Field(foreign_key="problem_category.code", max_length=32, index=True)
    street_code: str = Field(foreign_key="unit.code", max_length=12, index=True)
    description: str = Field(max_length=1000)
    lat: float | None = None
    lon: float | None = None
    status: str = Field(default=ProblemStatus.OPEN.value, max_length=12, index=True)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    deadline: datetime = Field(index=True)
    assigned_to: int | None = Field(default=None, foreign_key="user_account.id")
    rectified_at: datetime | None = None
    verified_at: datetime | None = None
    reopen_count: int = 0
    updated_at: datetime = Field(default_factory=utcnow)


class ProblemEvent(SQLModel, table=True):
    """One transition of a problem: who moved it from which state to which, when, and why."""

    __tablename__ = "problem_event"

    id: int | None = Field(default=None, primary_key=True)
    problem_id: int = Field(foreign_key="problem.id", index=True)
    action: str = Field(max_length=16)
    from_status: str = Field(default="", max_length=12)
    to_status: str = Field(max_length=12)
    user_id: int | None = Field(default=None, foreign_key="user_account.id")
    note: str = Field(default="", max_length=1000)
    at: datetime = Field(default_factory=utcnow)
