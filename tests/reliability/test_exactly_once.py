"""Exactly-once across two server processes behind one PostgreSQL database.

(a) a web-survey token yields one response, however many devices submit it at once through
either process; (b) CATI "next case" never hands one case to two interviewers and hands out every
case while interviewers are waiting.
"""

from __future__ import annotations

import os
import re
import threading
from collections import Counter
from typing import Any

import httpx
import pytest
from sqlmodel import Session, col, select

from participation.accounts.roles import Role
from participation.db import make_engine
from participation.surveys.models import Invitation, SampleCase
from tests.reliability import seed
from tests.reliability.support import staff_client

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get("PARTICIPATION_TEST_DATABASE_URL"),
        reason="needs PostgreSQL: set PARTICIPATION_TEST_DATABASE_URL",
    ),
]

CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')


def _run(threads: list[threading.Thread]) -> None:
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a request hung"


def _survey_client(base: str, token: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=base, timeout=60)
    page = client.get(f"/s/{token}")
    assert page.status_code == 200, page.text[:500]
    match = CSRF_FIELD.search(page.text)
    assert match, "no CSRF field on the survey page"
    return client, match.group(1)


def test_one_token_submitted_concurrently_through_two_processes_stores_one_response(
    pg_database: str, servers: Any
) -> None:
    fielded = seed.make_field(pg_database, servers.env)
    tokens = seed.invitations(pg_database, fielded, 3)
    first, second = servers(2)
    per_token = 16
    outcomes: dict[str, list[tuple[int, str]]] = {t: [] for t in tokens}
    lock = threading.Lock()
    # Every device opens the survey first (its own cookies and CSRF token), then all submit
    # at the same moment, alternating between the two processes.
    devices = [
        (token, *_survey_client((first, second)[k % 2].url, token))
        for token in tokens
        for k in range(per_token)
    ]
    barrier = threading.Barrier(len(devices))

    def submit(token: str, client: httpx.Client, csrf: str) -> None:
        try:
            barrier.wait()
            r = client.post(f"/s/{token}/page", data=fielded.submit_data(csrf))
        finally:
            client.close()
        with lock:
            outcomes[token].append((r.status_code, r.headers.get("location", "")))

    _run([threading.Thread(target=submit, args=d) for d in devices])
    for token, results in outcomes.items():
        codes = Counter(code for code, _ in results)
        assert codes == {303: 1, 409: per_token - 1}, (token[:6], codes)
        assert next(loc for code, loc in results if code == 303).startswith(f"/s/{token}/thanks")
    assert seed.responses_per_token(pg_database, tokens) == {t: 1 for t in tokens}
    # The refusal is a polite page, and the used token stays used on both processes.
    for server in (first, second):
        with httpx.Client(base_url=server.url, timeout=30) as c:
            page = c.get(f"/s/{tokens[0]}")
            assert page.status_code == 200
            csrf = CSRF_FIELD.search(page.text)
            again = c.post(
                f"/s/{tokens[0]}/page",
                data=fielded.submit_data(csrf.group(1) if csrf else c.cookies["csrftoken"]),
            )
            assert again.status_code == 409
            assert "<html" in again.text.lower()
    engine = make_engine(pg_database)
    with Session(engine) as s:
        statuses = s.exec(select(Invitation.status)).all()
    engine.dispose()
    assert statuses == ["completed"] * 3


def _claim_round(clients: list[httpx.Client]) -> tuple[dict[int, list[int | None]], list[int]]:
    """Every client asks for its next case, all at once; case ids per client index, and any
    unexpected status codes."""
    got: dict[int, list[int | None]] = {i: [] for i in range(len(clients))}
    bad: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(clients))

    def claim(i: int) -> None:
        barrier.wait()
        r = clients[i].post("/api/cati/next")
        with lock:
            if r.status_code != 200:
                bad.append(r.status_code)
                return
            case = r.json().get("case")
            got[i].append(case["id"] if case else None)

    _run([threading.Thread(target=claim, args=(i,)) for i in range(len(clients))])
    return got, bad


def _held(url: str) -> dict[int, int]:
    engine = make_engine(url)
    with Session(engine) as s:
        rows = s.exec(
            select(SampleCase.id, SampleCase.claimed_by).where(
                col(SampleCase.claimed_by).is_not(None)
            )
        ).all()
    engine.dispose()
    return {int(cid): int(uid) for cid, uid in rows if cid is not None and uid is not None}


def test_concurrent_cati_claims_through_two_processes_hand_each_case_to_one_interviewer(
    pg_database: str, servers: Any
) -> None:
    fielded = seed.make_field(pg_database, servers.env, cases=24)
    names = seed.users(pg_database, Role.INTERVIEWER, 30, "cati")
    first, second = servers(2)
    clients = [
        staff_client((first, second)[k % 2].url, name, seed.PASSWORD)
        for k, name in enumerate(names)
    ]
    try:
        got, bad = _claim_round(clients)
        assert not bad, bad
        handed = [ids[0] for ids in got.values() if ids and ids[0] is not None]
        # 30 interviewers, 24 cases: every case handed out, none twice, six told to wait.
        assert sorted(handed) == sorted(fielded.case_ids)
        assert sum(1 for ids in got.values() if ids == [None]) == 6
        held = _held(pg_database)
        assert sorted(held) == sorted(fielded.case_ids)
        assert len(set(held.values())) == 24
        # Each interviewer with a case gets the same case again (from either process), even
        # when asking twice at once; nobody ends up holding two cases.
        barrier = threading.Barrier(len(clients) * 2)
        again: dict[int, list[int | None]] = {i: [] for i in range(len(clients))}
        lock = threading.Lock()

        def twice(i: int, other: str) -> None:
            barrier.wait()
            if other:
                r = httpx.post(
                    other + "/api/cati/next",
                    cookies=dict(clients[i].cookies),
                    headers={"x-csrftoken": clients[i].headers["x-csrftoken"]},
                    timeout=60,
                )
            else:
                r = clients[i].post("/api/cati/next")
            assert r.status_code == 200, r.text
            case = r.json().get("case")
            with lock:
                again[i].append(case["id"] if case else None)

        threads = []
        for i in range(len(clients)):
            other = (second, first)[i % 2].url
            threads += [
                threading.Thread(target=twice, args=(i, "")),
                threading.Thread(target=twice, args=(i, other)),
            ]
        _run(threads)
        for i, ids in got.items():
            assert again[i] == [ids[0], ids[0]], (i, ids, again[i])
        assert _held(pg_database) == held
    finally:
        for c in clients:
            c.close()


def test_interviewers_asking_twice_at_once_never_hold_two_cases(
    pg_database: str, servers: Any
) -> None:
    fielded = seed.make_field(pg_database, servers.env, cases=40)
    names = seed.users(pg_database, Role.INTERVIEWER, 10, "dbl")
    first, second = servers(2)
    clients = [staff_client(first.url, name, seed.PASSWORD) for name in names]
    try:
        barrier = threading.Barrier(len(clients) * 4)
        seen: dict[int, set[int | None]] = {i: set() for i in range(len(clients))}
        lock = threading.Lock()

        def claim(i: int, base: str) -> None:
            barrier.wait()
            r = httpx.post(
                base + "/api/cati/next",
                cookies=dict(clients[i].cookies),
                headers={"x-csrftoken": clients[i].headers["x-csrftoken"]},
                timeout=60,
            )
            assert r.status_code == 200, r.text
            case = r.json().get("case")
            with lock:
                seen[i].add(case["id"] if case else None)

        _run(
            [
                threading.Thread(target=claim, args=(i, base))
                for i in range(len(clients))
                for base in (first.url, second.url, first.url, second.url)
            ]
        )
        held = _held(pg_database)
        assert len(held) == len(clients), held
        for i, ids in seen.items():
            assert len(ids) == 1 and None not in ids, (i, ids)
        assert set(held) <= set(fielded.case_ids)
    finally:
        for c in clients:
            c.close()


def _post_all(
    clients: list[httpx.Client], path: str, json: dict[str, Any] | None = None
) -> list[tuple[int, dict[str, Any]]]:
    """Every client posts ``path`` at the same moment; (status, body) per client."""
    out: list[tuple[int, dict[str, Any]]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(clients))

    def post(c: httpx.Client) -> None:
        barrier.wait()
        r = c.post(path, json=json)
        with lock:
            out.append((r.status_code, r.json()))

    _run([threading.Thread(target=post, args=(c,)) for c in clients])
    return out


def _rewards(url: str) -> list[tuple[int, str, int, int | None]]:
    from participation.reports.models import Payout, Reward

    engine = make_engine(url)
    with Session(engine) as s:
        rows = s.exec(
            select(Reward.report_id, Reward.status, Reward.amount, Reward.second_by).order_by(
                col(Reward.report_id)
            )
        ).all()
        payouts = s.exec(select(Payout.reward_id)).all()
    engine.dispose()
    assert len(payouts) == len(set(payouts)), "a reward was paid twice"
    return [(int(a), str(b), int(c), d) for a, b, c, d in rows]


def test_reward_approvals_and_payments_are_exactly_once_across_two_processes(
    pg_database: str, servers: Any
) -> None:
    env = servers.env
    (minor, major), _ = seed.reports(
        pg_database, env, [("exposed_garbage", "minor"), ("illegal_construction", "major")]
    )
    names = seed.users(pg_database, Role.REWARD_OFFICER, 10, "rw")
    first, second = servers(2)
    officers = [
        staff_client((first, second)[k % 2].url, name, seed.PASSWORD)
        for k, name in enumerate(names)
    ]
    try:
        # Ten officers approve the same minor reward at once: one approval, nine conflicts.
        answers = _post_all(officers, f"/api/reports/{minor}/reward")
        assert sorted(code for code, _ in answers) == [200] + [409] * 9, answers
        # A major reward: the first officer approves, then the nine others all try to give
        # the second approval at once; exactly one of them completes it.
        r = officers[0].post(f"/api/reports/{major}/reward")
        assert r.status_code == 200 and r.json()["status"] == "awaiting_second", r.text
        answers = _post_all(officers[1:], f"/api/reports/{major}/reward")
        assert sorted(code for code, _ in answers) == [200] + [409] * 8, answers
        rewards = _rewards(pg_database)
        assert [(rid, status) for rid, status, _, _ in rewards] == [
            (minor, "approved"),
            (major, "approved"),
        ]
        seconder = next(body["second_by"] for code, body in answers if code == 200)
        assert rewards[1][3] == seconder
        # Everyone records the payment of each reward at once: one payout each.
        reward_ids = [
            officers[0].get(f"/api/reports/{rid}").json()["reward"]["id"] for rid in (minor, major)
        ]
        for reward_id in reward_ids:
            answers = _post_all(
                officers, f"/api/reports/rewards/{reward_id}/pay", {"reference": "bank"}
            )
            assert sorted(code for code, _ in answers) == [200] + [409] * 9, answers
        assert [status for _, status, _, _ in _rewards(pg_database)] == ["paid", "paid"]
    finally:
        for c in officers:
            c.close()


def test_monthly_cap_holds_when_one_residents_reports_are_approved_at_once(
    pg_database: str, servers: Any
) -> None:
    env = servers.env
    env["PARTICIPATION_REPORT_MONTHLY_CAP"] = "20"  # one minor reward (20 yuan) a month
    ids, _ = seed.reports(pg_database, env, [("exposed_garbage", "minor")] * 8)
    names = seed.users(pg_database, Role.REWARD_OFFICER, 8, "cap")
    first, second = servers(2)
    officers = [
        staff_client((first, second)[k % 2].url, name, seed.PASSWORD)
        for k, name in enumerate(names)
    ]
    try:
        out: list[int] = []
        lock = threading.Lock()
        barrier = threading.Barrier(len(ids))

        def approve(c: httpx.Client, report_id: int) -> None:
            barrier.wait()
            code = c.post(f"/api/reports/{report_id}/reward").status_code
            with lock:
                out.append(code)

        _run(
            [
                threading.Thread(target=approve, args=(c, rid))
                for c, rid in zip(officers, ids, strict=True)
            ]
        )
        assert sorted(out) == [200] + [409] * 7, out
        assert sum(amount for _, _, amount, _ in _rewards(pg_database)) == 20
    finally:
        for c in officers:
            c.close()
