"""Tables of the fieldwork domain: call attempts and the work in progress on a case.

The sample cases themselves (``sample_case``) and the interviews (``response``) belong to the
surveys domain; fieldwork adds one row per call attempt (with its AAPOR disposition code) and
one row per case holding the answers of an interview in progress (so partial interviews resume).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from participation.core.timeutil import utcnow


class CallAttempt(SQLModel, table=True):
    """One call to a sample case, with its outcome (an AAPOR disposition code)."""

    __tablename__ = "call_attempt"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="sample_case.id", index=True)
    wave_id: int = Field(foreign_key="wave.id", index=True)
    street_code: str = Field(max_length=12, index=True)
    interviewer_id: int | None = Field(default=None, foreign_key="user_account.id", index=True)
    attempt_number: int = Field(default=1, ge=1)
    started_at: datetime = Field(default_factory=utcnow)
    ended_at: datetime = Field(default_factory=utcnow, index=True)
    duration_seconds: float = 0.0
    disposition: str = Field(max_length=8, index=True)
    callback_at: datetime | None = None
    notes: str = Field(default="", max_length=1000)


class CaseWork(SQLModel, table=True):
    """The interview in progress on a case: answers kept between attempts (resume), and when
    the current attempt and the interview started."""

    __tablename__ = "case_work"

    case_id: int = Field(foreign_key="sample_case.id", primary_key=True)
    answers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    attempt_started_at: datetime | None = None
    interview_started_at: datetime | None = None
    interview_seconds: float = 0.0
    updated_at: datetime = Field(default_factory=utcnow)
