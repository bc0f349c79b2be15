"""Account services: creating users, checking passwords, scopes of officials."""

from __future__ import annotations

import contextlib
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, col, delete, func, select

from participation.accounts.models import LoginFailure, LoginSession, User
from participation.accounts.roles import Role
from participation.core.errors import ServiceError
from participation.core.i18n import N_
from participation.core.timeutil import utcnow
from participation.geography.models import Level, Unit

_hasher = PasswordHasher()
# A hash to verify against when the user does not exist, so timing does not reveal usernames.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    """Argon2id hash of ``password``."""
    return _hasher.hash(password)


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: Role | str,
    display_name: str = "",
    unit_code: str | None = None,
) -> User:
    """Create an account; officials and volunteers need a unit (their scope)."""
    username = username.strip()
    unit_code = (unit_code or "").strip() or None  # a blank unit is no unit
    if not username:
        raise ServiceError(N_("A username is required."), field="username")
    if len(password) < 8:
        raise ServiceError(N_("The password must have at least 8 characters."), field="password")
    try:
        role = Role(role)
    except ValueError as exc:
        raise ServiceError(N_("Unknown role %(role)s."), field="role", role=str(role)) from exc
    if role is Role.OFFICIAL and not unit_code:
        raise ServiceError(N_("An official needs a unit (their scope)."), field="unit_code")
    if unit_code and session.get(Unit, unit_code) is None:
        raise ServiceError(N_("Unknown unit %(code)s."), field="unit_code", code=unit_code)
    if session.exec(select(User).where(User.username == username)).first():
        raise ServiceError(
            N_("The username %(username)s is taken."), field="username", username=username
        )
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role.value,
        display_name=display_name or username,
        unit_code=unit_code,
    )
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with these credentials, or None."""
    user = session.exec(select(User).where(User.username == username.strip())).first()
    if user is None or not user.active:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password)
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.add(user)
    return user


def recent_failures(session: Session, key: str, minutes: int = 15) -> int:
    """Failed logins recorded for ``key`` in the last ``minutes``."""
    since = utcnow() - timedelta(minutes=minutes)
    return session.exec(
        select(func.count())
        .select_from(LoginFailure)
        .where(LoginFailure.key == key, col(LoginFailure.at) >= since)
    ).one()


def record_failure(session: Session, key: str) -> None:
    """Remember a failed login for throttling."""
    session.add(LoginFailure(key=key))


def clear_failures(session: Session, key: str) -> None:
    """Forget failed logins of ``key`` after a successful one."""
    session.exec(delete(LoginFailure).where(col(LoginFailure.key) == key))  # type: ignore[call-overload]


def end_session(session: Session, id_hash: str) -> None:
    """Delete a login session."""
    login = session.get(LoginSession, id_hash)
    if login is not None:
        session.delete(login)


def streets_in_scope(session: Session, unit_code: str | None, role: str) -> set[str] | None:
    """Street codes an official may see; None means every unit (city scope or a city-wide role)."""
    if role != Role.OFFICIAL.value:
        return None
    if unit_code is None:
        return set()
    unit = session.get(Unit, unit_code)
    if unit is None:
        return set()
    if unit.level in (Level.CITY.value, Level.PROVINCE.value):
        return None
    if unit.level == Level.STREET.value:
        return {unit.code}
    if unit.level == Level.COUNTY.value:
        rows = session.exec(
            select(Unit.code).where(Unit.parent_code == unit.code, Unit.level == Level.STREET.value)
        ).all()
        return set(rows)
    parent = unit.parent_code
    return {parent} if parent else set()


def units_in_scope(session: Session, unit_code: str | None, role: str) -> set[str] | None:
    """Unit codes (streets, their county, communities) an official may see; None: everything."""
    streets = streets_in_scope(session, unit_code, role)
    if streets is None:
        return None
    codes = set(streets)
    if unit_code:
        codes.add(unit_code)
    if streets:
        communities = session.exec(
            select(Unit.code).where(col(Unit.parent_code).in_(sorted(streets)))
        ).all()
        codes.update(communities)
    return codes
