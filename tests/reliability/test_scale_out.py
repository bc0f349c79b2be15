"""Several app processes behind one PostgreSQL behave as one."""

import threading

import httpx
import pytest
from sqlmodel import Session

from participation.accounts.roles import Role
from participation.accounts.service import create_user
from participation.db import engine_for
from tests.reliability.support import staff_client

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_serve_with_two_workers_and_a_second_process_share_sessions(pg_database, servers):
    with Session(engine_for(pg_database)) as s:
        create_user(s, username="admin", password="admin-pass-1", role=Role.ADMINISTRATOR)
        s.commit()
    first, second = servers(2, workers=2)
    client = staff_client(first.url, "admin", "admin-pass-1")
    # The session made by one process is honoured by every worker of the other.
    cookies = dict(client.cookies)
    for _ in range(6):
        r = httpx.get(second.url + "/api/me", cookies=cookies, timeout=10)
        assert r.status_code == 200 and r.json()["username"] == "admin"


def test_rate_limit_is_shared_across_processes(pg_database, servers):
    env = servers.env
    env["PARTICIPATION_PUBLIC_RATE_LIMIT"] = "10"
    first, second = servers(2)
    codes: list[int] = []
    lock = threading.Lock()

    def hit(url: str) -> None:
        with httpx.Client(base_url=url, timeout=10) as c:
            c.get("/login")
            token = c.cookies.get("csrftoken") or ""
            for _ in range(4):
                code = c.post(
                    "/login",
                    data={"username": "x", "password": "y"},
                    headers={"x-csrftoken": token},
                ).status_code
                with lock:
                    codes.append(code)

    threads = [threading.Thread(target=hit, args=(u,)) for u in (first.url, second.url) * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(codes) == 16
    assert codes.count(429) == 6, codes
