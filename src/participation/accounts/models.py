"""Tables of accounts: users and their login sessions."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from participation.core.timeutil import utcnow


class UserBase(SQLModel):
    """Fields shared by the user table and its public shape."""

    username: str = Field(max_length=64, unique=True, index=True)
    display_name: str = Field(default="", max_length=80)
    role: str = Field(max_length=32, index=True)
    unit_code: str | None = Field(
        default=None,
        foreign_key="unit.code",
        max_length=12,
        description="Scope of an official (street, county or city); the street of a volunteer.",
    )
    active: bool = True


class User(UserBase, table=True):
    """An account of staff or a registered volunteer."""

    __tablename__ = "user_account"

    id: int | None = Field(default=None, primary_key=True)
    password_hash: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow)


class UserPublic(UserBase):
    """A user as shown through the API (no password hash)."""

    id: int


class LoginSession(SQLModel, table=True):
    """A server-side login session; the cookie carries only a random id (stored hashed)."""

    __tablename__ = "login_session"

    id_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(index=True)
    client: str = Field(default="", max_length=80)


class LoginFailure(SQLModel, table=True):
    """A failed login, kept for throttling."""

    __tablename__ = "login_failure"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, index=True)
    at: datetime = Field(default_factory=utcnow, index=True)
