"""Every extracted message has a zh_CN translation; locale negotiation; babel formatting."""

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir

from participation.core.i18n import Formatter, get_translations, negotiate, parse_accept_language

ROOT = Path(__file__).resolve().parents[1]
METHOD_MAP = [("**.py", "python"), ("**.html", "jinja2")]
OPTIONS = {"**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}


def extracted_messages() -> dict[str, str]:
    found: dict[str, str] = {}
    for folder in (ROOT / "src" / "participation", ROOT / "frontend" / "templates"):
        for filename, lineno, message, _comments, _ctx in extract_from_dir(
            folder, METHOD_MAP, options_map=OPTIONS, keywords=KEYWORDS
        ):
            ids = message if isinstance(message, tuple) else (message,)
            for msgid in ids:
                if msgid:
                    found.setdefault(msgid, f"{folder.name}/{filename}:{lineno}")
    return found


def test_every_message_has_a_zh_cn_translation():
    messages = extracted_messages()
    assert len(messages) > 50
    catalog = get_translations("zh_CN")._catalog  # type: ignore[attr-defined]
    missing = {
        msgid: where
        for msgid, where in messages.items()
        if not catalog.get(msgid)
        and not any(isinstance(k, tuple) and k[0] == msgid and catalog[k] for k in catalog)
    }
    assert not missing, "messages without a zh_CN translation:\n" + "\n".join(
        f"  {where}: {msgid!r}" for msgid, where in sorted(missing.items(), key=lambda x: x[1])
    )


def test_template_messages_escape_literal_percent_signs():
    """Templates use new-style gettext, which always %-formats: a literal % must be %%."""
    single = re.compile(r"%(?![%(])")
    found = extract_from_dir(
        ROOT / "frontend" / "templates", METHOD_MAP, options_map=OPTIONS, keywords=KEYWORDS
    )
    bad = [
        f"{filename}:{lineno}: {message!r}"
        for filename, lineno, message, _c, _x in found
        for m in (message if isinstance(message, tuple) else (message,))
        if m and single.search(m.replace("%%", ""))
    ]
    assert not bad, "use %% for a literal percent sign in template messages:\n" + "\n".join(bad)
    catalog = get_translations("zh_CN")._catalog  # type: ignore[attr-defined]
    for msgid, text in catalog.items():
        if isinstance(msgid, str) and "%%" in msgid:
            assert "%%" in text, f"the zh_CN translation of {msgid!r} must keep %%"


@pytest.mark.parametrize(
    ("query", "cookie", "header", "expected"),
    [
        ("en", "zh_CN", "zh-CN", "en"),
        (None, "en", "zh-CN", "en"),
        (None, None, "en-US,en;q=0.9", "en"),
        (None, None, "fr-FR, en;q=0.5, zh;q=0.8", "zh_CN"),
        (None, None, "de", "zh_CN"),
        ("xx", None, None, "zh_CN"),
        (None, None, None, "zh_CN"),
    ],
)
def test_locale_negotiation(query, cookie, header, expected):
    assert negotiate(query, cookie, header, "zh_CN") == expected


def test_accept_language_q_values():
    assert parse_accept_language("en;q=0.2, zh-CN, fr;q=0") == ["zh_CN", "en"]


def test_babel_formatting():
    zh, en = Formatter("zh_CN"), Formatter("en")
    assert en.number(1234567.891, 1) == "1,234,567.9"
    assert zh.percent(0.8567) == "85.7%"
    from datetime import date

    assert zh.date(date(2026, 3, 1)) == "2026年3月1日"
    assert en.date(date(2026, 3, 1)) == "Mar 1, 2026"
    assert zh.number(None) == "—"


def test_pages_follow_the_language(client):
    assert "登录" in client.get("/login").text
    assert "Sign in" in client.get("/login?lang=en").text
    r = client.get("/lang/en?next=/login", follow_redirects=False)
    assert r.status_code == 303 and r.cookies.get("lang") == "en"
    assert "Password" in client.get("/login").text
    # The cookie outranks Accept-Language.
    assert "Password" in client.get("/login", headers={"accept-language": "zh-CN"}).text
