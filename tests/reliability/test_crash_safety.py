"""Crash safety on PostgreSQL: a server killed with SIGKILL mid-load loses no acknowledged
web submission or report filing and duplicates none; ``participation backup`` / ``restore``
round-trip a dump."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session, col, func, select

from participation.accounts.models import User
from participation.accounts.roles import Role
from participation.db import make_engine
from participation.surveys.models import Invitation, Response
from participation.surveys.websurvey import hash_token
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


def _statuses(url: str, tokens: list[str]) -> dict[str, tuple[str, int]]:
    """(invitation status, responses stored) per token."""
    engine = make_engine(url)
    by_hash = {hash_token(t): t for t in tokens}
    with Session(engine) as s:
        rows = s.exec(
            select(Invitation.token_hash, Invitation.status, func.count(col(Response.id)))
            .join(Response, col(Response.invitation_id) == Invitation.id, isouter=True)
            .where(col(Invitation.token_hash).in_(list(by_hash)))
            .group_by(col(Invitation.token_hash), col(Invitation.status))
        ).all()
    engine.dispose()
    return {by_hash[h]: (status, int(n)) for h, status, n in rows}


def test_sigkill_mid_load_loses_no_acknowledged_submission(pg_database: str, servers: Any) -> None:
    fielded = seed.make_field(pg_database, servers.env)
    tokens = seed.invitations(pg_database, fielded, 600)
    seed.catalogue(pg_database)
    (server,) = servers(1, workers=2)
    acknowledged: set[str] = set()
    unknown: set[str] = set()
    refused: dict[str, int] = {}
    lock = threading.Lock()
    queue = list(reversed(tokens[:-20]))
    spare = tokens[-20:]  # never submitted before the crash

    def resident(k: int) -> None:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            page = client.get(f"/s/{spare[0]}")
            match = CSRF_FIELD.search(page.text)
            assert match
            while True:
                with lock:
                    if not queue:
                        return
                    token = queue.pop()
                try:
                    r = client.post(
                        f"/s/{token}/page",
                        data=fielded.submit_data(match.group(1)),
                        headers={"x-forwarded-for": f"10.0.{k}.1"},
                    )
                except httpx.HTTPError:
                    with lock:
                        unknown.add(token)
                    return  # the server is gone
                with lock:
                    if r.status_code == 303:
                        acknowledged.add(token)
                    else:
                        refused[token] = r.status_code

    filed: dict[int, str] = {}  # report id → tracking code, answered 201
    filings = {"sent": 0}

    def reporter(k: int) -> None:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            n = 0
            while True:
                n += 1
                body = {
                    "service_code": "exposed_garbage",
                    "lat": 35.0 + k * 0.01 + n * 0.0001,
                    "long": 118.3,
                    "description": "路边垃圾",
                    "phone": f"1380000{k:02d}{n:02d}"[:11],
                }
                with lock:
                    filings["sent"] += 1
                try:
                    r = client.post("/open311/v2/requests.json", json=body)
                except httpx.HTTPError:
                    return  # the server is gone
                with lock:
                    if r.status_code == 201:
                        answer = r.json()[0]
                        filed[int(answer["service_request_id"])] = answer["token"]
                    else:
                        refused[f"report {k}/{n}"] = r.status_code

    threads = [threading.Thread(target=resident, args=(k,)) for k in range(10)]
    threads += [threading.Thread(target=reporter, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with lock:
            if len(acknowledged) >= 120:
                break
        time.sleep(0.01)
    server.kill()  # SIGKILL to the whole process group, mid-load
    for t in threads:
        t.join(timeout=60)
    assert not refused, refused
    assert len(acknowledged) >= 120
    assert queue, "the load finished before the kill; nothing was interrupted"

    (restarted,) = servers(1, workers=2)
    state = _statuses(pg_database, tokens)
    # Every acknowledged submission is stored, exactly once.
    assert {t: state[t] for t in acknowledged} == {t: ("completed", 1) for t in acknowledged}
    # Nothing is duplicated or half-written: a token has one response iff it is completed.
    for token, (status, count) in state.items():
        assert count == (1 if status == "completed" else 0), (token, status, count)
    # In-flight submissions either committed or left nothing behind; untouched ones are intact.
    assert all(state[t][0] != "completed" for t in queue + spare)
    with httpx.Client(base_url=restarted.url, timeout=30) as client:
        page = client.get(f"/s/{spare[0]}")
        assert page.status_code == 200
        csrf = CSRF_FIELD.search(page.text)
        assert csrf
        data = fielded.submit_data(csrf.group(1))
        for token in sorted(acknowledged)[:10]:
            assert client.post(f"/s/{token}/page", data=data).status_code == 409
        # an interrupted token (outcome unknown to the resident) can be retried safely
        for token in sorted(unknown):
            code = client.post(f"/s/{token}/page", data=data).status_code
            assert code == (409 if state[token][0] == "completed" else 303), (token, code)
        for token in spare[:5]:
            assert client.post(f"/s/{token}/page", data=data).status_code == 303
    # Every acknowledged report is stored once and can be tracked by its code.
    from participation.reports.models import Report

    engine = make_engine(pg_database)
    with Session(engine) as s:
        stored_reports = set(s.exec(select(Report.id)).all())
    engine.dispose()
    assert filed and set(filed) <= stored_reports
    assert len(stored_reports) <= filings["sent"]
    with httpx.Client(base_url=restarted.url, timeout=30) as client:
        for code in sorted(filed.values())[:5]:
            assert client.get(f"/api/reports/track/{code}").status_code == 200
    final = _statuses(pg_database, tokens)
    stored = {t for t, (_, count) in final.items() if count == 1}
    assert all(count <= 1 for _, count in final.values())
    assert stored == acknowledged | unknown | set(spare[:5])


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "participation.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_postgresql_backup_and_restore_commands_round_trip(
    pg_database: str, servers: Any, tmp_path: Path
) -> None:
    env = servers.env
    fielded = seed.make_field(pg_database, env, cases=5)
    seed.users(pg_database, Role.ADMINISTRATOR, 1, "before")
    dump = tmp_path / "backup.dump"
    made = _cli(env, "backup", str(dump))
    assert made.returncode == 0, made.stderr + made.stdout
    assert dump.stat().st_size > 0
    seed.users(pg_database, Role.ADMINISTRATOR, 1, "after")
    tokens = seed.invitations(pg_database, fielded, 3)
    back = _cli(env, "restore", "--yes", str(dump))
    assert back.returncode == 0, back.stderr + back.stdout
    engine = make_engine(pg_database)
    with Session(engine) as s:
        assert set(s.exec(select(User.username))) == {"before0"}
        assert s.exec(select(func.count()).select_from(Invitation)).one() == 0
    engine.dispose()
    assert _statuses(pg_database, tokens) == {}
    # The restored database serves: the schema check passes and the encrypted numbers of the
    # restored cases still decrypt with the configured keys (a supervisor reads them masked).
    (server,) = servers(1)
    assert httpx.get(server.url + "/health", timeout=10).status_code == 200
    seed.users(pg_database, Role.SUPERVISOR, 1, "sup")
    sup = staff_client(server.url, "sup0", seed.PASSWORD)
    try:
        case = sup.get(f"/api/cati/cases/{fielded.case_ids[0]}")
    finally:
        sup.close()
    assert case.status_code == 200, case.text
    assert case.json()["phone_masked"].startswith("139")
