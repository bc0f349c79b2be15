"""Models and migrations agree; the app refuses an outdated schema."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import participation.models  # noqa: F401
from participation.db import SchemaOutdatedError, check_schema, make_engine, upgrade


def test_models_match_migrations(engine):
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(ctx, SQLModel.metadata)
    assert diffs == [], f"models and migrations differ; write a migration: {diffs}"


def test_outdated_schema_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    with pytest.raises(SchemaOutdatedError, match="participation db upgrade"):
        check_schema(engine)
    upgrade(url, "core_0001")
    with pytest.raises(SchemaOutdatedError, match="core_0001"):
        check_schema(engine)
    upgrade(url)
    check_schema(engine)
    engine.dispose()


def test_app_refuses_to_start_on_outdated_schema(tmp_path):
    from participation.app import create_app
    from participation.settings import load_settings

    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(SchemaOutdatedError, match="participation db upgrade"):
        create_app(settings)
