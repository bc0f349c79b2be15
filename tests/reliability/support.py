"""Real server processes on loopback against a fresh PostgreSQL database (reliability tests).

Needs PostgreSQL: the server named by PARTICIPATION_TEST_DATABASE_URL (or, when unset, the local
one at 127.0.0.1:5432 if it answers). Tests are skipped with the reason when none is reachable.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlalchemy.engine import make_url

from participation.db import make_engine, upgrade

LOCAL_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def admin_url() -> str | None:
    """A PostgreSQL URL to create databases with, or None when no server answers."""
    url = os.environ.get("PARTICIPATION_TEST_DATABASE_URL") or LOCAL_PG
    try:
        engine = make_engine(url, poolclass=__import__("sqlalchemy").pool.NullPool)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception:
        return None
    return url


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for one test; dropped afterwards."""
    base = admin_url()
    if base is None:
        pytest.skip("PostgreSQL is not reachable (set PARTICIPATION_TEST_DATABASE_URL)")
    name = f"participation_rel_{uuid.uuid4().hex[:10]}"
    admin = make_engine(
        base, poolclass=__import__("sqlalchemy").pool.NullPool, isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    try:
        yield url
    finally:
        from participation.db import engine_for

        engine_for(url).dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerProcess:
    """A ``participation serve`` process."""

    url: str
    env: dict[str, str]
    workdir: Path
    port: int
    workers: int = 1
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self, timeout: float = 30) -> ServerProcess:
        """Start the server and wait until /health answers."""
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "participation.cli",
                "serve",
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
            ],
            env=self.env,
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
            stderr=open(self.workdir / f"server-{self.port}.log", "ab"),  # noqa: SIM115
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log = (self.workdir / f"server-{self.port}.log").read_text(errors="replace")
                raise RuntimeError(f"server exited early:\n{log[-3000:]}")
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not answer /health in time")

    def kill(self) -> None:
        """SIGKILL the server and all its workers (no clean shutdown)."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        """Stop the server gracefully."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def server_env(database_url: str, workdir: Path, **extra: str) -> dict[str, str]:
    """Environment of a server process: the database, shared keys and uploads."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARTICIPATION_")}
    env.update(
        PARTICIPATION_DATABASE_URL=database_url,
        PARTICIPATION_SECRET_KEY="reliability-secret-key-0123456789abcdef",
        PARTICIPATION_DATA_KEYS=Fernet.generate_key().decode(),
        PARTICIPATION_HASH_KEY="reliability-hash-key",
        PARTICIPATION_UPLOAD_DIR=str(workdir / "uploads"),
        PARTICIPATION_PUBLIC_RATE_LIMIT="1000000",
        **extra,
    )
    return env


@pytest.fixture
def servers(pg_database: str, tmp_path: Path) -> Iterator[Any]:
    """Factory: ``servers(n, workers=1)`` starts n server processes sharing ``pg_database``."""
    started: list[ServerProcess] = []
    env = server_env(pg_database, tmp_path)

    def _start(count: int = 2, workers: int = 1) -> list[ServerProcess]:
        procs = []
        for _ in range(count):
            port = free_port()
            proc = ServerProcess(f"http://127.0.0.1:{port}", env, tmp_path, port, workers)
            started.append(proc)
            procs.append(proc.start())
        return procs

    _start.env = env  # type: ignore[attr-defined]
    yield _start
    for proc in started:
        proc.stop()


def staff_client(base_url: str, username: str, password: str) -> httpx.Client:
    """An httpx client signed in through the login form (CSRF handled)."""
    client = httpx.Client(base_url=base_url, timeout=30, follow_redirects=False)
    client.get("/login")
    token = client.cookies.get("csrftoken")
    r = client.post(
        "/login",
        data={"username": username, "password": password, "next": "/"},
        headers={"x-csrftoken": token or ""},
    )
    assert r.status_code == 303, r.text
    client.headers["x-csrftoken"] = client.cookies.get("csrftoken") or ""
    return client
