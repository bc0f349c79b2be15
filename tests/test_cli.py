"""The command line: every command has help; users create; db upgrade/current."""

import click
import pytest
from click.testing import CliRunner
from sqlmodel import select

from participation.accounts.models import User
from participation.cli import cli
from participation.settings import get_settings


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        path = (*prefix, name)
        yield path, command
        if isinstance(command, click.Group):
            yield from all_commands(command, path)


def test_top_level_help_lists_commands():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in ("db", "users", "demo", "serve", "import"):
        assert name in result.output


@pytest.mark.parametrize("path", [p for p, _ in all_commands(cli)], ids=" ".join)
def test_every_command_has_help(path):
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    command = cli
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    assert command.help or command.short_help, f"{' '.join(path)} has no help text"


@pytest.fixture
def env_db(settings, monkeypatch):
    monkeypatch.setenv("PARTICIPATION_DATABASE_URL", settings.database_url)
    for key in ("secret_key", "data_keys", "hash_key"):
        monkeypatch.setenv(f"PARTICIPATION_{key.upper()}", getattr(settings, key))
    get_settings.cache_clear()
    yield settings
    get_settings.cache_clear()


def test_users_create_makes_an_administrator(env_db, session):
    result = CliRunner().invoke(
        cli,
        [
            "users",
            "create",
            "--username",
            "root",
            "--role",
            "administrator",
            "--password",
            "long-enough-pw",
        ],
    )
    assert result.exit_code == 0, result.output
    user = session.exec(select(User).where(User.username == "root")).one()
    assert user.role == "administrator"
    assert user.password_hash.startswith("$argon2id$")


def test_users_create_refuses_bad_input(env_db):
    runner = CliRunner()
    short = runner.invoke(
        cli,
        ["users", "create", "--username", "x", "--role", "administrator", "--password", "short"],
    )
    assert short.exit_code == 1 and "at least 8" in short.output
    role = runner.invoke(
        cli,
        ["users", "create", "--username", "x", "--role", "king", "--password", "long-enough-pw"],
    )
    assert role.exit_code == 1 and "Unknown role king" in role.output


def test_db_current_reports_up_to_date(env_db):
    result = CliRunner().invoke(cli, ["db", "current"])
    assert result.exit_code == 0, result.output
    assert "database:" in result.output
