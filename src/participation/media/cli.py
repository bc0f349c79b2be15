"""Command-line commands of the media domain.

Registered on the top-level ``participation`` group by ``participation.cli``.
"""

from __future__ import annotations

from datetime import timedelta

import click


def register(cli: click.Group) -> None:
    """Add this domain's commands to ``cli``."""

    @cli.group()
    def media() -> None:
        """Uploaded photos."""

    @media.command("prune")
    @click.option(
        "--hours",
        type=click.IntRange(min=1),
        default=24,
        show_default=True,
        help="Age after which an upload that was never attached is deleted.",
    )
    def prune(hours: int) -> None:
        """Delete photos uploaded but never attached to a visit, problem or report, and files
        in the upload directory that no photo record names."""
        from participation.db import get_engine, session_scope
        from participation.media.service import prune_orphan_files, prune_pending
        from participation.settings import get_settings

        settings = get_settings()
        with session_scope(get_engine(settings)) as session:
            count = prune_pending(session, settings, timedelta(hours=hours))
        click.echo(f"{count} unattached photo(s) deleted")
        with session_scope(get_engine(settings)) as session:
            orphans = prune_orphan_files(session, settings, timedelta(hours=hours))
        click.echo(f"{orphans} file(s) without a photo record deleted")
