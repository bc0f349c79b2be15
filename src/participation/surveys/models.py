"""Tables of the surveys domain: questionnaires, waves, sample frames and cases, invitations,
responses and a wave's computed results.

These tables are the contract other domains build on (fieldwork reads cases and writes
responses; scoring reads results). Personal data (phone numbers) is stored encrypted
(``phone_enc``) with a keyed hash (``phone_hash``) for look-up.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from participation.core.timeutil import utcnow


class WaveSource(StrEnum):
    """Who fielded a wave."""

    CITY = "city"
    PROVINCIAL = "provincial"
    THIRD_PARTY = "third_party"


class WaveStatus(StrEnum):
    """Life cycle of a wave: draft → fielding → closed → published."""

    DRAFT = "draft"
    FIELDING = "fielding"
    CLOSED = "closed"
    PUBLISHED = "published"


class Mode(StrEnum):
    """How a response was collected."""

    PHONE = "phone"
    WEB = "web"
    OPEN_LINK = "open_link"  # non-probability; excluded from official scores by default
    IMPORTED = "imported"


class FrameType(StrEnum):
    """Type of a telephone sample frame."""

    MOBILE = "mobile"
    LANDLINE = "landline"


class Questionnaire(SQLModel, table=True):
    """One version of a questionnaire; immutable (``locked``) once a wave uses it.

    ``definition`` holds the items, scales, dimensions and skip logic as JSON (see
    ``participation.surveys.questionnaire``).
    """

    __tablename__ = "questionnaire"
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, index=True)
    version: int = Field(default=1, ge=1)
    title_zh: str = Field(max_length=200)
    title_en: str = Field(default="", max_length=200)
    definition: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    locked: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class Wave(SQLModel, table=True):
    """One round of fieldwork (standard cadence: every two months)."""

    __tablename__ = "wave"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    source: str = Field(default=WaveSource.CITY.value, max_length=20, index=True)
    questionnaire_id: int | None = Field(default=None, foreign_key="questionnaire.id")
    period_start: date
    period_end: date
    field_start: date | None = None
    field_end: date | None = None
    modes: list[str] = Field(
        default_factory=lambda: ["phone"], sa_column=Column(JSON, nullable=False)
    )
    status: str = Field(default=WaveStatus.DRAFT.value, max_length=20, index=True)
    target_per_street: int = Field(default=50, ge=0)
    allocation: dict[str, Any] = Field(
        default_factory=dict,
        sa_column=Column(JSON, nullable=False),
        description="Sample allocation: method, parameters and n per street (and per frame)",
    )
    settings: dict[str, Any] = Field(
        default_factory=dict,
        sa_column=Column(JSON, nullable=False),
        description="Wave options (e.g. satisfied_at, include_open_link, exclude_recent_waves)",
    )
    created_at: datetime = Field(default_factory=utcnow)


class FrameNumber(SQLModel, table=True):
    """A telephone number of a street's sample frame (encrypted at rest)."""

    __tablename__ = "frame_number"
    __pii_retention__ = ("imported_at", ("phone_enc",))
    __table_args__ = (UniqueConstraint("street_code", "frame_type", "phone_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    street_code: str = Field(foreign_key="unit.code", max_length=12, index=True)
    frame_type: str = Field(default=FrameType.MOBILE.value, max_length=10)
    phone_enc: str | None = Field(default=None, max_length=300)
    phone_hash: str = Field(max_length=64, index=True)
    do_not_call: bool = False
    imported_at: datetime = Field(default_factory=utcnow)


class SampleCase(SQLModel, table=True):
    """A selected sample unit of a wave (a phone number for CATI, an invitee for web)."""

    __tablename__ = "sample_case"
    __pii_retention__ = ("created_at", ("phone_enc",))

    id: int | None = Field(default=None, primary_key=True)
    wave_id: int = Field(foreign_key="wave.id", index=True)
    street_code: str = Field(foreign_key="unit.code", max_length=12, index=True)
    frame_number_id: int | None = Field(default=None, foreign_key="frame_number.id")
    frame_type: str = Field(default=FrameType.MOBILE.value, max_length=10)
    phone_enc: str | None = Field(default=None, max_length=300)
    phone_hash: str | None = Field(default=None, max_length=64, index=True)
    replicate: int = Field(default=1, ge=1, description="Release batch")
    released: bool = False
    selection_seed: int | None = None
    status: str = Field(
        default="new",
        max_length=20,
        index=True,
        description="new, in_progress, callback, complete, partial, refused, ineligible, "
        "exhausted, screened_out",
    )
    last_disposition: str | None = Field(default=None, max_length=8)
    attempts: int = 0
    next_call_at: datetime | None = Field(default=None, index=True)
    claimed_by: int | None = Field(default=None, foreign_key="user_account.id", index=True)
    claimed_until: datetime | None = None
    sex: str | None = Field(default=None, max_length=8)
    age_group: str | None = Field(default=None, max_length=8)
    created_at: datetime = Field(default_factory=utcnow)


class Invitation(SQLModel, table=True):
    """A web-survey invitation: a single-use token (stored hashed) for one resident."""

    __tablename__ = "invitation"

    id: int | None = Field(default=None, primary_key=True)
    wave_id: int = Field(foreign_key="wave.id", index=True)
    street_code: str = Field(foreign_key="unit.code", max_length=12, index=True)
    case_id: int | None = Field(default=None, foreign_key="sample_case.id")
    token_hash: str = Field(max_length=64, unique=True, index=True)
    status: str = Field(default="sent", max_length=20, description="sent, started, completed")
    partial_answers: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    locale: str = Field(default="zh_CN", max_length=8)
    created_at: datetime = Field(default_factory=utcnow)
    completed_at: datetime | None = None


class Response(SQLModel, table=True):
    """A completed (or partial) interview. ``invitation_id`` and ``case_id`` are unique, so a
    token or a case yields at most one response."""

    __tablename__ = "response"

    id: int | None = Field(default=None, primary_key=True)
    wave_id: int = Field(foreign_key="wave.id", index=True)
    street_code: str = Field(foreign_key="unit.code", max_length=12, index=True)
    mode: str = Field(max_length=12, index=True)
    invitation_id: int | None = Field(default=None, foreign_key="invitation.id", unique=True)
    case_id: int | None = Field(default=None, foreign_key="sample_case.id", unique=True)
    interviewer_id: int | None = Field(default=None, foreign_key="user_account.id", index=True)
    answers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    complete: bool = True
    sex: str | None = Field(default=None, max_length=8)
    age_group: str | None = Field(default=None, max_length=8)
    frame_type: str | None = Field(default=None, max_length=10)
    base_weight: float | None = None
    score: float | None = Field(default=None, description="Respondent's 0–100 score")
    satisfied: bool | None = None
    started_at: datetime | None = None
    completed_at: datetime = Field(default_factory=utcnow, index=True)
    duration_seconds: float | None = None


class WaveResult(SQLModel, table=True):
    """A wave's estimate for one unit (street, county or city), with its method recorded."""

    __tablename__ = "wave_result"
    __table_args__ = (UniqueConstraint("wave_id", "unit_code"),)

    id: int | None = Field(default=None, primary_key=True)
    wave_id: int = Field(foreign_key="wave.id", index=True)
    unit_code: str = Field(foreign_key="unit.code", max_length=12, index=True)
    level: str = Field(max_length=16)
    n: int = 0
    mean: float | None = None
    se: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_satisfied: float | None = None
    p_se: float | None = None
    p_ci_low: float | None = None
    p_ci_high: float | None = None
    dimensions: dict[str, Any] = Field(
        default_factory=dict,
        sa_column=Column(JSON, nullable=False),
        description="Dimension index → {mean, se}",
    )
    method: str = Field(default="", max_length=200)
    model_based: bool = False
    computed_at: datetime = Field(default_factory=utcnow)


class OutboxMessage(SQLModel, table=True):
    """A message queued for a resident (SMS invitation), kept by the recording sender.

    The recipient is stored encrypted with a keyed hash; ``body`` holds the text sent.
    """

    __tablename__ = "outbox_message"

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(default="sms", max_length=12)
    wave_id: int | None = Field(default=None, foreign_key="wave.id", index=True)
    invitation_id: int | None = Field(default=None, foreign_key="invitation.id", index=True)
    to_enc: str = Field(max_length=300)
    to_hash: str = Field(max_length=64, index=True)
    body: str = Field(max_length=1000)
    status: str = Field(default="queued", max_length=12, description="queued, sent, failed")
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None


class DoNotCall(SQLModel, table=True):
    """A telephone number (keyed hash only) that must never be selected or contacted."""

    __tablename__ = "do_not_call"

    phone_hash: str = Field(primary_key=True, max_length=64)
    reason: str = Field(default="", max_length=200)
    added_at: datetime = Field(default_factory=utcnow)
