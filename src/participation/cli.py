"""The ``participation`` command."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import click

from participation.core.errors import ServiceError, describe
from participation.core.i18n import gettext
from participation.settings import get_settings


def fail(message: str) -> None:
    """Print an error line and exit non-zero."""
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def fail_service(exc: ServiceError) -> None:
    """Print a service error (translated to English for the terminal) and exit non-zero."""
    fail(describe(exc, lambda msg, **kw: gettext(msg, "en", **kw)))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="participation")
def cli() -> None:
    """participation: citizen-satisfaction surveys and public participation.

    Settings come from PARTICIPATION_* environment variables (see README).
    """


@cli.group()
def db() -> None:
    """Database schema: migrations."""


@db.command("upgrade")
@click.option("--revision", default="heads", show_default=True, help="Target revision.")
def db_upgrade(revision: str) -> None:
    """Run the migrations (creates the database if needed)."""
    from participation.db import upgrade

    settings = get_settings()
    upgrade(settings.database_url, revision)
    click.echo(f"database at {revision}: {_safe_url(settings.database_url)}")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Undo migrations down to REVISION (e.g. base)."""
    from participation.db import downgrade

    downgrade(get_settings().database_url, revision)
    click.echo(f"database at {revision}")


@db.command("current")
def db_current() -> None:
    """Show the revisions the database is at and those the code expects."""
    from participation.db import get_engine, is_up_to_date, schema_state

    engine = get_engine(get_settings())
    expected, current = schema_state(engine)
    click.echo(f"database: {', '.join(sorted(current)) or '(empty)'}")
    click.echo(f"code:     {', '.join(sorted(expected))}")
    if not is_up_to_date(engine, expected, current):
        fail("the schema is outdated: run `participation db upgrade`")


@db.command("revision")
@click.option("-m", "--message", required=True, help="What the migration changes.")
@click.option("--head", default="core@head", show_default=True, help="Branch head to extend.")
@click.option("--rev-id", default=None, help="Revision id, e.g. surveys_0002.")
@click.option("--branch-label", default=None, help="Label of a new branch.")
@click.option("--depends-on", multiple=True, help="Revisions this one depends on.")
def db_revision(
    message: str,
    head: str,
    rev_id: str | None,
    branch_label: str | None,
    depends_on: tuple[str, ...],
) -> None:
    """Autogenerate a migration from the models (developers)."""
    from alembic import command

    from participation.db import alembic_config

    command.revision(
        alembic_config(get_settings().database_url),
        message=message,
        autogenerate=True,
        head=head,
        rev_id=rev_id,
        branch_label=branch_label,
        depends_on=list(depends_on) or None,
    )


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@cli.group()
def users() -> None:
    """Accounts."""


@users.command("create")
@click.option("--username", required=True, help="Sign-in name.")
@click.option(
    "--role",
    required=True,
    help="administrator, official, supervisor, interviewer, volunteer or reward_officer.",
)
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Password (prompted when omitted).",
)
@click.option("--name", "display_name", default="", help="Display name.")
@click.option("--unit", "unit_code", default=None, help="Unit code: an official's scope.")
def users_create(
    username: str, role: str, password: str, display_name: str, unit_code: str | None
) -> None:
    """Create an account (e.g. the first administrator)."""
    from participation.accounts.service import create_user
    from participation.db import get_engine, session_scope

    engine = get_engine(get_settings())
    _require_schema(engine)
    try:
        with session_scope(engine) as session:
            user = create_user(
                session,
                username=username,
                password=password,
                role=role,
                display_name=display_name,
                unit_code=unit_code,
            )
            click.echo(f"created {user.role} {user.username} (id {user.id})")
    except ServiceError as exc:
        fail_service(exc)


def _require_schema(engine: object) -> None:
    from participation.db import SchemaOutdatedError, check_schema

    try:
        check_schema(engine)  # type: ignore[arg-type]
    except SchemaOutdatedError as exc:
        fail(str(exc))


@cli.group("import")
def import_group() -> None:
    """Import reference data from files."""


@import_group.command("units")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
def import_units_cmd(files: tuple[Path, ...]) -> None:
    """Import unit CSV files (official code lists or code,name,level,parent_code)."""
    from participation.db import get_engine, session_scope
    from participation.geography.service import import_units

    engine = get_engine(get_settings())
    _require_schema(engine)
    for path in files:
        if not path.exists():
            fail(f"{path}: no such file")
        try:
            with session_scope(engine) as session:
                s = import_units(session, path.read_bytes())
        except ServiceError as exc:
            fail(f"{path}: " + describe(exc, lambda msg, **kw: gettext(msg, "en", **kw)))
        click.echo(
            f"{path}: {s.rows} rows, {s.created} created, {s.updated} updated, "
            f"{s.unchanged} unchanged"
        )


@import_group.command("population")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def import_population_cmd(file: Path) -> None:
    """Import a population CSV: code,sex,age_group,population."""
    from participation.db import get_engine, session_scope
    from participation.geography.service import import_population

    engine = get_engine(get_settings())
    _require_schema(engine)
    if not file.exists():
        fail(f"{file}: no such file")
    try:
        with session_scope(engine) as session:
            s = import_population(session, file.read_bytes())
    except ServiceError as exc:
        fail(f"{file}: " + describe(exc, lambda msg, **kw: gettext(msg, "en", **kw)))
    click.echo(
        f"{file}: {s.rows} cells, {s.created} created, {s.updated} updated, {s.unchanged} unchanged"
    )


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=int,
    help="Worker processes (they share the database; the app keeps no state).",
)
@click.option("--reload", is_flag=True, help="Reload on code changes (development).")
def serve(host: str, port: int, workers: int, reload: bool) -> None:
    """Serve the platform with uvicorn."""
    import uvicorn

    from participation.db import SchemaOutdatedError, check_schema, get_engine

    settings = get_settings()
    if settings.check_schema:
        try:
            check_schema(get_engine(settings))
        except SchemaOutdatedError as exc:
            fail(str(exc))
    uvicorn.run(
        "participation.asgi:app",
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        log_level="info",
        proxy_headers=True,
        forwarded_allow_ips=settings.trusted_proxies,  # the same proxies the app believes
        timeout_worker_healthcheck=30,  # a busy worker is not a dead one
    )


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--no-serve", is_flag=True, help="Only build the demo database; do not serve.")
@click.option("--seed", default=2026, show_default=True, type=int, help="Random seed of the demo.")
def demo(host: str, port: int, no_serve: bool, seed: int) -> None:
    """(Re)create the demo city Linyi in the configured database, then serve it."""
    from participation.demo import build_demo

    settings = get_settings()
    accounts = build_demo(settings, seed=seed, echo=click.echo)
    click.echo("\nDemo accounts (username / password / role / scope):")
    for username, password, role, scope in accounts:
        click.echo(f"  {username:<16} {password:<14} {role:<15} {scope or ''}")
    if no_serve:
        return
    click.echo(f"\nServing the demo at http://{host}:{port}/  (Ctrl+C to stop)")
    import uvicorn

    uvicorn.run("participation.asgi:app", host=host, port=port, log_level="warning")


@cli.group()
def keys() -> None:
    """Encryption keys of personal data."""


@keys.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt all personal data with the first key of PARTICIPATION_DATA_KEYS.

    Put the new key first and keep the old ones after it; run this; then drop the old keys.
    """
    from participation.core.crypto import Vault
    from participation.core.maintenance import rotate_keys
    from participation.db import get_engine

    settings = get_settings()
    engine = get_engine(settings)
    _require_schema(engine)
    for column, count in rotate_keys(engine, Vault(settings)).items():
        click.echo(f"{column}: {count} values re-encrypted")


@cli.command()
@click.option("--days", type=int, default=None, help="Override PARTICIPATION_RETENTION_DAYS.")
def retention(days: int | None) -> None:
    """Delete sample-frame numbers and reporter contacts older than the retention period."""
    from participation.core.maintenance import apply_retention
    from participation.db import get_engine

    settings = get_settings()
    engine = get_engine(settings)
    _require_schema(engine)
    period = settings.retention_days if days is None else days
    if period < 0:
        fail("--days must not be negative")
    result = apply_retention(engine, period)
    for table, count in result.cleared.items():
        click.echo(f"{table}: personal data cleared in {count} rows older than {period} days")


@cli.command("backup")
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
def backup_cmd(target: Path) -> None:
    """Back up the database to TARGET (a SQLite copy, or a pg_dump custom-format file)."""
    from participation.core.maintenance import backup

    try:
        backup(get_settings().database_url, target)
    except (RuntimeError, OSError) as exc:
        fail(str(exc))
    click.echo(f"backup written to {target}")


@cli.command("restore")
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore_cmd(source: Path, yes: bool) -> None:
    """Replace the database's contents with the backup SOURCE."""
    from participation.core.maintenance import restore
    from participation.db import engine_for

    url = get_settings().database_url
    if not yes:
        click.confirm(f"Replace everything in {_safe_url(url)} with {source}?", abort=True)
    engine_for(url).dispose()
    try:
        restore(url, source)
    except (RuntimeError, OSError, sqlite3.DatabaseError) as exc:
        fail(str(exc))
    click.echo(f"restored {source}")


def _register_domains() -> None:
    import importlib

    try:
        analysis_cli = importlib.import_module("participation.analysis.cli")
    except ModuleNotFoundError as exc:  # the analysis CLI is optional while it is being built
        if exc.name != "participation.analysis.cli":
            raise
        analysis_cli = None
    from participation.dashboards import cli as dashboards_cli
    from participation.fieldwork import cli as fieldwork_cli
    from participation.media import cli as media_cli
    from participation.reports import cli as reports_cli
    from participation.scoring import cli as scoring_cli
    from participation.surveys import cli as surveys_cli
    from participation.volunteers import cli as volunteers_cli

    if hasattr(analysis_cli, "estimate_command"):
        cli.add_command(analysis_cli.estimate_command, name="estimate")
    for module in (
        media_cli,
        surveys_cli,
        fieldwork_cli,
        volunteers_cli,
        reports_cli,
        scoring_cli,
        dashboards_cli,
    ):
        module.register(cli)


_register_domains()


def main() -> None:
    """Console-script entry point."""
    cli()


if __name__ == "__main__":
    main()
