"""Soak benchmark: mixed traffic against ``participation serve --workers N`` on loopback.

    .venv/bin/python benchmarks/soak.py [--seconds 60] [--workers 2] [--database-url URL]
        [--web 6] [--reports 3] [--dashboards 2] [--interviewers 4] [--keep]

For a bounded time, at once:

* web-survey submissions (residents submitting the last page of their invitation, distinct
  tokens; expected 303);
* report filings through Open311 ``POST /open311/v2/requests.json`` (expected 201) — only when
  the server offers it (detected from /schema/openapi.json), else skipped with a note;
* dashboard reads by a city official (``/dashboards`` and ``/dashboards/fieldwork``, expected
  200);
* CATI: interviewers asking for their next case and recording a no-answer (expected 200).

The database is PostgreSQL: by default a fresh database on the local server (dropped afterwards
unless ``--keep``); ``--database-url`` names another one, which is EMPTIED and migrated.
Afterwards it prints, per kind, requests, errors, throughput and p50/p99 latency, then checks
for lost writes: every acknowledged submission stored exactly once (and nothing stored twice),
every acknowledged report present, one call attempt per acknowledged CATI outcome and no case
held by two interviewers at once. Exit status 1 when there is any error or lost write.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from sqlmodel import Session, col, func, select

from participation.surveys.standard import example_answers

ROOT = Path(__file__).resolve().parents[1]
LOCAL_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PASSWORD = "soak-password-1"
KEYS = {
    "PARTICIPATION_SECRET_KEY": "soak-secret-key-0123456789-abcdefghijklmnop",
    "PARTICIPATION_DATA_KEYS": Fernet.generate_key().decode(),
    "PARTICIPATION_HASH_KEY": "soak-hash-key",
}
ANSWERS: dict[str, Any] = example_answers(
    years_lived="8", parking_order="2", road_condition="1", drainage="2", age_group="45-59"
)
CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')
SERVE = (sys.executable, "-m", "participation.cli", "serve")


# ---------------------------------------------------------------- database


def fresh_database(server_url: str) -> str:
    """Create an empty database on the server of ``server_url``; its URL."""
    from participation.db import make_engine

    name = f"participation_soak_{uuid.uuid4().hex[:10]}"
    admin = make_engine(server_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    """Drop the database of ``url``."""
    from participation.db import make_engine

    parsed = make_url(url)
    admin_url = parsed.set(database="postgres").render_as_string(hide_password=False)
    admin = make_engine(admin_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


def empty_database(url: str) -> None:
    """Drop every table of ``url`` (``--database-url``: the named database is reused)."""
    from participation.db import make_engine

    engine = make_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@dataclass
class Seeded:
    """What the load needs: tokens, the last page's form fields, staff accounts."""

    tokens: list[str]
    last_page: int
    last_answers: dict[str, Any]
    interviewers: list[str]
    official: str
    cases: int


def seed(url: str, *, tokens: int, cases: int, interviewers: int) -> Seeded:
    """Linyi units, the standard questionnaire, a wave in the field (phone round the clock and
    web), invitations with the earlier pages answered, released cases, report categories and
    the staff accounts."""
    from participation.accounts.roles import Role
    from participation.accounts.service import create_user
    from participation.core.crypto import Vault
    from participation.core.timeutil import utcnow
    from participation.db import make_engine
    from participation.demo import linyi_files
    from participation.geography.models import Level, Unit
    from participation.geography.service import import_units
    from participation.settings import load_settings
    from participation.surveys.models import Invitation, SampleCase, Wave
    from participation.surveys.service import (
        WaveInput,
        create_questionnaire,
        create_wave,
        form_of,
        transition_wave,
    )
    from participation.surveys.standard import standard_definition
    from participation.surveys.websurvey import hash_token, pages_of

    settings = load_settings(
        database_url=url,
        secret_key=KEYS["PARTICIPATION_SECRET_KEY"],
        data_keys=KEYS["PARTICIPATION_DATA_KEYS"],
        hash_key=KEYS["PARTICIPATION_HASH_KEY"],
    )
    vault = Vault(settings)
    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as session:
        for _, data in linyi_files():
            import_units(session, data)
        streets = sorted(
            session.exec(select(Unit.code).where(Unit.level == Level.STREET.value)).all()
        )
        questionnaire = create_questionnaire(session, standard_definition())
        wave = create_wave(
            session,
            WaveInput(
                name="soak",
                questionnaire_id=questionnaire.id,
                period_start=date(2026, 1, 1),
                period_end=date(2026, 12, 31),
                modes=("phone", "web"),
            ),
        )
        assert wave.id is not None
        transition_wave(session, wave.id, "fielding", "administrator")
        stored = session.get(Wave, wave.id)
        assert stored is not None
        stored.target_per_street = 100000
        stored.settings = {
            **(stored.settings or {}),
            "fieldwork": {"call_start": "00:00", "call_end": "00:00"},
        }
        session.add(stored)
        pages = pages_of(form_of(questionnaire))
        last = {i.name for i in pages[-1]}
        earlier = {k: v for k, v in ANSWERS.items() if k not in last}
        raw = [secrets.token_urlsafe(24) for _ in range(tokens)]
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
                for k, t in enumerate(raw)
            ],
        )
        phones = [f"+86139{n:08d}" for n in range(cases)]
        now = utcnow()
        session.execute(
            insert(SampleCase),
            [
                {
                    "wave_id": wave.id,
                    "street_code": streets[n % len(streets)],
                    "phone_enc": vault.encrypt(p),
                    "phone_hash": vault.keyed_hash(p),
                    "released": True,
                    "frame_type": "mobile",
                    "status": "new",
                    "attempts": 0,
                    "replicate": 1,
                    "created_at": now,
                }
                for n, p in enumerate(phones)
            ],
        )
        try:
            from participation.reports import service as reports

            reports.ensure_catalogue(session)
        except ImportError:
            pass
        names = [f"soak_cati{i}" for i in range(interviewers)]
        for name in names:
            create_user(session, username=name, password=PASSWORD, role=Role.INTERVIEWER)
        create_user(
            session, username="soak_city", password=PASSWORD, role=Role.OFFICIAL, unit_code="3713"
        )
        session.commit()
    engine.dispose()
    final = {k: v for k, v in ANSWERS.items() if k in last}
    return Seeded(raw, len(pages) - 1, final, names, "soak_city", cases)


# ---------------------------------------------------------------- server


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(url: str, port: int, workers: int, log: Path) -> subprocess.Popen[bytes]:
    """``participation serve`` on loopback (its own process group), once it answers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARTICIPATION_")}
    env.update(KEYS)
    env.update(
        PARTICIPATION_DATABASE_URL=url,
        PARTICIPATION_PUBLIC_RATE_LIMIT="100000000",
        PARTICIPATION_UPLOAD_DIR=str(log.parent / "uploads"),
    )
    proc = subprocess.Popen(
        [*SERVE, "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(log, "ab"),  # noqa: SIM115
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(log.read_text(errors="replace")[-3000:])
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGTERM)
    raise RuntimeError("the server did not start")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group, SIGKILL when it lingers."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def sign_in(base: str, username: str) -> httpx.Client:
    """A client signed in through the login form."""
    client = httpx.Client(base_url=base, timeout=30)
    client.get("/login")
    token = client.cookies.get("csrftoken") or ""
    r = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "next": "/"},
        headers={"x-csrftoken": token},
    )
    if r.status_code != 303:
        raise RuntimeError(f"cannot sign in as {username}: {r.status_code}")
    client.headers["x-csrftoken"] = client.cookies.get("csrftoken") or ""
    return client


# ---------------------------------------------------------------- load


@dataclass
class Tally:
    """Outcomes of the load, shared by the worker threads."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    submitted: set[str] = field(default_factory=set)  # tokens answered 303
    reports: list[int] = field(default_factory=list)  # report ids answered 201
    outcomes: int = 0  # CATI outcomes answered 200
    claims: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def timed(self, kind: str, call: Callable[[], httpx.Response], ok: int) -> Any:
        """Run one request; record its latency, or an error (status or exception)."""
        start = time.perf_counter()
        try:
            response = call()
        except httpx.HTTPError as exc:
            with self.lock:
                self.errors[kind].append(type(exc).__name__)
            return None
        elapsed = time.perf_counter() - start
        with self.lock:
            if response.status_code == ok:
                self.latencies[kind].append(elapsed)
            else:
                self.errors[kind].append(str(response.status_code))
        return response if response.status_code == ok else None


def web_worker(base: str, seeded: Seeded, pool: list[str], tally: Tally, stop: float) -> None:
    """Residents submitting their last page, one token after another."""
    with httpx.Client(base_url=base, timeout=30) as client:
        # the survey page of a token kept out of the pool gives the CSRF cookie and field
        match = CSRF_FIELD.search(client.get(f"/s/{seeded.tokens[0]}").text)
        if not match:
            raise RuntimeError("no CSRF field on the survey page")
        data = {"_csrf_token": match.group(1), "_page": str(seeded.last_page), "_action": "submit"}
        data.update(seeded.last_answers)
        while time.monotonic() < stop:
            with tally.lock:
                if not pool:
                    return
                token = pool.pop()
            r = tally.timed("web", lambda t=token: client.post(f"/s/{t}/page", data=data), 303)
            if r is not None:
                with tally.lock:
                    tally.submitted.add(token)


def report_worker(base: str, k: int, tally: Tally, stop: float) -> None:
    """Residents filing reports through Open311."""
    rng = random.Random(k)
    with httpx.Client(base_url=base, timeout=30) as client:
        while time.monotonic() < stop:
            body = {
                "service_code": "exposed_garbage",
                "lat": round(35.0 + rng.random() * 0.2, 6),
                "long": round(118.25 + rng.random() * 0.2, 6),
                "description": "路边垃圾无人清理",
                "phone": f"138{rng.randrange(10**8):08d}",
            }
            r = tally.timed(
                "report", lambda b=body: client.post("/open311/v2/requests.json", json=b), 201
            )
            if r is not None:
                with tally.lock:
                    tally.reports.append(int(r.json()[0]["service_request_id"]))


def dashboard_worker(base: str, username: str, tally: Tally, stop: float) -> None:
    """A city official reading the dashboards."""
    client = sign_in(base, username)
    try:
        pages = ("/dashboards", "/dashboards/fieldwork")
        n = 0
        while time.monotonic() < stop:
            page = pages[n % len(pages)]
            n += 1
            tally.timed("dashboard", lambda p=page: client.get(p), 200)
    finally:
        client.close()


def cati_worker(base: str, username: str, tally: Tally, stop: float) -> None:
    """An interviewer: next case, no answer (3.13), next case ..."""
    client = sign_in(base, username)
    try:
        while time.monotonic() < stop:
            r = tally.timed("cati", lambda: client.post("/api/cati/next"), 200)
            if r is None:
                continue
            case = r.json().get("case")
            if case is None:
                with tally.lock:
                    tally.errors["cati"].append("no case left")
                return
            with tally.lock:
                tally.claims += 1
            done = tally.timed(
                "cati",
                lambda c=case: client.post(
                    f"/api/cati/cases/{c['id']}/outcome", json={"disposition": "3.13"}
                ),
                200,
            )
            if done is not None:
                with tally.lock:
                    tally.outcomes += 1
    finally:
        client.close()


# ---------------------------------------------------------------- checks


def lost_writes(url: str, seeded: Seeded, tally: Tally) -> list[str]:
    """Every acknowledged write stored exactly once; nothing stored twice."""
    from participation.db import make_engine
    from participation.fieldwork.models import CallAttempt
    from participation.surveys.models import Invitation, Response
    from participation.surveys.websurvey import hash_token

    problems: list[str] = []
    engine = make_engine(url, poolclass=NullPool)
    with Session(engine) as s:
        acked = {hash_token(t) for t in tally.submitted}
        rows = s.exec(
            select(Invitation.token_hash, Invitation.status, func.count(col(Response.id)))
            .join(Response, col(Response.invitation_id) == Invitation.id, isouter=True)
            .group_by(col(Invitation.token_hash), col(Invitation.status))
        ).all()
        stored = {h: n for h, _, n in rows if n}
        doubled = [h for h, n in stored.items() if n > 1]
        lost = acked - set(stored)
        half = [h for h, status, n in rows if (status == "completed") != (n == 1)]
        extra = set(stored) - acked
        if doubled:
            problems.append(f"web: {len(doubled)} tokens with more than one response")
        if lost:
            problems.append(f"web: {len(lost)} acknowledged submissions not stored")
        if half:
            problems.append(f"web: {len(half)} invitations half-written")
        if extra:
            problems.append(f"web: {len(extra)} stored submissions never acknowledged")
        if tally.reports:
            from participation.reports.models import Report

            found = set(s.exec(select(Report.id).where(col(Report.id).in_(tally.reports))).all())
            total = s.exec(select(func.count()).select_from(Report)).one()
            if len(found) != len(set(tally.reports)) or len(tally.reports) != len(
                set(tally.reports)
            ):
                problems.append("report: acknowledged reports missing or repeated")
            if total != len(tally.reports):
                problems.append(f"report: {total} stored for {len(tally.reports)} acknowledged")
        attempts = s.exec(
            select(
                CallAttempt.case_id,
                CallAttempt.interviewer_id,
                CallAttempt.started_at,
                CallAttempt.ended_at,
            ).order_by(col(CallAttempt.case_id), col(CallAttempt.started_at))
        ).all()
        if len(attempts) != tally.outcomes:
            problems.append(f"cati: {len(attempts)} call attempts for {tally.outcomes} outcomes")
        by_case: dict[int, list[Any]] = defaultdict(list)
        for row in attempts:
            by_case[row[0]].append(row)
        for rows_of_case in by_case.values():
            for a, b in itertools.pairwise(rows_of_case):
                if a[1] != b[1] and a[3] is not None and b[2] is not None and b[2] < a[3]:
                    problems.append(f"cati: case {a[0]} held by two interviewers at once")
    engine.dispose()
    return problems


def report(tally: Tally, seconds: float, kinds: list[str]) -> int:
    """Print the figures per kind; the number of errors."""
    print(f"\n{'kind':<10} {'ok':>7} {'errors':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    errors = 0
    for kind in kinds:
        lat = sorted(tally.latencies.get(kind, []))
        errs = tally.errors.get(kind, [])
        errors += len(errs)
        p50 = statistics.median(lat) * 1000 if lat else float("nan")
        p99 = lat[max(0, int(len(lat) * 0.99) - 1)] * 1000 if lat else float("nan")
        print(
            f"{kind:<10} {len(lat):>7} {len(errs):>7} {len(lat) / seconds:>8.1f} "
            f"{p50:>8.1f} {p99:>8.1f}"
        )
        if errs:
            counts: dict[str, int] = defaultdict(int)
            for e in errs:
                counts[e] += 1
            print(f"{'':<10} errors: {dict(counts)}")
    return errors


def main() -> None:
    """Run the soak benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--database-url", default="", help="PostgreSQL database to EMPTY and use (default: fresh)"
    )
    parser.add_argument("--server-url", default=LOCAL_PG, help="where the fresh database goes")
    parser.add_argument("--web", type=int, default=6, help="threads submitting web surveys")
    parser.add_argument("--reports", type=int, default=3, help="threads filing reports")
    parser.add_argument("--dashboards", type=int, default=2, help="officials reading dashboards")
    parser.add_argument("--interviewers", type=int, default=4, help="CATI interviewers")
    parser.add_argument("--keep", action="store_true", help="keep the fresh database")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    for key, value in KEYS.items():
        os.environ.setdefault(key, value)

    from participation.db import upgrade

    if args.database_url:
        url = args.database_url
        empty_database(url)
    else:
        url = fresh_database(args.server_url)
    workdir = Path(os.environ.get("TMPDIR", "/tmp")) / f"soak-{uuid.uuid4().hex[:6]}"
    workdir.mkdir(parents=True)
    server = None
    try:
        print(f"database {make_url(url).database}: migrating and seeding ...")
        upgrade(url)
        started = time.perf_counter()
        seeded = seed(
            url,
            tokens=int(200 * args.seconds) + 100,
            cases=int(60 * args.seconds) + 200,
            interviewers=args.interviewers,
        )
        print(f"seeded in {time.perf_counter() - started:.1f} s")
        port = free_port()
        server = start_server(url, port, args.workers, workdir / "server.log")
        base = f"http://127.0.0.1:{port}"
        spec = httpx.get(base + "/schema/openapi.json", timeout=30).json()
        has_open311 = "post" in spec.get("paths", {}).get("/open311/v2/requests.json", {})
        kinds = ["web", "dashboard", "cati"] + (["report"] if has_open311 else [])
        if not has_open311:
            print("report filings: skipped (the server offers no Open311 POST /requests.json)")
        tally = Tally()
        pool = list(seeded.tokens[1:])
        stop = time.monotonic() + args.seconds

        def guarded(kind: str, work: Callable[..., None]) -> Callable[..., None]:
            def run(*a: Any) -> None:
                try:
                    work(*a)
                except Exception as exc:  # counted as an error of its kind
                    with tally.lock:
                        tally.errors[kind].append(f"crash: {exc}"[:80])

            return run

        threads = [
            threading.Thread(
                target=guarded("web", web_worker), args=(base, seeded, pool, tally, stop)
            )
            for _ in range(args.web)
        ]
        threads += [
            threading.Thread(
                target=guarded("dashboard", dashboard_worker),
                args=(base, seeded.official, tally, stop),
            )
            for _ in range(args.dashboards)
        ]
        threads += [
            threading.Thread(target=guarded("cati", cati_worker), args=(base, name, tally, stop))
            for name in seeded.interviewers
        ]
        if has_open311:
            threads += [
                threading.Thread(
                    target=guarded("report", report_worker), args=(base, k, tally, stop)
                )
                for k in range(args.reports)
            ]
        print(
            f"soaking {args.seconds:.0f} s: workers={args.workers} web={args.web} "
            f"reports={args.reports if has_open311 else 0} dashboards={args.dashboards} "
            f"interviewers={args.interviewers}"
        )
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
        if not pool:
            print("note: the web-survey tokens ran out before the end")
        errors = report(tally, elapsed, kinds)
        print(f"CATI: {tally.claims} cases handed out, {tally.outcomes} outcomes recorded")
        problems = lost_writes(url, seeded, tally)
        total_ok = sum(len(v) for v in tally.latencies.values())
        print(f"total: {total_ok} requests in {elapsed:.1f} s ({total_ok / elapsed:.1f}/s)")
        print(
            f"lost-writes check: {len(tally.submitted)} submissions, {len(tally.reports)} "
            f"reports, {tally.outcomes} CATI outcomes acknowledged — "
            + ("OK: each stored exactly once" if not problems else "; ".join(problems))
        )
        print(json.dumps({"errors": errors, "lost_writes": len(problems)}))
        if errors or problems:
            sys.exit(1)
    finally:
        if server is not None:
            stop_server(server)
        if not args.database_url and not args.keep:
            drop_database(url)


if __name__ == "__main__":
    main()
