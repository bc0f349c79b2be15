"""Fixtures of the volunteers tests: Linyi units, default categories and standard, an approved
volunteer in 银雀山街道 (371302002), and officials of that street, of Lanshan and of another
street — created through the services (never the demo)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlmodel import Session

from participation.accounts.roles import Role
from participation.core.web import CurrentUser
from participation.volunteers import service
from participation.volunteers.models import InspectionStandard, Volunteer
from tests.conftest import TEST_PASSWORD

STREET = "371302002"  # 银雀山街道, Lanshan
OTHER_STREET = "371302001"  # 兰山街道, Lanshan
FAR_STREET = "371311001"  # 罗庄街道, Luozhuang


def actor(user: Any) -> CurrentUser:
    """The web snapshot of a user row."""
    return CurrentUser(user.id, user.username, user.display_name, user.role, user.unit_code)


@dataclass
class World:
    volunteer: Volunteer
    volunteer_user: CurrentUser
    street_official: CurrentUser
    county_official: CurrentUser
    other_official: CurrentUser
    admin: CurrentUser
    standard: InspectionStandard


def add_volunteer(
    session: Session,
    settings: Any,
    approver: CurrentUser,
    username: str,
    phone: str,
    street: str = STREET,
) -> tuple[Volunteer, CurrentUser]:
    from participation.accounts.models import User

    session.commit()  # a fresh transaction: the app may have written since the last read
    v = service.apply(
        session,
        settings,
        name=f"志愿者 {username}",
        phone=phone,
        street_code=street,
        username=username,
        password=TEST_PASSWORD,
    )
    service.decide(session, approver, v.id, approve=True)
    session.commit()
    user = session.get(User, v.user_id)
    return v, actor(user)


@pytest.fixture
def world(linyi: None, session: Session, settings: Any, make_user: Any) -> World:
    service.ensure_defaults(session)
    session.commit()
    street_official = actor(make_user("yinqueshan", Role.OFFICIAL, STREET))
    county_official = actor(make_user("lanshan", Role.OFFICIAL, "371302"))
    other_official = actor(make_user("lanshanjd", Role.OFFICIAL, OTHER_STREET))
    admin = actor(make_user("admin", Role.ADMINISTRATOR))
    volunteer, volunteer_user = add_volunteer(
        session, settings, street_official, "vol1", "13800000001"
    )
    return World(
        volunteer=volunteer,
        volunteer_user=volunteer_user,
        street_official=street_official,
        county_official=county_official,
        other_official=other_official,
        admin=admin,
        standard=service.standards(session)[0],
    )
