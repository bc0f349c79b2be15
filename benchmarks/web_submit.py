"""Benchmark: concurrent web-survey submissions over HTTP against a loopback server.

    .venv/bin/python benchmarks/web_submit.py [--database-url URL] [--submissions 3000]
        [--concurrency 64] [--workers 2] [--duplicates 0.1]

Steps: (re)create and migrate the PostgreSQL database, load the Linyi units, the standard
questionnaire, a fielding wave and N invitations whose earlier pages are already answered (as
when a resident reaches the last page); start ``participation serve --workers W``; then submit
the last page of every invitation concurrently (keep-alive HTTP/1.1 connections on asyncio, a
client lean enough not to take the server's CPU), plus a share of duplicate
submits of used tokens (expected: 409, nothing stored). Residents come from distinct addresses
(``X-Forwarded-For``), as behind the city's proxy, so the per-client rate limit does not apply.

Prints throughput (completed submissions per second), p50/p99 latency, the CPU time per request
of the server and of PostgreSQL (Linux; PostgreSQL's counts every session on the machine) with
the load average (the machine may be shared), and checks that every token yielded exactly one
response (no lost or duplicated response).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from cryptography.fernet import Fernet
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, func, select

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_web"


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare_database(url: str) -> None:
    """Create the database if needed, empty it and run the migrations."""
    from participation.db import make_engine, upgrade

    parsed = make_url(url)
    admin = make_engine(parsed.set(database="postgres").render_as_string(hide_password=False))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}
        ).first()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    upgrade(url)


def seed(url: str, count: int) -> tuple[list[str], int, dict[str, Any]]:
    """Units, questionnaire, a fielding wave and ``count`` invitations; the raw tokens, the
    last page index and the last page's answers."""
    import secrets

    from participation.db import make_engine
    from participation.demo import linyi_files
    from participation.geography.service import import_units
    from participation.surveys.models import Invitation
    from participation.surveys.service import (
        WaveInput,
        create_questionnaire,
        create_wave,
        form_of,
        transition_wave,
    )
    from participation.surveys.standard import example_answers, standard_definition
    from participation.surveys.websurvey import hash_token, pages_of

    engine = make_engine(url)
    answers = example_answers(
        years_lived="8", parking_order="2", road_condition="1", drainage="2", age_group="45-59"
    )
    with Session(engine) as session:
        for _, data in linyi_files():
            import_units(session, data)
        from participation.geography.models import Level, Unit

        streets = list(session.exec(select(Unit.code).where(Unit.level == Level.STREET.value)))
        questionnaire = create_questionnaire(session, standard_definition())
        from datetime import date

        wave = create_wave(
            session,
            WaveInput(
                name="benchmark",
                questionnaire_id=questionnaire.id,
                period_start=date(2026, 1, 1),
                period_end=date(2026, 2, 28),
                modes=("web",),
            ),
        )
        assert wave.id is not None
        transition_wave(session, wave.id, "fielding", "administrator")
        form = form_of(questionnaire)
        pages = pages_of(form)
        last = pages[-1]
        last_names = {i.name for i in last}
        earlier = {k: v for k, v in answers.items() if k not in last_names}
        tokens = [secrets.token_urlsafe(24) for _ in range(count)]
        session.execute(
            insert(Invitation),
            [
                {
                    "wave_id": wave.id,
                    "street_code": streets[k % len(streets)],
                    "token_hash": hash_token(t),
                    "status": "started",
                    "partial_answers": earlier,
                    "locale": "zh_CN",
                }
                for k, t in enumerate(tokens)
            ],
        )
        session.commit()
    engine.dispose()
    final = {k: v for k, v in answers.items() if k in last_names}
    return tokens, len(pages) - 1, final


def start_redis() -> tuple[subprocess.Popen[bytes], str] | None:
    """A throw-away redis-server on loopback (rate-limit counters), if one is installed."""
    import shutil

    binary = shutil.which("redis-server")
    if binary is None:
        return None
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.3)
    return proc, f"redis://127.0.0.1:{port}/0"


def start_server(
    url: str, port: int, workers: int, redis_url: str | None
) -> subprocess.Popen[bytes]:
    """``participation serve`` on loopback, waiting until it answers."""
    env = {
        **os.environ,
        "PARTICIPATION_DATABASE_URL": url,
        "PARTICIPATION_PUBLIC_RATE_LIMIT": "1000000",
    }
    if redis_url:
        env["PARTICIPATION_REDIS_URL"] = redis_url
    for key in ("SECRET_KEY", "DATA_KEYS", "HASH_KEY"):
        env.setdefault(f"PARTICIPATION_{key}", BENCH_KEYS[key])
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "participation"),
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
        if proc.poll() is not None:
            raise RuntimeError((proc.stderr.read() if proc.stderr else b"").decode()[-2000:])
    proc.terminate()
    raise RuntimeError("the server did not start")


BENCH_KEYS = {
    "SECRET_KEY": "benchmark-secret-key-0123456789-abcdefghij",
    "DATA_KEYS": Fernet.generate_key().decode(),
    "HASH_KEY": "benchmark-hash-key",
}


class Connection:
    """One keep-alive HTTP/1.1 connection speaking just enough of the protocol for the load.

    httpx costs several milliseconds of CPU per request, which on a 2-core machine would be
    taken from the server under test; this client costs a small fraction of that."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        """Close the connection (if open)."""
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def post_form(
        self, path: str, fields: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, bytes]:
        """POST ``fields`` form-encoded to ``path``; the status code and the body."""
        body = urlencode(fields).encode()
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        request = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{head}"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(request)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        fields_in = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            fields_in[name.strip().lower()] = value.strip()
        if fields_in.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunks.append(await self.reader.readexactly(size + 2))
                if size == 0:
                    break
            content = b"".join(c[:-2] for c in chunks)
        else:
            content = await self.reader.readexactly(int(fields_in.get("content-length", "0")))
        if fields_in.get("connection", "").lower() == "close":
            await self.close()
        return status, content


async def run_load(
    base: str,
    tokens: list[str],
    page: int,
    answers: dict[str, Any],
    concurrency: int,
    duplicates: list[str],
) -> tuple[list[float], dict[int, int], dict[int, int], float]:
    """Submit every token once (and the duplicates again); latencies of first submits,
    status counts of first and duplicate submits, and the elapsed time."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        first = await client.get(f"/s/{tokens[0]}")
        match = re.search(r'name="_csrf_token" value="([^"]+)"', first.text)
        if not match:
            raise RuntimeError("no CSRF token on the survey page")
        csrf = match.group(1)
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    parsed = httpx.URL(base)
    queue: asyncio.Queue[tuple[str, bool]] = asyncio.Queue()
    for t in tokens:
        queue.put_nowait((t, False))
    for t in duplicates:
        queue.put_nowait((t, True))
    latencies: list[float] = []
    codes: dict[int, int] = {}
    dup_codes: dict[int, int] = {}
    counter = {"n": 0}
    data = {"_csrf_token": csrf, "_page": str(page), "_action": "submit", **answers}

    async def worker() -> None:
        connection = Connection(parsed.host, parsed.port or 80)
        try:
            while True:
                try:
                    token, dup = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                counter["n"] += 1
                k = counter["n"]
                ip = f"10.{k // 65536 % 256}.{k // 256 % 256}.{k % 256}"
                headers = {"Cookie": cookie, "X-Forwarded-For": ip}
                t0 = time.perf_counter()
                try:
                    status, _ = await asyncio.wait_for(
                        connection.post_form(f"/s/{token}/page", data, headers), 30
                    )
                except (TimeoutError, OSError, asyncio.IncompleteReadError):
                    await connection.close()
                    status = 0  # connection failure: counted, never retried
                elapsed = time.perf_counter() - t0
                target = dup_codes if dup else codes
                target[status] = target.get(status, 0) + 1
                if not dup:
                    latencies.append(elapsed)
        finally:
            await connection.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, codes, dup_codes, time.perf_counter() - start


def check(url: str, tokens: list[str]) -> tuple[int, int, int]:
    """Responses stored, invitations completed, invitations with more than one response."""
    from participation.db import make_engine
    from participation.surveys.models import Invitation, Response

    engine = make_engine(url)
    with Session(engine) as session:
        responses = session.exec(select(func.count()).select_from(Response)).one()
        completed = session.exec(
            select(func.count()).select_from(Invitation).where(Invitation.status == "completed")
        ).one()
        doubled = session.exec(
            select(func.count()).select_from(
                select(Response.invitation_id)
                .group_by(Response.invitation_id)
                .having(func.count() > 1)
                .subquery()
            )
        ).one()
    engine.dispose()
    return int(responses), int(completed), int(doubled)


def cpu_seconds(names: tuple[str, ...], root: int | None = None) -> float:
    """CPU time (user + system) of the processes under ``root`` (its descendants and itself)
    or, without ``root``, of every process whose command name is in ``names``; Linux only
    (0 elsewhere)."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    stats: dict[int, tuple[int, str, float]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        rest = raw[raw.rindex(")") + 2 :].split()
        stats[int(entry.name)] = (int(rest[1]), name, (int(rest[11]) + int(rest[12])) / tick)
    if root is None:
        return sum(cpu for _, name, cpu in stats.values() if name in names)
    tree, total = {root}, 0.0
    for pid in sorted(stats):  # parents are older than their children
        parent, _, cpu = stats[pid]
        if pid == root or parent in tree:
            tree.add(pid)
            total += cpu
    return total


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--submissions", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--duplicates", type=float, default=0.1, help="share of re-submits")
    parser.add_argument(
        "--no-redis",
        action="store_true",
        help="keep rate-limit counters in the database instead of a local redis-server",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    for key, value in BENCH_KEYS.items():
        os.environ.setdefault(f"PARTICIPATION_{key}", value)

    print(f"preparing {args.database_url} ...")
    prepare_database(args.database_url)
    tokens, page, answers = seed(args.database_url, args.submissions)
    duplicates = tokens[: int(len(tokens) * args.duplicates)]
    port = free_port()
    redis = None if args.no_redis else start_redis()
    server = start_server(args.database_url, port, args.workers, redis[1] if redis else None)
    try:
        # warm-up (imports, pools, template compilation) on a few extra tokens
        warm, _, _ = seed_extra(args.database_url, 50)
        asyncio.run(run_load(f"http://127.0.0.1:{port}", warm, page, answers, 8, []))
        server_cpu = cpu_seconds((), server.pid)
        database_cpu = cpu_seconds(("postgres",))
        latencies, codes, dup_codes, elapsed = asyncio.run(
            run_load(
                f"http://127.0.0.1:{port}",
                tokens,
                page,
                answers,
                args.concurrency,
                duplicates,
            )
        )
        server_cpu = cpu_seconds((), server.pid) - server_cpu
        database_cpu = cpu_seconds(("postgres",)) - database_cpu
    finally:
        server.terminate()
        server.wait(timeout=30)
        if redis:
            redis[0].terminate()
            redis[0].wait(timeout=10)
    ok = codes.get(303, 0)
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000
    responses, completed, doubled = check(args.database_url, tokens)
    print(
        f"rate-limit counters: {'redis' if redis else 'database'}; "
        f"workers={args.workers} concurrency={args.concurrency} "
        f"submissions={len(tokens)} duplicate submits={len(duplicates)}"
    )
    print(f"first submits: {codes}; duplicate submits: {dup_codes}")
    print(f"throughput: {ok / elapsed:.0f} completed submissions/s ({elapsed:.2f} s in all)")
    print(f"latency of a submit: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    requests = len(tokens) + len(duplicates)
    print(
        f"CPU per request: server {1000 * server_cpu / requests:.2f} ms, "
        f"PostgreSQL {1000 * database_cpu / requests:.2f} ms (all its processes on this machine)"
    )
    if hasattr(os, "getloadavg"):
        print("load average during the run: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    expected = len(tokens) + 50
    print(
        f"stored responses: {responses} (expected {expected}); completed invitations: "
        f"{completed}; invitations with >1 response: {doubled}"
    )
    if responses != expected or completed != expected or doubled or ok != len(tokens):
        print("FAILED: lost or duplicated responses")
        sys.exit(1)
    print("OK: every token yielded exactly one response")


def seed_extra(url: str, count: int) -> tuple[list[str], int, dict[str, Any]]:
    """Extra invitations in the existing benchmark wave (for the warm-up)."""
    import secrets

    from participation.db import make_engine
    from participation.surveys.models import Invitation
    from participation.surveys.websurvey import hash_token

    engine = make_engine(url)
    with Session(engine) as session:
        template = session.exec(select(Invitation).limit(1)).one()
        tokens = [secrets.token_urlsafe(24) for _ in range(count)]
        session.execute(
            insert(Invitation),
            [
                {
                    "wave_id": template.wave_id,
                    "street_code": template.street_code,
                    "token_hash": hash_token(t),
                    "status": "started",
                    "partial_answers": template.partial_answers,
                    "locale": "zh_CN",
                }
                for t in tokens
            ],
        )
        session.commit()
    engine.dispose()
    return tokens, 0, {}


if __name__ == "__main__":
    main()
