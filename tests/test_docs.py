"""Every setting and every top-level command is documented in the README."""

from pathlib import Path

from participation.cli import cli
from participation.settings import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented():
    for name, field in Settings.model_fields.items():
        assert f"PARTICIPATION_{name.upper()}" in README, f"setting {name} is not in the README"
        assert field.description, f"setting {name} has no description"


def test_readme_gives_the_two_set_up_commands():
    assert ".venv/bin/pip install -e . && .venv/bin/participation demo" in README
    assert ".venv/bin/pip install -e '.[test]' && .venv/bin/pytest" in README
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text(encoding="utf-8")
    assert ".venv/bin/pip install -e '.[test]' && .venv/bin/pytest" in ci


def test_main_commands_are_documented():
    for name in ("demo", "serve", "db", "users", "import"):
        assert name in cli.commands
        assert f"participation {name}" in README, f"command {name} is not in the README"
