"""Request and response shapes of the fieldwork API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class DispositionOut(BaseModel):
    """An AAPOR disposition code."""

    code: str
    category: str = Field(description="I, P, R, NC, O, UH, UO or NE")
    label_zh: str
    label_en: str
    effect: str = Field(description="final, retry or resume")
    selectable: bool


class AttemptOut(BaseModel):
    """A call attempt."""

    attempt_number: int
    interviewer_id: int | None
    started_at: datetime
    ended_at: datetime
    duration_seconds: float
    disposition: str
    callback_at: datetime | None = None
    notes: str = ""


class CaseOut(BaseModel):
    """A sample case as the console sees it. ``phone`` is the plain number, given only to the
    interviewer holding the case (and audited); everyone else gets the masked number."""

    id: int
    wave_id: int
    street_code: str
    street_name: str = ""
    status: str
    attempts: int
    last_disposition: str | None = None
    next_call_at: datetime | None = None
    claimed_by: int | None = None
    claimed_until: datetime | None = None
    phone_masked: str
    phone: str | None = None
    dial_href: str | None = None
    answers: dict[str, Any] = Field(default_factory=dict)
    history: list[AttemptOut] = Field(default_factory=list)


class NextCaseOut(BaseModel):
    """The answer to "next case": a case, or none with the reason."""

    case: CaseOut | None = None
    message: str = ""


class OutcomeIn(BaseModel):
    """The outcome of a call."""

    disposition: str = Field(max_length=8, description="AAPOR code, e.g. 3.13")
    notes: str = Field(default="", max_length=1000)
    callback_at: datetime | None = Field(
        default=None, description="Appointment (aware, or local time of the city when naive)"
    )
    do_not_call: bool = False


class AttemptResult(BaseModel):
    """The recorded attempt and the case's new state."""

    attempt: AttemptOut
    status: str
    next_call_at: datetime | None = None


class AnswersIn(BaseModel):
    """Answers given so far (merged into the saved ones); ``complete`` ends the interview."""

    answers: dict[str, Any] = Field(default_factory=dict)
    complete: bool = False


class InterviewOut(BaseModel):
    """What happened to the answers."""

    answers: dict[str, Any]
    errors: dict[str, str]
    visible: list[str]
    completed: bool
    screened_out: bool
    quota_full: bool
    response_id: int | None = None


class WaveOut(BaseModel):
    """A wave in (or after) the field."""

    id: int
    name: str
    status: str
    target_per_street: int
    cases: int
    completes: int


class StreetProgressOut(BaseModel):
    """Progress of one street."""

    street_code: str
    name: str
    target: int
    completes: int
    partials: int
    cases: int
    open_cases: int
    held: int
    attempts: int
    share: float


class RateRowOut(BaseModel):
    """Counts by category and the AAPOR rates of one group."""

    key: str
    label: str
    counts: dict[str, int]
    rates: dict[str, float | None]


class RatesOut(BaseModel):
    """A wave's AAPOR rates; ``e`` estimated by proportional allocation."""

    wave_id: int
    e: float
    overall: RateRowOut
    streets: list[RateRowOut]
    interviewers: list[RateRowOut]


class ProductivityOut(BaseModel):
    """An interviewer's productivity in a wave."""

    interviewer_id: int
    name: str
    attempts: int
    completes: int
    hours: float
    completes_per_hour: float | None
    mean_interview_minutes: float | None


class QualityFlagOut(BaseModel):
    """A quality flag: ``short`` interview, ``straightline`` answers, ``interviewer`` effect."""

    kind: str
    response_id: int | None
    interviewer_id: int | None
    detail: str
    value: float | None
