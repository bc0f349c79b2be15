"""Browser: a resident answers the web survey on a 360 px phone, with skip logic, a reload
mid-way, a submit and the thank-you page; a second submit of the same token is refused."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, select

from participation.surveys.models import Invitation, Response
from participation.surveys.websurvey import create_invitation
from tests.browser_support import PHONE_VIEWPORT
from tests.surveys.helpers import STREET, fielding_wave

pytestmark = pytest.mark.browser


@pytest.fixture
def browser_context_args() -> dict[str, Any]:
    return dict(PHONE_VIEWPORT)


def answer_visible(page: Any) -> None:
    """Answer every visible question of the page (first choice; 5 for numbers)."""
    for block in page.locator("form#survey .q:visible").all():
        radios = block.locator("input[type=radio]")
        if radios.count() and not block.locator("input[type=radio]:checked").count():
            radios.first.check()
        number = block.locator("input[type=text]")
        if number.count() and not number.input_value():
            number.fill("5")


def test_resident_answers_on_a_phone(
    live_server: Any, page: Any, session: Session, linyi: None
) -> None:
    wave = fielding_wave(session)
    assert wave.id is not None
    _, token = create_invitation(session, wave.id, STREET)
    session.commit()
    url = live_server(f"/s/{token}")

    page.goto(url)
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    # page 1: the screening question
    page.locator("label.choice", has_text="是").first.click()
    page.click("#next")
    page.wait_for_selector("input[name=street_cleaning]")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    # skip logic, live: the toilet rating appears only after "yes"
    toilet = page.locator("#q-toilet_cleanliness")
    assert toilet.is_hidden()
    page.locator("#q-toilet_used input[value='1']").check()
    toilet.wait_for(state="visible")
    page.locator("#q-toilet_used input[value='2']").check()
    toilet.wait_for(state="hidden")
    page.locator("#q-toilet_used input[value='1']").check()
    toilet.wait_for(state="visible")
    page.locator("#q-toilet_cleanliness input[value='2']").check()
    page.fill("#f-years_lived", "300")
    answer_visible(page)
    page.click("#next")
    # a clear message next to the field; the other answers are kept
    assert "0到100" in page.locator("#err-years_lived").inner_text()
    assert page.locator("#q-toilet_cleanliness input[value='2']").is_checked()
    page.fill("#f-years_lived", "12")
    page.click("#next")
    page.wait_for_selector("input[name=street_vending]")

    # answer one question (autosaved), then reload: the answers and the page come back
    page.locator("#q-street_vending input[value='3']").check()
    page.wait_for_selector("form#survey[data-synced]", state="attached")
    page.goto(url)
    page.wait_for_selector("input[name=street_vending]")
    assert page.locator("#q-street_vending input[value='3']").is_checked()

    # a second device opens the survey's last page before the first one submits
    other = page.context.new_page()

    for _ in range(10):
        answer_visible(page)
        if page.locator("#submit").count():
            other.goto(page.url)
            other.wait_for_selector("#submit")
            answer_visible(other)
            page.click("#submit")
            break
        page.click("#next")
        page.wait_for_load_state()
    page.wait_for_selector("#thanks")
    assert "/thanks" in page.url

    # the same token again: refused politely, nothing changes
    other.click("#submit")
    other.wait_for_selector("#already")
    page.goto(url)
    assert page.locator("#already").count() == 1

    responses = session.exec(select(Response)).all()
    assert len(responses) == 1
    stored = responses[0]
    assert stored.mode == "web" and stored.complete
    assert stored.answers["toilet_cleanliness"] == "2"
    assert stored.answers["street_vending"] == "3"
    assert stored.answers["years_lived"] == 12
    assert session.exec(select(Invitation)).one().status == "completed"
    session.rollback()
