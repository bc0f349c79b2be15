"""Reward approvals and payouts are exactly-once under concurrency: many reward officers
pressing "approve" (or "paid") at the same moment create one reward and one payout.

The unique constraints (one reward per report and per problem, one payout per reward) and the
row locks (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite takes the write lock at BEGIN) make
every other attempt a 409 conflict. Runs on SQLite and, when PARTICIPATION_TEST_DATABASE_URL is
set, on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlmodel import Session, select

from participation.accounts.models import User
from participation.core.errors import ServiceError
from participation.db import engine_for
from participation.reports import service
from participation.reports.models import Payout, Reward, RewardStatus
from tests.reports.conftest import PHONE, file

THREADS = 8


def _officers(session: Session, n: int) -> list[int]:
    users = [User(username=f"rw{i}", role="reward_officer", password_hash="x") for i in range(n)]
    official = User(username="verifier", role="official", password_hash="x", unit_code="3713")
    session.add_all([*users, official])
    session.commit()
    return [u.id for u in users if u.id is not None] + [official.id or 0]


def _race(url: str, n: int, act: Callable[[Session, int], object]) -> list[object]:
    """Run ``act(session, i)`` in ``n`` threads released together; commit each; collect
    "ok" or the status code of the service error."""
    engine = engine_for(url)
    barrier = threading.Barrier(n)
    results: list[object] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(i: int) -> None:
        try:
            with Session(engine, expire_on_commit=False) as s:
                barrier.wait()
                try:
                    act(s, i)
                    s.commit()
                    outcome: object = "ok"
                except ServiceError as exc:
                    s.rollback()
                    outcome = exc.status_code
            with lock:
                results.append(outcome)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    if errors:
        raise errors[0]
    return results


def test_concurrent_approvals_create_one_reward(session, settings, catalogue):
    ids = _officers(session, THREADS)
    officers, official = ids[:-1], ids[-1]
    report = file(session, settings, phone=PHONE)
    service.verify(session, report, official, "true", severity="serious")
    session.commit()
    results = _race(
        settings.database_url,
        THREADS,
        lambda s, i: service.approve_reward(s, settings, report.id, officers[i]),
    )
    assert sorted(results, key=str) == sorted(["ok"] + [409] * (THREADS - 1), key=str)
    session.rollback()
    session.expire_all()
    rewards = session.exec(select(Reward)).all()
    assert len(rewards) == 1 and rewards[0].amount == 50

    results = _race(
        settings.database_url,
        THREADS,
        lambda s, i: service.pay_reward(s, rewards[0].id, officers[i], reference=f"T{i}"),
    )
    assert results.count("ok") == 1 and results.count(409) == THREADS - 1
    session.rollback()
    session.expire_all()
    assert len(session.exec(select(Payout)).all()) == 1


def test_concurrent_second_approvals_of_a_major_reward(session, settings, catalogue):
    ids = _officers(session, THREADS + 1)
    officers, official = ids[:-1], ids[-1]
    report = file(session, settings, category_code="illegal_construction", phone=PHONE)
    service.verify(session, report, official, "true", severity="major")
    first = service.approve_reward(session, settings, report.id, officers[0])
    session.commit()
    assert first.status == RewardStatus.AWAITING_SECOND.value
    results = _race(
        settings.database_url,
        THREADS,
        lambda s, i: service.approve_reward(s, settings, report.id, officers[i + 1]),
    )
    assert results.count("ok") == 1 and results.count(409) == THREADS - 1
    session.rollback()
    session.expire_all()
    reward = session.exec(select(Reward)).one()
    assert reward.status == RewardStatus.APPROVED.value
    assert reward.second_by in officers[1:] and reward.second_by != reward.approved_by


def test_concurrent_approvals_of_two_reports_of_one_problem(session, settings, catalogue):
    """Two valid reports of the same problem approved at once by two officers: one reward."""
    ids = _officers(session, 2)
    officers, official = ids[:-1], ids[-1]
    officers = [officers[0], _officers_extra(session)]
    first = file(session, settings, phone=PHONE)
    second = file(session, settings, phone="13987654321", lat=first.lat + 0.0002)
    assert second.duplicate_of_id == first.id
    service.verify(session, first, official, "false")
    service.verify(session, second, official, "true", severity="minor")
    # The official then reconsiders the first report: both are now true.
    service.verify(session, first, official, "true", severity="minor")
    session.commit()
    targets = [first.id, second.id]
    results = _race(
        settings.database_url,
        2,
        lambda s, i: service.approve_reward(s, settings, targets[i], officers[i]),
    )
    assert results.count("ok") == 1
    session.rollback()
    session.expire_all()
    assert len(session.exec(select(Reward)).all()) == 1


def _officers_extra(session: Session) -> int:
    user = User(username="rw-extra", role="reward_officer", password_hash="x")
    session.add(user)
    session.commit()
    assert user.id is not None
    return user.id


def test_concurrent_rewards_of_one_reporter_respect_the_monthly_cap(session, settings, catalogue):
    capped = settings.model_copy(update={"report_monthly_cap": 60})
    ids = _officers(session, 4)
    officers, official = ids[:-1], ids[-1]
    reports = []
    for i, category in enumerate(("street_vending", "exposed_garbage", "broken_facility")):
        report = file(session, capped, category_code=category, phone=PHONE, lat=35.0 + i * 0.1)
        service.verify(session, report, official, "true", severity="serious")  # 50 yuan each
        reports.append(report.id)
    session.commit()
    results = _race(
        settings.database_url,
        3,
        lambda s, i: service.approve_reward(s, capped, reports[i], officers[i]),
    )
    session.rollback()
    session.expire_all()
    amounts = sorted(r.amount for r in session.exec(select(Reward)).all())
    assert amounts == [10, 50] and results.count("ok") == 2
