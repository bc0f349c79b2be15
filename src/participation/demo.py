"""The demo city: Linyi (临沂市) with its official units, synthetic populations and accounts.

Each domain adds its demo data through a ``build_demo(session, ctx)`` function in its own
``demo.py``; :func:`build_demo` calls them in dependency order.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel, select, text

from participation.accounts.roles import Role
from participation.accounts.service import create_user
from participation.db import engine_for, session_scope, upgrade
from participation.geography.models import AGE_GROUPS, SEXES, Level, PopulationCell, Unit
from participation.geography.service import import_units, roll_up_population
from participation.settings import Settings

CITY_CODE = "3713"
DEMO_PASSWORD = "demo-pass-2026"
DOMAIN_DEMOS = ("surveys", "fieldwork", "volunteers", "reports", "scoring", "dashboards")


@dataclass
class DemoContext:
    """What the demo builders share: the random generator, settings and created accounts."""

    rng: np.random.Generator
    settings: Settings
    accounts: list[tuple[str, str, str, str | None]] = field(default_factory=list)
    echo: Callable[[str], None] = print

    def add_user(
        self, session: Session, username: str, role: Role, name: str, unit_code: str | None = None
    ) -> int:
        """Create a demo account with the shared demo password; returns its id."""
        user = create_user(
            session,
            username=username,
            password=DEMO_PASSWORD,
            role=role,
            display_name=name,
            unit_code=unit_code,
        )
        self.accounts.append((username, DEMO_PASSWORD, role.value, unit_code))
        assert user.id is not None
        return user.id


def linyi_files() -> list[tuple[str, bytes]]:
    """The packaged Linyi code lists, parents first."""
    folder = resources.files("participation") / "data" / "linyi"
    return [
        (name, (folder / name).read_bytes()) for name in ("cities.csv", "areas.csv", "streets.csv")
    ]


def synthetic_population(rng: np.random.Generator, street_codes: list[str]) -> list[PopulationCell]:
    """Plausible adult populations by sex × age group (urban streets larger and younger)."""
    cells: list[PopulationCell] = []
    base_age = np.array([0.20, 0.28, 0.28, 0.24])
    for code in street_codes:
        urban = code[6] == "0"  # 00x: 街道 (urban street); 1xx/2xx: 镇/乡
        total = int(rng.lognormal(np.log(52000 if urban else 34000), 0.35))
        shift = (
            np.array([0.04, 0.03, -0.02, -0.05]) if urban else np.array([-0.03, -0.02, 0.0, 0.05])
        )
        age = np.clip(base_age + shift + rng.normal(0, 0.015, 4), 0.05, None)
        age = age / age.sum()
        male_share = float(np.clip(rng.normal(0.505, 0.01), 0.47, 0.54))
        for s, sex in enumerate(SEXES):
            share = male_share if s == 0 else 1 - male_share
            for a, group in enumerate(AGE_GROUPS):
                cells.append(
                    PopulationCell(
                        unit_code=code,
                        sex=sex,
                        age_group=group,
                        population=round(total * share * age[a]),
                    )
                )
    return cells


def reset_database(settings: Settings) -> None:
    """Drop everything in the configured database and run the migrations afresh."""
    url = settings.database_url
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        engine_for.cache_clear()
        for suffix in ("", "-wal", "-shm"):
            path = Path(parsed.database + suffix)
            if path.exists():
                path.unlink()
    else:
        engine = engine_for(url)
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
            else:
                SQLModel.metadata.drop_all(conn)
        engine.dispose()
    upgrade(url)


def build_demo(
    settings: Settings, *, seed: int = 2026, echo: Callable[[str], None] = print
) -> list[tuple[str, str, str, str | None]]:
    """(Re)create the demo database; returns the demo accounts (username, password, role, scope)."""
    echo(f"Creating the demo database at {make_url(settings.database_url).render_as_string(True)}")
    reset_database(settings)
    engine = engine_for(settings.database_url)
    ctx = DemoContext(rng=np.random.default_rng(seed), settings=settings, echo=echo)
    with session_scope(engine) as session:
        for _name, data in linyi_files():
            import_units(session, data)
        streets = list(
            session.exec(
                select(Unit.code).where(Unit.level == Level.STREET.value).order_by(Unit.code)
            )
        )
        for cell in synthetic_population(ctx.rng, list(streets)):
            session.add(cell)
        session.flush()
        totals: dict[str, int] = {}
        for cell in session.exec(select(PopulationCell)):
            totals[cell.unit_code] = totals.get(cell.unit_code, 0) + cell.population
        for code, total in totals.items():
            unit = session.get(Unit, code)
            assert unit is not None
            unit.population = total
            session.add(unit)
        session.flush()
        roll_up_population(session)
        echo(f"  Linyi: {len(streets)} streets/townships, synthetic populations by sex × age")
        ctx.add_user(session, "admin", Role.ADMINISTRATOR, "系统管理员")
        ctx.add_user(session, "city", Role.OFFICIAL, "市城管局 王科长", CITY_CODE)
        ctx.add_user(session, "lanshan", Role.OFFICIAL, "兰山区城管局 李主任", "371302")
        ctx.add_user(session, "yinqueshan", Role.OFFICIAL, "银雀山街道 张主任", "371302002")
        ctx.add_user(session, "supervisor", Role.SUPERVISOR, "调查督导 赵督导")
        ctx.add_user(session, "interviewer1", Role.INTERVIEWER, "访问员 刘一")
        ctx.add_user(session, "interviewer2", Role.INTERVIEWER, "访问员 陈二")
        ctx.add_user(session, "volunteer1", Role.VOLUNTEER, "志愿者 孙明", "371302002")
        ctx.add_user(session, "reward", Role.REWARD_OFFICER, "举报奖励专员 周会计")
        ctx.add_user(session, "reward2", Role.REWARD_OFFICER, "举报奖励复核 吴审核")
    for name in DOMAIN_DEMOS:
        try:
            module = importlib.import_module(f"participation.{name}.demo")
        except ModuleNotFoundError as exc:
            if exc.name != f"participation.{name}.demo":
                raise
            continue
        with session_scope(engine) as session:
            module.build_demo(session, ctx)
    return ctx.accounts
