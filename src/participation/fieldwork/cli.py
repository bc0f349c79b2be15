"""Command-line commands of the fieldwork domain.

Registered on the top-level ``participation`` group by ``participation.cli``.
"""

import click


def register(cli: click.Group) -> None:
    """Add this domain's commands to ``cli``."""
