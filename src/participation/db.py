"""Engine factory, sessions and migrations: every database quirk lives here."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from sqlalchemy import Engine, event
from sqlmodel import Session, create_engine

from participation.settings import Settings

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


class SchemaOutdatedError(RuntimeError):
    """The database schema does not match the code's migrations."""


def make_engine(url: str, *, sqlite_immediate: bool = True, **kwargs: Any) -> Engine:
    """Create an engine with the settings each backend needs.

    SQLite: one file shared by threads (``check_same_thread=False``), foreign keys on, WAL
    journal and a busy timeout so concurrent writers wait instead of failing. With
    ``sqlite_immediate`` (the default) every transaction starts with ``BEGIN IMMEDIATE``, so
    writers queue instead of failing on a lock upgrade; a session must then not stay open
    longer than its unit of work (request sessions don't). Read-mostly tools may turn it off.
    PostgreSQL: a pool sized for the thread pool that runs the request handlers.
    """
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            **kwargs,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # let SQLAlchemy emit BEGIN itself
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            if ":memory:" not in url:
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # BEGIN IMMEDIATE takes the write lock at the start, so two writers never deadlock
            # on lock upgrade; readers in WAL mode are not blocked.
            conn.exec_driver_sql("BEGIN IMMEDIATE" if sqlite_immediate else "BEGIN")

        return engine
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 20)
        kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """The shared engine of a database URL."""
    return make_engine(url)


def get_engine(settings: Settings) -> Engine:
    """The engine of the configured database."""
    return engine_for(settings.database_url)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session committed on success and rolled back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def alembic_config(url: str) -> Config:
    """Alembic configuration pointing at the packaged migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "heads") -> None:
    """Run the migrations up to ``revision`` (all heads by default)."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    """Run the migrations down to ``revision``."""
    command.downgrade(alembic_config(url), revision)


def schema_state(engine: Engine) -> tuple[set[str], set[str]]:
    """(heads the code expects, revisions the database is at)."""
    script = ScriptDirectory.from_config(alembic_config(engine.url.render_as_string(False)))
    expected = set(script.get_heads())
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    return expected, current


def _applied(script: ScriptDirectory, heads: set[str]) -> set[str]:
    """Every revision at or below ``heads`` (dependencies across branches included)."""
    # One head at a time: a head that another head depends on (``depends_on``) would make
    # alembic refuse the combined request as overlapping.
    return {
        rev.revision
        for head in sorted(heads)
        for rev in script.revision_map.iterate_revisions((head,), "base")
        if rev is not None
    }


def is_up_to_date(engine: Engine, expected: set[str], current: set[str]) -> bool:
    """Whether the revisions the database is at cover exactly what the code's heads need.

    Alembic records only the heads of what was applied: a branch head that another branch
    depends on (``depends_on``) is not recorded, so the sets are compared by their ancestry."""
    script = ScriptDirectory.from_config(alembic_config(engine.url.render_as_string(False)))
    try:
        return _applied(script, current) == _applied(script, expected)
    except RevisionError:  # an unknown revision in the database (a newer version of the code)
        return False


def check_schema(engine: Engine) -> None:
    """Raise :class:`SchemaOutdatedError` unless the database is at the code's heads."""
    expected, current = schema_state(engine)
    if not is_up_to_date(engine, expected, current):
        if not current:
            state = "has no schema yet"
        else:
            state = f"is at revision(s) {', '.join(sorted(current))}"
        raise SchemaOutdatedError(
            f"The database {engine.url.render_as_string(hide_password=True)} {state}, but this "
            f"version of participation needs {', '.join(sorted(expected))}. "
            "Run `participation db upgrade` first."
        )
