"""Many interviewers asking for their next case at once: every case goes to one of them."""

from __future__ import annotations

import multiprocessing
import threading
from datetime import UTC, datetime

import pytest
from sqlmodel import Session, col, select

from participation.accounts.models import User
from participation.db import engine_for, make_engine
from participation.fieldwork import service
from participation.surveys.models import SampleCase
from tests.conftest import PG_URL
from tests.fieldwork.conftest import make_field

TZ = "Asia/Shanghai"
MORNING = datetime(2027, 1, 11, 2, 0, tzinfo=UTC)


def _interviewers(session: Session, n: int, prefix: str = "cc") -> list[int]:
    users = [User(username=f"{prefix}{i}", role="interviewer", password_hash="x") for i in range(n)]
    session.add_all(users)
    session.commit()
    return [u.id for u in users if u.id is not None]


def _claim_all(url: str, ids: list[int]) -> list[int | None]:
    engine = engine_for(url)
    barrier = threading.Barrier(len(ids))
    results: dict[int, int | None] = {}
    errors: list[BaseException] = []

    def work(uid: int) -> None:
        try:
            barrier.wait()
            with Session(engine, expire_on_commit=False) as s:
                case = service.claim_next(s, uid, TZ, now=MORNING)
                s.commit()
                results[uid] = case.id if case else None
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(uid,)) for uid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    if errors:
        raise errors[0]
    return [results.get(uid) for uid in ids]


def test_forty_concurrent_claims_get_forty_distinct_cases(session: Session, settings) -> None:
    make_field(session, settings, per_street=15)  # 60 cases
    ids = _interviewers(session, 40)
    got = _claim_all(settings.database_url, ids)
    assert None not in got
    assert len(set(got)) == 40
    session.expire_all()
    held = session.exec(
        select(SampleCase.id, SampleCase.claimed_by).where(col(SampleCase.claimed_by).is_not(None))
    ).all()
    assert len(held) == 40
    assert {uid for _, uid in held} == set(ids)
    assert {cid for cid, _ in held} == set(got)


def test_claims_never_exceed_the_cases(session: Session, settings) -> None:
    make_field(session, settings, per_street=5)  # 20 cases for 30 interviewers
    ids = _interviewers(session, 30, "few")
    got = _claim_all(settings.database_url, ids)
    taken = [g for g in got if g is not None]
    assert len(taken) == 20 and len(set(taken)) == 20


def _process_claims(url: str, ids: list[int], queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    engine_for.cache_clear()
    queue.put(_claim_all(url, ids))


@pytest.mark.skipif(not PG_URL, reason="two processes share one PostgreSQL database")
def test_two_processes_sharing_postgresql(session: Session, settings) -> None:
    make_field(session, settings, per_street=15)
    ids = _interviewers(session, 40, "proc")
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [
        ctx.Process(target=_process_claims, args=(settings.database_url, half, queue))
        for half in (ids[:20], ids[20:])
    ]
    for p in procs:
        p.start()
    got = queue.get(timeout=120) + queue.get(timeout=120)
    for p in procs:
        p.join(timeout=60)
    assert None not in got and len(set(got)) == 40
    check = make_engine(settings.database_url)
    with Session(check) as s:
        held = s.exec(select(SampleCase.claimed_by).where(col(SampleCase.claimed_by).is_not(None)))
        assert sorted(held.all()) == sorted(ids)
    check.dispose()
