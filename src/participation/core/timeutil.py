"""Time helpers: timestamps are timezone-aware UTC (SQLModel stores them as UTC); the city's
local zone (``Settings.timezone``) is for display and calling hours."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    """Current time, aware, in UTC (the storage convention of every table)."""
    return datetime.now(UTC)


def to_local(value: datetime, tz: str) -> datetime:
    """A stored timestamp in the city's local time zone (naive values are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(ZoneInfo(tz))


def local_now(tz: str) -> datetime:
    """Current local time of the city (aware)."""
    return datetime.now(ZoneInfo(tz))
