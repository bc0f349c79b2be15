"""Accounts API and page for administrators."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import Template
from sqlmodel import col, select

from participation.accounts import service
from participation.accounts.models import User
from participation.accounts.roles import ROLE_LABELS, Role
from participation.accounts.schemas import AuditOut, UserCreate, UserOut, UserUpdate
from participation.core.deps import DB
from participation.core.errors import NotFoundError, ServiceError
from participation.core.i18n import N_
from participation.core.models import AuditEntry
from participation.core.web import admits, render
from participation.geography.models import Unit


def _out(user: User) -> UserOut:
    assert user.id is not None
    return UserOut(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        unit_code=user.unit_code,
        active=user.active,
    )


@get(
    "/api/users",
    opt=admits(Role.ADMINISTRATOR),
    tags=["accounts"],
    operation_id="listUsers",
    sync_to_thread=True,
)
def list_users(db: DB) -> list[UserOut]:
    """Every account, by username."""
    return [_out(u) for u in db.exec(select(User).order_by(User.username))]


@post(
    "/api/users",
    opt=admits(Role.ADMINISTRATOR),
    tags=["accounts"],
    operation_id="createUser",
    sync_to_thread=True,
)
def create_user(db: DB, data: JSONBody[UserCreate]) -> UserOut:
    """Create an account (officials need a unit: their scope)."""
    user = service.create_user(
        db,
        username=data.username,
        password=data.password,
        role=data.role,
        display_name=data.display_name,
        unit_code=data.unit_code,
    )
    db.commit()
    return _out(user)


@patch(
    "/api/users/{user_id:int}",
    opt=admits(Role.ADMINISTRATOR),
    tags=["accounts"],
    operation_id="updateUser",
    sync_to_thread=True,
)
def update_user(db: DB, user_id: FromPath[int], data: JSONBody[UserUpdate]) -> UserOut:
    """Activate or deactivate an account, rename it, or change an official's scope."""
    user = db.get(User, user_id)
    if user is None:
        raise NotFoundError(N_("User %(id)s does not exist."), field="user_id", id=user_id)
    if data.unit_code is not None and db.get(Unit, data.unit_code) is None:
        raise ServiceError(N_("Unknown unit %(code)s."), field="unit_code", code=data.unit_code)
    for name, value in data.model_dump(exclude_none=True).items():
        setattr(user, name, value)
    db.add(user)
    db.commit()
    return _out(user)


@get("/admin/users", opt=admits(Role.ADMINISTRATOR), include_in_schema=False, sync_to_thread=True)
def users_page(request: Request[Any, Any, Any], db: DB) -> Template:
    """Accounts and their roles and scopes."""
    users = list(db.exec(select(User).order_by(User.role, User.username)))
    units = {u.code: u.name for u in db.exec(select(Unit))}
    return render(request, "accounts/users.html", users=users, units=units, role_labels=ROLE_LABELS)


route_handlers: list[Any] = [list_users, create_user, update_user, users_page]


@get(
    "/api/audit",
    opt=admits(Role.ADMINISTRATOR),
    tags=["accounts"],
    operation_id="listAudit",
    sync_to_thread=True,
)
def list_audit(
    db: DB, action: FromQuery[str | None] = None, limit: FromQuery[int] = 200
) -> list[AuditOut]:
    """The newest entries of the append-only audit log (reads of personal data and more)."""
    query = select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(max(1, min(limit, 1000)))
    if action:
        query = query.where(AuditEntry.action == action)
    return [AuditOut.model_validate(e, from_attributes=True) for e in db.exec(query)]


@get("/admin/audit", opt=admits(Role.ADMINISTRATOR), include_in_schema=False, sync_to_thread=True)
def audit_page(request: Request[Any, Any, Any], db: DB) -> Template:
    """Who read which personal data, when and why."""
    entries = list(db.exec(select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(500)))
    return render(request, "accounts/audit.html", entries=entries)


route_handlers.extend([list_audit, audit_page])
