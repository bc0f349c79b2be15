"""Shared tables: the append-only audit log and rate-limit counters."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from participation.core.timeutil import utcnow


class AuditEntry(SQLModel, table=True):
    """One read or change of personal data, or another sensitive action (append-only)."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor_id: int | None = Field(default=None, index=True)
    actor_name: str = Field(default="", max_length=80)
    actor_role: str = Field(default="", max_length=40)
    action: str = Field(max_length=60, index=True)
    subject_type: str = Field(max_length=60)
    subject_id: str = Field(max_length=80)
    reason: str = Field(default="", max_length=200)
    client: str = Field(default="", max_length=80)


class RateCounter(SQLModel, table=True):
    """A fixed-window counter for rate limits (used when no Redis is configured)."""

    __tablename__ = "rate_counter"

    key: str = Field(primary_key=True, max_length=200)
    window_start: datetime
    count: int = 0
