"""Request and response shapes of the accounts API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from participation.accounts.roles import Role


class UserOut(BaseModel):
    """An account as administrators see it (never the password hash)."""

    id: int
    username: str
    display_name: str
    role: str
    unit_code: str | None = Field(default=None, description="Scope of an official")
    active: bool


class UserCreate(BaseModel):
    """A new account."""

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=8, max_length=200)
    role: Role
    display_name: str = Field(default="", max_length=80)
    unit_code: str | None = Field(default=None, max_length=12)


class UserUpdate(BaseModel):
    """Changes to an account (omitted fields stay as they are)."""

    active: bool | None = None
    display_name: str | None = Field(default=None, max_length=80)
    unit_code: str | None = Field(default=None, max_length=12)


class AuditOut(BaseModel):
    """One entry of the audit log."""

    id: int
    at: datetime
    actor_id: int | None
    actor_name: str
    actor_role: str
    action: str = Field(description="e.g. view_reporter_phone, view_case_phone, export_payouts")
    subject_type: str
    subject_id: str
    reason: str
    client: str
