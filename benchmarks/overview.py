"""Benchmark: the city overview for 156 streets × 12 waves (target: under 300 ms server time).

    .venv/bin/python benchmarks/overview.py [--runs 20] [--database-url URL]

Creates a temporary SQLite database (or uses ``--database-url``, e.g. a scratch PostgreSQL
database, which is emptied), loads the Linyi units, 12 closed bimonthly city waves (2025–2026)
with results for every street (mean, SE, CI, five dimensions) and a provincial wave, then times
the overview build — service (data, ranks, CIs, sensitivity) + plotly figures + template render —
in two states:

* *provisional*: no stored assessment, so the overview computes the year's assessment live;
* *stored*: after the annual assessment is stored (the normal state once computed).

It also times the whole HTTP request (``GET /dashboards`` through the app, signed in as a city
official). Prints median, p90 and max in milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from cryptography.fernet import Fernet
from jinja2 import Environment, FileSystemLoader
from jinja2.ext import _make_new_gettext, _make_new_ngettext
from sqlalchemy import insert, text
from sqlmodel import Session, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

PERIODS = [(m, m + 1) for m in (1, 3, 5, 7, 9, 11)]
DIMENSIONS = ("市容环境", "道路设施", "园林绿化", "环境卫生", "执法服务")


def prepare(url: str) -> None:
    """Empty the database and run the migrations."""
    from participation.db import make_engine, upgrade

    if not url.startswith("sqlite"):
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    upgrade(url)


def load(session: Session, rng: np.random.Generator) -> None:
    """Units, 12 closed city waves with street results, one provincial wave."""
    from participation.demo import linyi_files
    from participation.geography.models import Level, Unit
    from participation.geography.service import import_units
    from participation.surveys.models import Wave, WaveResult

    for _, data in linyi_files():
        import_units(session, data)
    streets = list(
        session.exec(select(Unit.code).where(Unit.level == Level.STREET.value).order_by(Unit.code))
    )
    level = {s: float(rng.normal(82, 5)) for s in streets}
    waves: list[Wave] = []
    for year in (2025, 2026):
        for number, (m1, m2) in enumerate(PERIODS, start=1):
            end_day = 28 if m2 == 2 else (30 if m2 in (4, 6, 9, 11) else 31)
            waves.append(
                Wave(
                    name=f"{year}年第{number}期",
                    source="city",
                    period_start=date(year, m1, 1),
                    period_end=date(year, m2, end_day),
                    status="closed",
                )
            )
    waves.append(
        Wave(
            name="2026年省级测评",
            source="provincial",
            period_start=date(2026, 1, 1),
            period_end=date(2026, 6, 30),
            status="closed",
        )
    )
    session.add_all(waves)
    session.flush()
    rows: list[dict[str, Any]] = []
    for wave in waves:
        for code in streets:
            mean = float(np.clip(level[code] + rng.normal(0, 2), 40, 99))
            se = float(rng.uniform(1.5, 3.0))
            rows.append(
                {
                    "wave_id": wave.id,
                    "unit_code": code,
                    "level": "street",
                    "n": 60,
                    "mean": mean,
                    "se": se,
                    "ci_low": mean - 1.96 * se,
                    "ci_high": mean + 1.96 * se,
                    "p_satisfied": mean / 100,
                    "p_se": se / 100,
                    "dimensions": {
                        d: {"mean": mean + float(rng.normal(0, 3)), "se": se * 1.3}
                        for d in DIMENSIONS
                    },
                    "method": "benchmark",
                    "model_based": False,
                }
            )
    session.execute(insert(WaveResult), rows)
    session.commit()


def environment() -> Environment:
    """The app's Jinja environment (same loader, i18n extension and autoescape)."""
    from participation.core.templating import TEMPLATES_DIR, configure_environment

    env = Environment(loader=FileSystemLoader(TEMPLATES_DIR))
    configure_environment(env)
    return env


def render_overview(env: Environment, context: dict[str, Any], locale: str) -> str:
    """Render the overview template as the app does."""
    from participation.accounts.roles import Role
    from participation.core.i18n import SUPPORTED_LOCALES, Formatter, get_translations
    from participation.core.web import CurrentUser

    translations = get_translations(locale)
    globals_ = {
        "gettext": _make_new_gettext(translations.gettext),
        "_": _make_new_gettext(translations.gettext),
        "ngettext": _make_new_ngettext(translations.ngettext),
        "fmt": Formatter(locale),
        "locale": locale,
        "html_lang": "zh-CN",
        "locales": SUPPORTED_LOCALES,
        "user": CurrentUser(1, "city", "city", "official", "3713"),
        "Role": Role,
        "request_path": "/dashboards",
        "request_query": "",
        "csrf_input": "",
    }
    return env.get_template("dashboards/overview.html").render(**globals_, **context)


def timed(fn: Callable[[], Any], runs: int) -> list[float]:
    """Milliseconds of each of ``runs`` calls (after one warm-up)."""
    fn()
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def report(name: str, ms: list[float]) -> None:
    """Print median, p90 and max."""
    ordered = sorted(ms)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    print(
        f"  {name:<44} median {statistics.median(ms):7.1f} ms   p90 {p90:7.1f} ms"
        f"   max {max(ms):7.1f} ms"
    )


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    from litestar.testing import TestClient

    from participation.accounts.roles import Role
    from participation.accounts.service import create_user
    from participation.app import create_app
    from participation.dashboards import service as dashboards
    from participation.dashboards.routes import overview_context
    from participation.db import engine_for
    from participation.scoring import service as scoring
    from participation.scoring.config import linyi_config
    from participation.settings import load_settings

    tmp = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite:///{Path(tmp.name) / 'overview.db'}"
    prepare(url)
    engine = engine_for(url)
    with Session(engine, expire_on_commit=False) as session:
        load(session, np.random.default_rng(7))
        create_user(
            session,
            username="city",
            password="bench-pass-123",
            role=Role.OFFICIAL,
            unit_code="3713",
        )
        session.commit()
    backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(f"overview benchmark: 156 streets × 12 city waves + 1 provincial wave ({backend})")
    env = environment()
    scope = dashboards.Scope(None, None)

    def build() -> None:
        with Session(engine, expire_on_commit=False) as session:
            context = overview_context(session, scope, "zh_CN")
            assert context["data"] is not None and len(context["data"].streets) == 156
            html = render_overview(env, context, "zh_CN")
            assert "street-ranking" in html

    def service_only() -> None:
        with Session(engine, expire_on_commit=False) as session:
            dashboards.overview(session, scope)

    report("provisional (live assessment): service", timed(service_only, args.runs))
    report("provisional: service + figures + template", timed(build, args.runs))

    with Session(engine, expire_on_commit=False) as session:
        version = scoring.create_scheme(
            session, code="linyi", name="临沂", config=linyi_config().model_dump(mode="json")
        )
        assert version.id is not None
        start = time.perf_counter()
        scoring.assess(session, version.id, "2026", date(2026, 1, 1), date(2026, 12, 31))
        session.commit()
        print(
            f"  storing the annual assessment once: {(time.perf_counter() - start) * 1000:.1f} ms"
        )
    report("stored assessment: service", timed(service_only, args.runs))
    report("stored: service + figures + template", timed(build, args.runs))

    settings = load_settings(
        database_url=url,
        secret_key="bench-secret-key-0123456789-abcdefghij",
        data_keys=Fernet.generate_key().decode(),
        hash_key="bench",
        public_rate_limit=1_000_000,
    )
    with TestClient(create_app(settings)) as client:
        client.get("/login")
        token = client.cookies.get("csrftoken") or ""
        client.post(
            "/login",
            data={"username": "city", "password": "bench-pass-123", "next": "/"},
            headers={"x-csrftoken": token},
        )

        def http() -> None:
            response = client.get("/dashboards")
            assert response.status_code == 200, response.status_code

        report("HTTP GET /dashboards (in-process client)", timed(http, args.runs))
    engine.dispose()
    tmp.cleanup()


if __name__ == "__main__":
    main()
