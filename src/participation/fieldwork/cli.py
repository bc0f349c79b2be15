"""Command-line commands of the fieldwork domain: progress per street and AAPOR rates.

Registered on the top-level ``participation`` group by ``participation.cli``.
"""

from __future__ import annotations

import json
from typing import Any

import click

from participation.core.errors import ServiceError

RATE_COLUMNS = ("RR1", "RR3", "RR5", "COOP1", "COOP3", "REF1", "CON1")


def _fail(exc: ServiceError) -> None:
    from participation.cli import fail_service

    fail_service(exc)


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def register(cli: click.Group) -> None:
    """Add this domain's commands to ``cli``."""

    @cli.group()
    def fieldwork() -> None:
        """Telephone fieldwork: progress per street and AAPOR response rates."""

    @fieldwork.command("progress")
    @click.argument("wave_id", type=int)
    @click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
    def progress(wave_id: int, as_json: bool) -> None:
        """Completes versus target, open and held cases and attempts per street of a wave."""
        from rich.console import Console
        from rich.table import Table

        from participation.db import get_engine, session_scope
        from participation.fieldwork.service import street_progress
        from participation.settings import get_settings

        try:
            with session_scope(get_engine(get_settings())) as session:
                rows = street_progress(session, wave_id)
        except ServiceError as exc:
            _fail(exc)
            return
        if as_json:
            click.echo(
                json.dumps(
                    [
                        {
                            "street_code": r.street_code,
                            "name": r.name,
                            "target": r.target,
                            "completes": r.completes,
                            "partials": r.partials,
                            "cases": r.cases,
                            "open_cases": r.open_cases,
                            "held": r.held,
                            "attempts": r.attempts,
                        }
                        for r in rows
                    ],
                    ensure_ascii=False,
                    indent=2,
                )
            )
            return
        table = Table(title=f"Wave {wave_id}: progress per street")
        for name in ("street", "target", "completes", "share", "partials", "open", "held"):
            table.add_column(name, justify="left" if name == "street" else "right")
        for r in rows:
            table.add_row(
                f"{r.name} {r.street_code}",
                str(r.target),
                str(r.completes),
                _percent(r.share),
                str(r.partials),
                str(r.open_cases),
                str(r.held),
            )
        Console().print(table)

    @fieldwork.command("rates")
    @click.argument("wave_id", type=int)
    @click.option(
        "--by",
        type=click.Choice(["wave", "street", "interviewer"]),
        default="wave",
        show_default=True,
        help="Breakdown of the AAPOR rates.",
    )
    @click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
    def rates(wave_id: int, by: str, as_json: bool) -> None:
        """AAPOR Standard Definitions rates (RR1–RR6, COOP1–4, REF1–3, CON1–3) of a wave, with
        the eligibility share e estimated from the sample."""
        from rich.console import Console
        from rich.table import Table

        from participation.db import get_engine, session_scope
        from participation.fieldwork.service import wave_rates
        from participation.settings import get_settings
        from participation.surveys.service import get_wave

        try:
            with session_scope(get_engine(get_settings())) as session:
                get_wave(session, wave_id)
                result = wave_rates(session, wave_id)
        except ServiceError as exc:
            _fail(exc)
            return
        rows = {
            "wave": [result.overall],
            "street": result.streets,
            "interviewer": result.interviewers,
        }[by]
        if as_json:
            payload: dict[str, Any] = {
                "wave_id": wave_id,
                "e": result.e,
                "by": by,
                "rows": [
                    {"key": r.key, "label": r.label, "counts": r.counts.as_dict(), "rates": r.rates}
                    for r in rows
                ],
            }
            click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
            return
        table = Table(title=f"Wave {wave_id}: AAPOR rates (e = {result.e:.3f})")
        table.add_column(by)
        for name in RATE_COLUMNS:
            table.add_column(name, justify="right")
        for r in rows:
            label = f"{r.label} {r.key}".strip() if by != "wave" else f"wave {wave_id}"
            table.add_row(label, *(_percent(r.rates.get(name)) for name in RATE_COLUMNS))
        Console().print(table)
