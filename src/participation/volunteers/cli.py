"""Command-line commands of the volunteers domain: rectification rates, problem categories
and inspection standards.

Registered on the top-level ``participation`` group by ``participation.cli``.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import click

from participation.core.errors import ServiceError


def _fail(exc: ServiceError) -> None:
    from participation.cli import fail_service

    fail_service(exc)


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def register(cli: click.Group) -> None:
    """Add this domain's commands to ``cli``."""

    @cli.group()
    def volunteers() -> None:
        """Volunteer supervision and problem rectification (整改)."""

    @volunteers.command("rates")
    @click.option(
        "--start", type=click.DateTime(["%Y-%m-%d"]), help="First day (default: 30 days ago)."
    )
    @click.option("--end", type=click.DateTime(["%Y-%m-%d"]), help="Last day (default: today).")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
    def rates(start: object, end: object, as_json: bool) -> None:
        """Rectification rate and on-time rate per street for problems opened in a period."""
        from rich.console import Console
        from rich.table import Table

        from participation.core.timeutil import local_now
        from participation.db import get_engine, session_scope
        from participation.settings import get_settings
        from participation.volunteers.service import rectification_rates, street_names

        settings = get_settings()
        end_d: date = end.date() if end else local_now(settings.timezone).date()  # type: ignore[attr-defined]
        start_d: date = start.date() if start else end_d - timedelta(days=29)  # type: ignore[attr-defined]
        with session_scope(get_engine(settings)) as session:
            rows = rectification_rates(session, start_d, end_d, tz=settings.timezone)
            names = street_names(session, rows)
        if as_json:
            click.echo(
                json.dumps(
                    [{"name": names.get(c, ""), **r.__dict__} for c, r in rows.items()],
                    ensure_ascii=False,
                    indent=2,
                )
            )
            return
        table = Table(title=f"Rectification {start_d} – {end_d}")
        for name in ("street", "opened", "rectified", "verified", "overdue", "rate", "on time"):
            table.add_column(name, justify="left" if name == "street" else "right")
        for code, r in rows.items():
            table.add_row(
                f"{names.get(code, '')} {code}",
                str(r.total),
                str(r.rectified),
                str(r.verified),
                str(r.overdue),
                _percent(r.rate),
                _percent(r.on_time_rate),
            )
        Console().print(table)

    @volunteers.command("category")
    @click.argument("code")
    @click.option("--name", required=True, help="Chinese name of the category.")
    @click.option("--name-en", default="", help="English name.")
    @click.option("--days", type=int, required=True, help="Rectification deadline in days.")
    def category(code: str, name: str, name_en: str, days: int) -> None:
        """Create or change a problem category and its rectification deadline."""
        from participation.db import get_engine, session_scope
        from participation.settings import get_settings
        from participation.volunteers.service import set_category

        try:
            with session_scope(get_engine(get_settings())) as session:
                set_category(session, code, name=name, name_en=name_en, deadline_days=days)
        except ServiceError as exc:
            _fail(exc)
            return
        click.echo(f"category {code}: {days} days")

    @volunteers.command("standard")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    def standard(file: Path) -> None:
        """Add an inspection standard from JSON: {"name", "description", "items": [{"code",
        "text", "points", "category"}]}."""
        from participation.db import get_engine, session_scope
        from participation.settings import get_settings
        from participation.volunteers.service import create_standard, ensure_defaults

        try:
            spec = json.loads(file.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise click.ClickException(f"{file}: not valid JSON ({exc})") from exc
        if not isinstance(spec, dict):
            raise click.ClickException(f"{file}: expected a JSON object")
        try:
            with session_scope(get_engine(get_settings())) as session:
                ensure_defaults(session)
                s = create_standard(
                    session,
                    str(spec.get("name", "")),
                    list(spec.get("items") or []),
                    str(spec.get("description", "")),
                )
                click.echo(f"standard {s.id}: {s.name} ({len(s.items)} items)")
        except ServiceError as exc:
            _fail(exc)
