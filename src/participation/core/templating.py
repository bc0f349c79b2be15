"""Jinja2 set-up: the i18n extension bound per request to babel translations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment
from jinja2.ext import _make_new_gettext, _make_new_ngettext  # stable helpers of jinja2.ext.i18n
from litestar import Request

from participation.accounts.roles import Role
from participation.core.i18n import SUPPORTED_LOCALES, Formatter, get_translations

FRONTEND_DIR = Path(__file__).resolve().parents[3] / "frontend"
TEMPLATES_DIR = FRONTEND_DIR / "templates"
STATIC_DIR = FRONTEND_DIR / "static"


def configure_environment(env: Environment) -> None:
    """Add the i18n extension (new-style gettext) and shared filters to the environment."""
    env.add_extension("jinja2.ext.i18n")
    env.policies["ext.i18n.trimmed"] = True
    env.autoescape = True


def template_globals(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Per-request template context: translations, formatter, user, locale."""
    from participation.core.web import current_user, locale_of

    locale = locale_of(request)
    translations = get_translations(locale)
    return {
        "gettext": _make_new_gettext(translations.gettext),
        "_": _make_new_gettext(translations.gettext),
        "ngettext": _make_new_ngettext(translations.ngettext),
        "fmt": Formatter(locale),
        "locale": locale,
        "html_lang": "zh-CN" if locale == "zh_CN" else locale,
        "locales": SUPPORTED_LOCALES,
        "user": current_user(request),
        "Role": Role,
        "request_path": request.url.path,
        "request_query": request.url.query,
    }
