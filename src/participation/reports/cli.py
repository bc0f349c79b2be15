"""Command-line commands of the reports domain.

Registered on the top-level ``participation`` group by ``participation.cli``:

* ``participation reports codes --out DIR`` writes a PNG and/or SVG city service code per
  facility and an A4 sheet (``sheet.svg``) for printing;
* ``participation reports catalogue`` creates the default categories and published tariff.
"""

from __future__ import annotations

from pathlib import Path

import click


def register(cli: click.Group) -> None:
    """Add this domain's commands to ``cli``."""

    @cli.group()
    def reports() -> None:
        """Reward-for-report: categories, tariff and city service codes."""

    @reports.command("codes")
    @click.option(
        "--out",
        "out",
        required=True,
        type=click.Path(file_okay=False, path_type=Path),
        help="Directory to write the codes into (created if missing).",
    )
    @click.option(
        "--format",
        "formats",
        type=click.Choice(["png", "svg"]),
        multiple=True,
        default=("png", "svg"),
        show_default=True,
        help="Image formats (repeat for both).",
    )
    @click.option("--kind", default=None, help="Only facilities of this kind (e.g. bin).")
    @click.option(
        "--base-url",
        default=None,
        help="Public address the codes open (default: PARTICIPATION_PUBLIC_BASE_URL).",
    )
    def codes_command(
        out: Path, formats: tuple[str, ...], kind: str | None, base_url: str | None
    ) -> None:
        """Write a QR city service code per facility (PNG/SVG) and a printable sheet."""
        from sqlmodel import Session

        from participation.cli import fail
        from participation.db import get_engine
        from participation.reports import codes, service
        from participation.settings import get_settings

        settings = get_settings()
        base = base_url or settings.public_base_url
        if not base:
            fail("give --base-url or set PARTICIPATION_PUBLIC_BASE_URL (the codes need it)")
        if kind and kind not in service.FACILITY_KINDS:
            fail(f"unknown kind {kind}; one of {', '.join(service.FACILITY_KINDS)}")
        with Session(get_engine(settings)) as session:
            facilities = service.facilities(session, kind=kind)
        written = codes.write_codes(out, facilities, base, formats=formats)
        click.echo(f"{len(facilities)} facilities, {len(written)} files written to {out}")

    @reports.command("catalogue")
    def catalogue_command() -> None:
        """Create the default report categories and their published tariff (idempotent)."""
        from participation.db import get_engine, session_scope
        from participation.reports import service
        from participation.settings import get_settings

        with session_scope(get_engine(get_settings())) as session:
            added = service.ensure_catalogue(session)
        click.echo(f"{added} categories added")
