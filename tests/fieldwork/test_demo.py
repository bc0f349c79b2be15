"""The fieldwork demo: a wave in the field with activity, or a graceful skip."""

from __future__ import annotations

import numpy as np
from sqlmodel import Session, func, select

from participation.demo import DemoContext
from participation.fieldwork import demo, service
from participation.fieldwork.models import CallAttempt
from participation.surveys.models import Response, SampleCase, Wave
from tests.fieldwork.conftest import add_units, make_field


def _ctx(settings, messages: list[str]) -> DemoContext:
    return DemoContext(rng=np.random.default_rng(7), settings=settings, echo=messages.append)


def test_demo_skips_without_a_questionnaire(session: Session, settings) -> None:
    add_units(session)
    messages: list[str] = []
    demo.build_demo(session, _ctx(settings, messages))
    assert "skipped" in messages[0]
    assert session.exec(select(func.count()).select_from(Wave)).one() == 0


def test_demo_builds_a_wave_with_activity(session: Session, settings) -> None:
    make_field(session, settings, per_street=1)  # the questionnaire and streets
    messages: list[str] = []
    ctx = _ctx(settings, messages)
    demo.build_demo(session, ctx)
    session.commit()
    wave = session.exec(select(Wave).where(Wave.name.startswith("2027年1"))).one()
    assert wave.status == "fielding" and wave.period_start.month == 1
    cases = session.exec(select(func.count()).where(SampleCase.wave_id == wave.id)).one()
    assert cases == 4 * demo.CASES_PER_STREET
    assert session.exec(select(func.count()).where(CallAttempt.wave_id == wave.id)).one() > 0
    assert len(ctx.accounts) == 3  # interviewer3..5
    rates = service.wave_rates(session, wave.id)
    assert rates.overall.counts.total == cases
    done = session.exec(select(Response).where(Response.wave_id == wave.id)).all()
    assert all(r.mode == "phone" and r.score is not None for r in done)
    assert "fieldwork:" in messages[-1]
