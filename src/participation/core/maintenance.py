"""Maintenance of personal data and the database: key rotation, retention, backup and restore.

Encrypted personal data lives in columns whose names end in ``_enc`` (a convention every domain
follows), so rotation finds them all. Tables holding personal data that expires declare
``__pii_retention__ = ("<timestamp column>", ("<column>", ...))``: retention clears those columns
(and the ``*_hash`` look-up columns named alongside) in rows older than the retention period,
leaving every anonymous statistic intact.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, Table, select, update
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

import participation.models  # noqa: F401  (registers every table)
from participation.core.crypto import Vault
from participation.core.timeutil import utcnow


def encrypted_columns() -> list[tuple[Table, str]]:
    """(table, column) of every encrypted personal-data column."""
    found = []
    for table in SQLModel.metadata.sorted_tables:
        for column in table.columns:
            if column.name.endswith("_enc"):
                found.append((table, column.name))
    return found


def rotate_keys(engine: Engine, vault: Vault, batch: int = 1000) -> dict[str, int]:
    """Re-encrypt every encrypted value with the newest key; returns rows per column."""
    done: dict[str, int] = {}
    for table, name in encrypted_columns():
        pk = list(table.primary_key.columns)
        if len(pk) != 1:
            continue
        key = pk[0]
        column = table.c[name]
        count = 0
        last = None
        while True:
            with engine.begin() as conn:
                query = select(key, column).where(column.is_not(None)).order_by(key).limit(batch)
                if last is not None:
                    query = query.where(key > last)
                rows = conn.execute(query).all()
                for row_key, value in rows:
                    conn.execute(
                        update(table).where(key == row_key).values({name: vault.rotate(value)})
                    )
                count += len(rows)
            if len(rows) < batch:
                break
            last = rows[-1][0]
        done[f"{table.name}.{name}"] = count
    return done


@dataclass(frozen=True)
class RetentionResult:
    """Rows whose personal data was cleared, per table."""

    cleared: dict[str, int]


def apply_retention(engine: Engine, days: int) -> RetentionResult:
    """Clear expired personal data in every table declaring ``__pii_retention__``."""
    cutoff = utcnow() - timedelta(days=days)
    cleared: dict[str, int] = {}
    for mapper in SQLModel._sa_registry.mappers:  # type: ignore[attr-defined]
        model = mapper.class_
        spec = getattr(model, "__pii_retention__", None)
        if not spec:
            continue
        stamp, columns = spec
        table: Table = model.__table__
        values = {c: None for c in columns}
        with engine.begin() as conn:
            result = conn.execute(
                update(table)
                .where(table.c[stamp] < cutoff)
                .where(table.c[columns[0]].is_not(None))
                .values(values)
            )
        cleared[table.name] = result.rowcount or 0
    return RetentionResult(cleared)


def backup(url: str, target: Path) -> Path:
    """Write a consistent copy of the database: a SQLite file, or a PostgreSQL custom dump."""
    parsed = make_url(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    if parsed.get_backend_name() == "sqlite":
        source = sqlite3.connect(parsed.database or "")
        dest = sqlite3.connect(target)
        with dest:
            source.backup(dest)
        dest.close()
        source.close()
        return target
    if shutil.which("pg_dump") is None:
        raise RuntimeError("pg_dump is not installed (apt-get install postgresql-client)")
    subprocess.run(
        ["pg_dump", "--format=custom", "--no-owner", f"--file={target}", _libpq_url(url)],
        check=True,
    )
    return target


def restore(url: str, source: Path) -> None:
    """Replace the database's contents with a backup made by :func:`backup`."""
    if not source.exists():
        raise FileNotFoundError(f"{source}: no such backup")
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        with sqlite3.connect(source) as check:
            check.execute("PRAGMA integrity_check").fetchone()
        src = sqlite3.connect(source)
        dest = sqlite3.connect(parsed.database or "")
        with dest:
            src.backup(dest)
        dest.close()
        src.close()
        return
    if shutil.which("pg_restore") is None:
        raise RuntimeError("pg_restore is not installed (apt-get install postgresql-client)")
    subprocess.run(
        [
            "pg_restore",
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            f"--dbname={_libpq_url(url)}",
            str(source),
        ],
        check=True,
    )


def _libpq_url(url: str) -> str:
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)
