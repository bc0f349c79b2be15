"""Translations and locale-aware formatting (babel).

Message ids are English; ``zh_CN`` is the default locale. Catalogs are the ``*.po`` files under
``participation/locale/<locale>/LC_MESSAGES/`` (one per domain, merged at load time), compiled
in memory, so no ``.mo`` build step is needed.

Locale of a request: ``?lang=``, then the ``lang`` cookie, then ``Accept-Language``.
"""

from __future__ import annotations

import gettext as _gettext
from datetime import date, datetime
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError, negotiate_locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
SUPPORTED_LOCALES: tuple[str, ...] = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"


def N_(message: str) -> str:
    """Mark a string for extraction without translating it now."""
    return message


@cache
def get_translations(locale: str) -> _gettext.NullTranslations:
    """The merged catalog of every domain for ``locale``."""
    folder = LOCALE_DIR / locale / "LC_MESSAGES"
    merged: _gettext.NullTranslations = _gettext.NullTranslations()
    first = True
    for po_path in sorted(folder.glob("*.po")):
        with po_path.open("rb") as fh:
            catalog = read_po(fh, locale=locale)
        buf = BytesIO()
        write_mo(buf, catalog, use_fuzzy=False)
        buf.seek(0)
        trans = _gettext.GNUTranslations(buf)
        if first:
            merged = trans
            first = False
        else:
            merged._catalog.update(trans._catalog)  # type: ignore[attr-defined]
    return merged


def gettext(msgid: str, locale: str, /, **params: Any) -> str:
    """Translate ``msgid`` into ``locale`` and fill ``%(name)s`` parameters."""
    text = get_translations(locale).gettext(msgid)
    return text % params if params else text


def parse_accept_language(header: str) -> list[str]:
    """Language tags of an ``Accept-Language`` header, best first (q-values honoured)."""
    entries: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        piece = part.strip()
        if not piece:
            continue
        tag, _, params = piece.partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0 and tag.strip() != "*":
            entries.append((-q, index, tag.strip().replace("-", "_")))
    return [tag for _, _, tag in sorted(entries)]


def normalise_locale(value: str | None) -> str | None:
    """A supported locale matching ``value`` (``en-US`` → ``en``, ``zh`` → ``zh_CN``), or None."""
    if not value:
        return None
    value = value.replace("-", "_")
    found = negotiate_locale([value], list(SUPPORTED_LOCALES), sep="_")
    if found:
        return found
    try:
        lang = Locale.parse(value).language
    except (ValueError, UnknownLocaleError):
        return None
    for supported in SUPPORTED_LOCALES:
        if supported.split("_")[0] == lang:
            return supported
    return None


def negotiate(
    query: str | None, cookie: str | None, accept_language: str | None, default: str
) -> str:
    """Pick the locale: ``?lang=``, then cookie, then ``Accept-Language``, then ``default``."""
    for candidate in (query, cookie):
        found = normalise_locale(candidate)
        if found:
            return found
    if accept_language:
        for tag in parse_accept_language(accept_language):
            found = normalise_locale(tag)
            if found:
                return found
    return default


class Formatter:
    """Locale-bound formatting of numbers, percentages and dates (for templates and exports)."""

    def __init__(self, locale: str) -> None:
        self.locale = locale

    def number(self, value: float | int | None, digits: int = 0) -> str:
        """A number with grouping and ``digits`` decimals; an em dash for missing values."""
        if value is None or value != value:
            return "—"
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(value, format=pattern, locale=self.locale)

    def percent(self, value: float | None, digits: int = 1) -> str:
        """A share (0–1) as a percentage."""
        if value is None or value != value:
            return "—"
        pattern = "#,##0" + ("." + "0" * digits if digits else "") + "%"
        return format_percent(value, format=pattern, locale=self.locale)

    def date(self, value: date | datetime | None, form: str = "medium") -> str:
        """A date in the locale's ``form`` (short, medium, long)."""
        if value is None:
            return "—"
        if isinstance(value, datetime):
            value = value.date()
        return format_date(value, format=form, locale=self.locale)

    def datetime(self, value: datetime | None, form: str = "short") -> str:
        """A date and time in the locale's ``form``."""
        if value is None:
            return "—"
        return format_datetime(value, format=form, locale=self.locale)
