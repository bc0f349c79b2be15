"""Shared fixtures: a migrated database per test (SQLite by default, PostgreSQL when
PARTICIPATION_TEST_DATABASE_URL is set), the app, clients signed in as each role."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from litestar.testing import TestClient
from sqlalchemy import Engine, text
from sqlmodel import Session, SQLModel

from participation.accounts.roles import Role
from participation.accounts.service import create_user
from participation.db import engine_for, make_engine, upgrade
from participation.settings import Settings, load_settings

pytest_plugins = ["tests.browser_support"]

PG_URL = os.environ.get("PARTICIPATION_TEST_DATABASE_URL", "")
TEST_PASSWORD = "test-pass-123"
FIXED_KEYS = {
    "secret_key": "test-secret-key-for-signing-0123456789",
    "data_keys": Fernet.generate_key().decode(),
    "hash_key": "test-hash-key",
}


def pytest_report_header(config: pytest.Config) -> str:
    return f"participation database: {'PostgreSQL ' + PG_URL if PG_URL else 'SQLite'}"


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database at the migration heads: a SQLite template file, or the PostgreSQL test DB."""
    if PG_URL:
        engine = make_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        upgrade(PG_URL)
        return PG_URL
    path = tmp_path_factory.mktemp("template") / "template.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    engine_for(url).dispose()
    return url


def _truncate_all(engine: Engine) -> None:
    tables = [t.name for t in SQLModel.metadata.sorted_tables]
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))


@pytest.fixture
def db_url(migrated_template: str, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated, empty database for one test."""
    if PG_URL:
        _truncate_all(engine_for(PG_URL))
        yield PG_URL
        return
    source = Path(migrated_template.removeprefix("sqlite:///"))
    target = tmp_path / "participation.db"
    shutil.copyfile(source, target)
    url = f"sqlite:///{target}"
    yield url
    engine_for(url).dispose()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """Settings of a test: its own database and upload directory, fixed keys."""
    return load_settings(
        database_url=db_url,
        upload_dir=tmp_path / "uploads",
        public_rate_limit=100000,
        **FIXED_KEYS,
    )


@pytest.fixture
def engine(settings: Settings) -> Engine:
    """The engine of the test database."""
    return engine_for(settings.database_url)


@pytest.fixture
def session(settings: Settings) -> Iterator[Session]:
    """A session on the test database (commit explicitly).

    On SQLite its transactions begin DEFERRED, so a test that reads and then drives the app
    does not hold the write lock the app needs; PostgreSQL uses the shared engine.
    """
    url = settings.database_url
    test_engine = make_engine(url, sqlite_immediate=False) if url.startswith("sqlite") else None
    with Session(test_engine or engine_for(url), expire_on_commit=False) as s:
        yield s
    if test_engine is not None:
        test_engine.dispose()


@pytest.fixture
def linyi(session: Session) -> None:
    """The Linyi units and a synthetic population, as in the demo."""
    import numpy as np
    from sqlmodel import select

    from participation.demo import linyi_files, synthetic_population
    from participation.geography.models import Level, Unit
    from participation.geography.service import import_population, import_units

    for _, data in linyi_files():
        import_units(session, data)
    streets = list(session.exec(select(Unit.code).where(Unit.level == Level.STREET.value)))
    cells = synthetic_population(np.random.default_rng(1), sorted(streets))
    csv_text = "code,sex,age_group,population\n" + "".join(
        f"{c.unit_code},{c.sex},{c.age_group},{c.population}\n" for c in cells
    )
    import_population(session, csv_text)
    session.commit()


@pytest.fixture
def app(settings: Settings) -> Any:
    """The app on the test database."""
    from participation.app import create_app

    return create_app(settings)


@pytest.fixture
def client(app: Any) -> Iterator[TestClient[Any]]:
    """An anonymous client."""
    with TestClient(app) as c:
        yield c


def csrf_token(client: TestClient[Any]) -> str:
    """The CSRF token of a client (fetching a page first if it has none yet)."""
    token = client.cookies.get("csrftoken")
    if not token:
        client.get("/login")
        token = client.cookies.get("csrftoken")
    assert token, "no CSRF cookie was set"
    return token


def login(client: TestClient[Any], username: str, password: str = TEST_PASSWORD) -> None:
    """Sign ``client`` in through the login form."""
    token = csrf_token(client)
    response = client.post(
        "/login",
        data={"username": username, "password": password, "next": "/"},
        headers={"x-csrftoken": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


@pytest.fixture
def make_user(session: Session) -> Any:
    """Factory: ``make_user("name", Role.OFFICIAL, unit_code="3713")`` → the created user."""

    def _make(username: str, role: Role, unit_code: str | None = None) -> Any:
        user = create_user(
            session,
            username=username,
            password=TEST_PASSWORD,
            role=role,
            display_name=username,
            unit_code=unit_code,
        )
        session.commit()
        return user

    return _make


@pytest.fixture
def client_as(app: Any, make_user: Any) -> Any:
    """Factory: a client signed in as a new user of ``role`` (and scope ``unit_code``).

    The clients are not entered as context managers: the app has no lifespan hooks, and two
    entered clients on one app hang at shutdown (Litestar waits for both lifespans)."""
    clients: list[TestClient[Any]] = []
    counter = {"n": 0}

    def _client(role: Role, unit_code: str | None = None) -> TestClient[Any]:
        counter["n"] += 1
        username = f"{role.value}{counter['n']}"
        make_user(username, role, unit_code)
        c = TestClient(app)
        clients.append(c)
        login(c, username)
        return c

    yield _client
    clients.clear()


@pytest.fixture
def csrf() -> Any:
    """The :func:`csrf_token` helper as a fixture."""
    return csrf_token
