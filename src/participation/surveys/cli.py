"""Command-line commands of the surveys domain.

Registered on the top-level ``participation`` group by ``participation.cli``.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

import click
from sqlmodel import Session

from participation.core.errors import ServiceError


def _session() -> AbstractContextManager[Session]:
    from participation.db import get_engine, session_scope
    from participation.settings import get_settings

    return session_scope(get_engine(get_settings()))


def _fail(exc: ServiceError) -> None:
    from participation.cli import fail_service

    fail_service(exc)


def register(cli: click.Group) -> None:
    """Add this domain's commands to ``cli``."""

    @cli.group()
    def waves() -> None:
        """Survey waves: list, estimate."""

    @waves.command("list")
    def waves_list() -> None:
        """List the waves."""
        from participation.surveys.service import list_waves

        with _session() as session:
            for w in list_waves(session):
                click.echo(
                    f"{w.id:>4}  {w.status:<10} {w.source:<12} {w.period_start} – {w.period_end}  "
                    f"{w.name}"
                )

    @waves.command("estimate")
    @click.argument("wave_id", type=int)
    def waves_estimate(wave_id: int) -> None:
        """Compute the weighted street, county and city estimates of a closed wave."""
        from participation.surveys.estimates import compute_wave_results

        try:
            with _session() as session:
                count = compute_wave_results(session, wave_id)
        except ServiceError as exc:
            _fail(exc)
            return
        click.echo(f"wave {wave_id}: estimates for {count} units")

    @waves.command("small-area")
    @click.argument("wave_id", type=int)
    @click.option(
        "--method",
        type=click.Choice(["REML", "ML", "FH"]),
        default="REML",
        show_default=True,
        help="Estimator of the between-street variance.",
    )
    @click.option("--no-history", is_flag=True, help="Do not use earlier waves as a covariate.")
    @click.option(
        "--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="JSON file."
    )
    def waves_small_area(wave_id: int, method: str, no_history: bool, out: Path | None) -> None:
        """Model-based street estimates (Fay–Herriot EBLUP) of a wave as JSON; nothing stored."""
        import json

        from participation.surveys.small_area import model_based_streets

        try:
            with _session() as session:
                result = model_based_streets(
                    session, wave_id, method=method, history=not no_history
                )
        except ServiceError as exc:
            _fail(exc)
            return
        text = json.dumps(result, ensure_ascii=False, indent=2)
        if out is None:
            click.echo(text)
        else:
            out.write_text(text + "\n", encoding="utf-8")
            click.echo(
                f"wave {wave_id}: model-based estimates for {len(result['streets'])} streets"
            )

    @waves.command("select")
    @click.argument("wave_id", type=int)
    @click.option("--seed", type=int, default=None, help="Random seed (recorded).")
    @click.option("--replicates", type=int, default=4, show_default=True)
    @click.option("--oversample", type=float, default=2.0, show_default=True)
    def waves_select(wave_id: int, seed: int | None, replicates: int, oversample: float) -> None:
        """Select a wave's sample from the frames (replicate 1 released)."""
        from participation.surveys.frames import select_sample

        try:
            with _session() as session:
                report = select_sample(
                    session, wave_id, seed=seed, replicates=replicates, oversample=oversample
                )
        except ServiceError as exc:
            _fail(exc)
            return
        click.echo(f"selected {report.selected} cases with seed {report.seed}")
        for stratum, missing in sorted(report.short.items()):
            click.echo(f"  short by {missing}: {stratum}")

    @cli.group()
    def frames() -> None:
        """Telephone sample frames."""

    @frames.command("import")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option(
        "--skip-invalid", is_flag=True, help="Import the valid lines and list the invalid ones."
    )
    def frames_import(path: Path, skip_invalid: bool) -> None:
        """Import phone numbers (CSV/XLSX: street_code,phone[,frame_type])."""
        from participation.core.crypto import Vault
        from participation.settings import get_settings
        from participation.surveys.frames import import_frame

        try:
            with _session() as session:
                report = import_frame(
                    session,
                    Vault(get_settings()),
                    path.read_bytes(),
                    path.name,
                    skip_invalid=skip_invalid,
                )
        except ServiceError as exc:
            _fail(exc)
            return
        click.echo(
            f"imported {report.imported}, duplicates {report.duplicates}, "
            f"do-not-call {report.do_not_call}, invalid {len(report.invalid)}"
        )
        for line, column, reason in report.invalid:
            click.echo(f"  line {line}, {column}: {reason}")

    @cli.group()
    def questionnaires() -> None:
        """Questionnaires: XLSForm import and export."""

    @questionnaires.command("import")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    def questionnaires_import(path: Path) -> None:
        """Import an XLSForm workbook as a new questionnaire version."""
        from participation.surveys.service import import_xlsform

        try:
            with _session() as session:
                q = import_xlsform(session, path.read_bytes())
                click.echo(f"questionnaire {q.id}: {q.code} v{q.version}")
        except ServiceError as exc:
            _fail(exc)

    @questionnaires.command("export")
    @click.argument("questionnaire_id", type=int)
    @click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
    def questionnaires_export(questionnaire_id: int, path: Path) -> None:
        """Write a questionnaire version as an XLSForm workbook."""
        from participation.surveys.service import export_xlsform, get_questionnaire

        try:
            with _session() as session:
                path.write_bytes(export_xlsform(get_questionnaire(session, questionnaire_id)))
        except ServiceError as exc:
            _fail(exc)
            return
        click.echo(f"written {path}")

    @cli.group()
    def invitations() -> None:
        """Web-survey invitations."""

    @invitations.command("send")
    @click.option("--wave", "wave_id", type=int, required=True, help="Wave id.")
    @click.option(
        "--base-url",
        default="http://127.0.0.1:8000",
        show_default=True,
        help="Public address of the platform (the link in the SMS).",
    )
    def invitations_send(wave_id: int, base_url: str) -> None:
        """Invite the released mobile cases of a web wave: queue an SMS with a personal link."""
        from participation.core.crypto import Vault
        from participation.settings import get_settings
        from participation.surveys.websurvey import RecordingSender, send_invitations

        vault = Vault(get_settings())
        try:
            with _session() as session:
                count = send_invitations(session, wave_id, vault, RecordingSender(vault), base_url)
        except ServiceError as exc:
            _fail(exc)
            return
        click.echo(f"queued {count} invitations (see `participation outbox`)")

    @cli.command("outbox")
    @click.option("--limit", type=int, default=20, show_default=True)
    def outbox(limit: int) -> None:
        """List the newest messages of the SMS outbox (numbers masked)."""
        from participation.core.crypto import Vault, mask_phone
        from participation.settings import get_settings
        from participation.surveys.websurvey import list_outbox

        vault = Vault(get_settings())
        with _session() as session:
            for m in list_outbox(session, limit):
                click.echo(
                    f"{m.id:>6}  {m.created_at:%Y-%m-%d %H:%M}  {m.status:<7} "
                    f"{mask_phone(vault.decrypt(m.to_enc))}  {m.body}"
                )
