"""Two officials move the same problem at once: exactly one transition is recorded."""

from __future__ import annotations

import threading
import time

from sqlmodel import Session, select

from participation.core.errors import ConflictError
from participation.db import engine_for
from participation.volunteers import service
from participation.volunteers.models import Problem, ProblemEvent
from tests.volunteers.test_service import submitted_problem


def test_concurrent_assignments_record_one_transition(session, settings, world, monkeypatch):
    problem = submitted_problem(session, settings, world)
    session.close()
    real_now = service.utcnow

    def slow_now():  # widen the window between reading the state and writing the new one
        time.sleep(0.3)
        return real_now()

    monkeypatch.setattr(service, "utcnow", slow_now)
    engine = engine_for(settings.database_url)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def move(actor) -> None:
        with Session(engine, expire_on_commit=False) as s:
            barrier.wait()
            try:
                service.transition(s, settings, actor, problem.id, "assign")
                s.commit()
                outcomes.append("moved")
            except ConflictError:
                s.rollback()
                outcomes.append("conflict")

    threads = [
        threading.Thread(target=move, args=(a,))
        for a in (world.street_official, world.county_official)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["conflict", "moved"]
    with Session(engine) as s:
        events = s.exec(
            select(ProblemEvent).where(
                ProblemEvent.problem_id == problem.id, ProblemEvent.action == "assign"
            )
        ).all()
    assert len(events) == 1


def test_double_submission_opens_problems_once(session, settings, world, monkeypatch):
    from tests.volunteers.test_service import logged_visit

    visit = logged_visit(session, settings, world)
    session.close()
    engine = engine_for(settings.database_url)
    real_open = service.open_problem

    def slow_open(*args, **kwargs):  # widen the window between the check and the inserts
        time.sleep(0.3)
        return real_open(*args, **kwargs)

    monkeypatch.setattr(service, "open_problem", slow_open)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def submit() -> None:
        with Session(engine, expire_on_commit=False) as s:
            barrier.wait()
            try:
                service.submit_visit(s, world.volunteer_user, visit.id)
                s.commit()
                outcomes.append("submitted")
            except ConflictError:
                s.rollback()
                outcomes.append("conflict")

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["conflict", "submitted"]
    with Session(engine) as s:
        assert len(s.exec(select(Problem)).all()) == 1
