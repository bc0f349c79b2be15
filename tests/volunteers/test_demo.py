"""The volunteers demo: volunteers, teams, a month of visits and problems in every state."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from sqlmodel import Session, func, select

from participation.accounts.roles import Role
from participation.demo import DemoContext
from participation.media.models import Photo
from participation.volunteers import demo, service
from participation.volunteers.models import Problem, Team, Visit, Volunteer


def test_demo_builds_a_month_of_supervision(linyi, session: Session, settings, make_user) -> None:
    make_user("lanshan", Role.OFFICIAL, "371302")
    make_user("yinqueshan", Role.OFFICIAL, "371302002")
    make_user("volunteer1", Role.VOLUNTEER, "371302002")
    messages: list[str] = []
    ctx = DemoContext(rng=np.random.default_rng(2026), settings=settings, echo=messages.append)
    demo.build_demo(session, ctx)
    session.commit()
    assert "volunteers:" in messages[-1]
    assert session.exec(select(func.count()).select_from(Team)).one() == 2
    statuses = set(session.exec(select(Volunteer.status)))
    assert {"active", "applied", "rejected"} <= statuses
    submitted = session.exec(select(func.count()).where(Visit.status == "submitted")).one()
    assert submitted >= demo.DAYS
    assert session.exec(select(func.count()).where(Visit.status == "draft")).one() == 1
    states = set(session.exec(select(Problem.status)))
    assert {"open", "assigned", "rectified", "verified", "reopened"} <= states, states
    problems = session.exec(select(Problem)).all()
    assert any(service.is_overdue(p) for p in problems)
    kinds = set(session.exec(select(Photo.owner_kind)))
    assert {"finding", "rectification"} <= kinds
    today = date.today()
    rates = service.rectification_rates(
        session, today - timedelta(days=40), today + timedelta(days=1)
    )
    assert rates and all(r.rate is not None for r in rates.values())
    assert any(v.points > 0 for v in session.exec(select(Visit)))
    assert len([a for a in ctx.accounts if a[2] == "volunteer"]) == 7
