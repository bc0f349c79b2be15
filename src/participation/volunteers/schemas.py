"""Request and response shapes of the volunteers and problems API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class ApplicationIn(BaseModel):
    """A volunteer application (the applicant chooses their sign-in name and password)."""

    name: str = Field(max_length=80)
    phone: str = Field(max_length=20, description="Mobile number (stored encrypted)")
    street_code: str = Field(max_length=12, description="Street where the volunteer lives")
    username: str = Field(max_length=64)
    password: str = Field(max_length=200)
    note: str = Field(default="", max_length=400)


class DecisionIn(BaseModel):
    """Approve or reject a registration."""

    approve: bool


class DeactivateIn(BaseModel):
    """End a volunteer's service; ``confirm`` repeats their sign-in name (no wrong target)."""

    confirm: str = Field(max_length=64, description="The volunteer's sign-in name")


class TotalsOut(BaseModel):
    """Hours and points from submitted visits."""

    visits: int
    findings: int
    hours: float
    points: int


class VolunteerOut(BaseModel):
    """A volunteer as officials see it (phone masked)."""

    id: int
    name: str
    username: str
    phone_masked: str
    street_code: str
    street_name: str
    team_id: int | None
    status: str
    applied_at: datetime
    decided_at: datetime | None
    totals: TotalsOut


class TeamIn(BaseModel):
    """A new team."""

    name: str = Field(max_length=80)
    unit_code: str = Field(max_length=12)


class TeamOut(BaseModel):
    """A team."""

    id: int
    name: str
    unit_code: str


class TeamMemberIn(BaseModel):
    """Put a volunteer in a team (or none)."""

    team_id: int | None = None


class AssignmentIn(BaseModel):
    """An area and period for a volunteer or a team."""

    unit_code: str = Field(max_length=12)
    period_start: date
    period_end: date
    volunteer_id: int | None = None
    team_id: int | None = None
    standard_id: int | None = None
    note: str = Field(default="", max_length=400)


class AssignmentOut(BaseModel):
    """An assignment."""

    id: int
    unit_code: str
    unit_name: str
    period_start: date
    period_end: date
    volunteer_id: int | None
    team_id: int | None
    standard_id: int | None
    note: str


class ChecklistItem(BaseModel):
    """One item of an inspection standard."""

    code: str = Field(max_length=32)
    text: str = Field(max_length=200)
    points: int = Field(ge=1, le=100)
    category: str = Field(max_length=32)


class StandardIn(BaseModel):
    """A new inspection standard."""

    name: str = Field(max_length=120)
    description: str = Field(default="", max_length=1000)
    items: list[ChecklistItem]


class StandardOut(BaseModel):
    """An inspection standard with its checklist."""

    id: int
    name: str
    description: str
    items: list[ChecklistItem]
    active: bool


class CategoryIn(BaseModel):
    """A problem category and its rectification deadline."""

    name: str = Field(max_length=80)
    name_en: str = Field(default="", max_length=80)
    deadline_days: int = Field(ge=1, le=365)


class CategoryOut(BaseModel):
    """A problem category."""

    code: str
    name: str
    name_en: str
    deadline_days: int


class VisitStartIn(BaseModel):
    """Open a draft visit (the standard defaults to the assignment's, else the first one)."""

    standard_id: int | None = None
    assignment_id: int | None = None


class VisitUpdateIn(BaseModel):
    """Changes to a draft visit; omitted fields stay as they are."""

    started_at: datetime | None = Field(
        default=None, description="When the visit started (with its time zone)"
    )
    lat: float | None = None
    lon: float | None = None
    location_source: str | None = Field(default=None, description="gps or pin")
    street_code: str | None = Field(default=None, description="Used when no boundary matches")
    address: str | None = Field(default=None, max_length=200)
    notes: str | None = Field(default=None, max_length=2000)
    results: dict[str, str] | None = Field(
        default=None, description="Checklist item code → pass, fail or na ('' clears)"
    )


class PhotoRef(BaseModel):
    """A photo and where to fetch it."""

    key: str
    url: str
    width: int
    height: int


class FindingIn(BaseModel):
    """A finding: category (or the checklist item's), description, uploaded photo keys."""

    description: str = Field(max_length=1000)
    category: str = Field(default="", max_length=32)
    item_code: str = Field(default="", max_length=32)
    photos: list[str] = Field(default_factory=list, description="Keys from POST /api/media/photos")
    lat: float | None = None
    lon: float | None = None


class FindingOut(BaseModel):
    """A finding of a visit."""

    id: int
    item_code: str
    category: str
    description: str
    lat: float | None
    lon: float | None
    photos: list[PhotoRef]
    problem_id: int | None = None


class VisitOut(BaseModel):
    """A visit with its checklist results and findings."""

    id: int
    volunteer_id: int
    assignment_id: int | None
    standard_id: int
    status: str
    started_at: datetime
    ended_at: datetime | None
    lat: float | None
    lon: float | None
    location_source: str
    street_code: str | None
    street_source: str
    address: str
    notes: str
    results: dict[str, str]
    score: float | None
    hours: float
    points: int
    submitted_at: datetime | None
    findings: list[FindingOut]


class MeOut(BaseModel):
    """The signed-in volunteer: registration, totals, current assignments."""

    volunteer: VolunteerOut
    assignments: list[AssignmentOut]


class EventOut(BaseModel):
    """A transition of a problem."""

    action: str
    from_status: str
    to_status: str
    user_id: int | None
    user_name: str
    note: str
    at: datetime
    photos: list[PhotoRef]


class ProblemOut(BaseModel):
    """A rectification case."""

    id: int
    category: str
    street_code: str
    street_name: str
    description: str
    lat: float | None
    lon: float | None
    status: str
    created_at: datetime
    deadline: datetime
    overdue: bool
    assigned_to: int | None
    rectified_at: datetime | None
    verified_at: datetime | None
    reopen_count: int
    finding_id: int | None
    photos: list[PhotoRef] = Field(default_factory=list, description="Photos of the finding")
    events: list[EventOut] = Field(default_factory=list)


class TransitionIn(BaseModel):
    """Move a problem: assign, rectify (needs a proof photo key), verify, reopen (needs a note)."""

    action: str = Field(description="assign, rectify, verify or reopen")
    note: str = Field(default="", max_length=1000)
    photos: list[str] = Field(default_factory=list, description="Proof photo keys (rectify)")
    assignee_id: int | None = Field(default=None, description="Official to assign (assign)")


class RateRowOut(BaseModel):
    """Rectification figures of a street for a period (rates are fractions 0–1)."""

    street_code: str
    street_name: str
    total: int
    rectified: int
    verified: int
    overdue: int
    due: int
    on_time: int
    rate: float | None
    on_time_rate: float | None
