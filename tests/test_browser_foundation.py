"""Browser: an official signs in, switches the language and browses the unit tree."""

import pytest

from participation.accounts.roles import Role
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.browser


def test_official_signs_in_switches_language_and_browses_units(linyi, make_user, live_server, page):
    make_user("lanshan_official", Role.OFFICIAL, "371302")
    page.goto(live_server("/units"))
    # Anonymous visitors are sent to the sign-in page.
    assert "/login" in page.url
    page.fill("#username", "lanshan_official")
    page.fill("#password", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/units")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert "单位" in page.locator("h1").inner_text()
    # The county official sees the path to their county, then its streets.
    page.click("text=临沂市")
    page.click("text=兰山区")
    page.wait_for_url("**/units/371302")
    rows = page.locator("#units tbody tr")
    assert rows.count() == 11
    assert page.locator("#units").get_by_text("银雀山街道").count() == 1
    # Switch to English: the same page, English labels.
    page.click("#lang-en")
    page.wait_for_url("**/units/371302")
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Adult population" in page.content()
    page.click("text=银雀山街道")
    page.wait_for_url("**/units/371302002")
    assert page.locator("#cells tbody tr").count() == 8
    # Another county is outside this official's scope.
    response = page.goto(live_server("/units/371311"))
    assert response is not None and response.status == 403
