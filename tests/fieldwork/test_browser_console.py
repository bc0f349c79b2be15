"""Browser: an interviewer works through cases with the keyboard; the supervisor sees the rates."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from participation.accounts.roles import Role
from participation.core.timeutil import local_now
from tests.conftest import TEST_PASSWORD
from tests.fieldwork.conftest import make_field

pytestmark = pytest.mark.browser

ALWAYS = {"call_start": "00:00", "call_end": "00:00"}


def _sign_in(page, live_server, path: str, username: str) -> None:
    page.goto(live_server(path))
    assert "/login" in page.url
    page.fill("#username", username)
    page.fill("#password", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{path}")


def _key(page, key: str, then: str) -> None:
    """Press ``key`` and wait until the question ``then`` is highlighted."""
    page.keyboard.press(key)
    page.wait_for_selector(f"#q-{then}.current")


def test_interviewer_calls_and_supervisor_sees_rates(
    session: Session, settings, make_user, live_server, page
) -> None:
    fw = make_field(session, settings, per_street=3, streets=("371302001",), fieldwork=ALWAYS)
    make_user("caller", Role.INTERVIEWER)
    make_user("boss", Role.SUPERVISOR)
    session.close()
    _sign_in(page, live_server, "/cati", "caller")

    # 1. the first case: nobody answers
    page.click("#next-case")
    page.wait_for_url("**/cati/case/*")
    first = page.url.rsplit("/", 1)[1]
    dial = page.locator("#dial")
    assert dial.get_attribute("href") == "tel:" + fw.phones[int(first)]
    page.select_option("#disposition", "3.13")
    page.click("#record-outcome")
    page.wait_for_url("**/cati?notice=recorded*")
    assert "3.13" in page.locator("#notice").inner_text()

    # 2. the second case: the respondent asks to be called back tomorrow
    page.click("#next-case")
    page.wait_for_url("**/cati/case/*")
    second = page.url.rsplit("/", 1)[1]
    assert second != first
    tomorrow = (local_now(settings.timezone) + timedelta(days=1)).strftime("%Y-%m-%dT10:30")
    page.select_option("#disposition", "2.21")
    page.fill("#callback_at", tomorrow)
    page.fill("#notes", "请明天上午再打")
    page.click("#record-outcome")
    page.wait_for_url("**/cati?notice=recorded*")

    # 3. the third case: a complete interview, answered with the keyboard
    page.click("#next-case")
    page.wait_for_url("**/cati/case/*")
    third = page.url.rsplit("/", 1)[1]
    assert third not in (first, second)
    page.wait_for_selector("#q-resident.current")
    assert page.locator("#q-toilet").is_hidden()
    _key(page, "1", "cleaning")  # lives in the street
    _key(page, "2", "toilet_used")  # fairly satisfied
    _key(page, "1", "toilet")  # used a public toilet: the toilet question appears
    assert page.locator("#q-toilet").is_visible()
    _key(page, "3", "lighting")
    _key(page, "1", "sex")
    _key(page, "2", "age_group")
    page.keyboard.press("3")
    page.wait_for_selector("#complete:focus")  # the last question answered: Enter completes
    page.keyboard.press("Enter")
    page.wait_for_url("**/cati?notice=complete*")
    assert page.locator("#notice").is_visible()

    # the supervisor sees the counts and the AAPOR rates
    page.context.clear_cookies()
    path = f"/fieldwork/waves/{fw.wave_id}"
    _sign_in(page, live_server, path, "boss")
    assert page.locator("#total-completes").inner_text() == "1"
    counts = {
        c: page.locator(f"#counts td[data-category={c}]").inner_text()
        for c in ("I", "NC", "UH", "NE")
    }
    assert counts == {"I": "1", "NC": "1", "UH": "1", "NE": "0"}
    # I / (I + P + R + NC + O + UH + UO) = 1 / 3
    assert page.locator("#rates-wave td[data-rate=RR1]").inner_text() == "33.3%"
    assert page.locator("#rates-wave td[data-rate=COOP1]").inner_text() == "100.0%"
    assert page.locator("#e-value").inner_text() in ("1", "1.000")  # no case known ineligible
    assert page.locator("#productivity tbody tr").count() == 1
