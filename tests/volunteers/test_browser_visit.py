"""Browser, phone-sized: a volunteer logs a visit (location from the browser, checklist by touch
and keyboard, a finding with a photo); the finding becomes a problem for the street found from
the location; the street official rectifies it with a proof photo, the county official verifies
it, and the rectification rate shown changes accordingly."""

from __future__ import annotations

import json
from typing import Any

import pytest

from participation.geography.models import UnitBoundary
from tests.browser_support import PHONE_VIEWPORT
from tests.conftest import TEST_PASSWORD
from tests.media.images import png_bytes
from tests.volunteers.conftest import STREET

pytestmark = pytest.mark.browser

HERE = {"latitude": 35.0612, "longitude": 118.3420}
SQUARE = {
    "type": "Polygon",
    "coordinates": [
        [[118.30, 35.03], [118.38, 35.03], [118.38, 35.09], [118.30, 35.09], [118.30, 35.03]]
    ],
}


@pytest.fixture
def browser_context_args() -> dict[str, Any]:
    return {**PHONE_VIEWPORT, "geolocation": HERE, "permissions": ["geolocation"]}


def sign_in(page: Any, live_server: Any, path: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(live_server(path))
    assert "/login" in page.url
    page.fill("#username", username)
    page.fill("#password", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{path}")


def no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_VIEWPORT["viewport"]["width"] + 1, width


def rate_of_street(page: Any, live_server: Any) -> str:
    page.goto(live_server("/problems/rates"))
    return page.locator(f"#rate-{STREET} td.rate").inner_text().strip()


def test_visit_to_problem_to_rectification(world, session, live_server, page, tmp_path):
    from playwright.sync_api import expect

    session.add(UnitBoundary(unit_code=STREET, geometry=json.dumps(SQUARE)))
    session.commit()
    session.close()
    photo = tmp_path / "garbage.png"
    photo.write_bytes(png_bytes((64, 48)))
    proof = tmp_path / "clean.png"
    proof.write_bytes(png_bytes((64, 48), (30, 160, 60)))

    # the street official sees no problem yet
    sign_in(page, live_server, "/problems/rates", "yinqueshan")
    assert rate_of_street(page, live_server) == "—"

    # 1. the volunteer logs a visit on the phone
    sign_in(page, live_server, "/volunteers", "vol1")
    page.tap("#new-visit button[type=submit]")
    page.wait_for_url("**/volunteers/visits/*")
    no_sideways_scroll(page)
    # a pin on the street map (its middle), moved a little with the keyboard ...
    page.tap("#pin-map")
    assert page.input_value("#location_source") == "pin"
    assert abs(float(page.input_value("#lat")) - 35.06) < 0.01
    page.focus("#pin-map")
    before = float(page.input_value("#lon"))
    page.keyboard.press("ArrowLeft")
    assert float(page.input_value("#lon")) < before
    # ... then the browser's location replaces it
    page.tap("#locate")
    expect(page.locator("#lat")).not_to_have_value("")  # no string eval: the CSP forbids it
    expect(page.locator("#lat")).to_have_value(f"{HERE['latitude']:.6f}")
    assert page.input_value("#location_source") == "gps"
    for item in world.standard.items:
        if item["code"] != "C1":
            page.tap(f"label:has(#result_{item['code']}_pass)")
    # C1 by keyboard: focus "pass", the arrow key moves to "fail"
    page.focus("#result_C1_pass")
    page.keyboard.press("Space")
    page.keyboard.press("ArrowRight")
    assert page.is_checked("#result_C1_fail")
    assert page.input_value("#finding_item") == "C1"  # preselected by the failed item
    page.fill("#finding_description", "路边垃圾堆放未清运")
    page.set_input_files("#photo", str(photo))
    page.tap("#save")
    page.wait_for_url("**notice=saved**")
    assert page.locator("#street-now").inner_text().find("银雀山街道") >= 0
    assert page.locator(".finding img").count() == 1
    assert page.evaluate("document.querySelector('.finding img').naturalWidth") == 64
    page.tap("#submit-visit")
    page.wait_for_url("**notice=submitted**")
    assert page.locator("#visit-status").inner_text() == "已提交"
    assert page.locator("#visit-street").inner_text() == "银雀山街道"
    problem_url = page.locator("a.problem-link").get_attribute("href")
    no_sideways_scroll(page)

    # 2. the street official finds the problem and rectifies it with a proof photo
    sign_in(page, live_server, "/problems", "yinqueshan")
    assert page.locator("#problems tbody tr").count() == 1
    assert rate_of_street(page, live_server) == "0.0%"
    page.goto(live_server(problem_url))
    assert page.locator("#problem-street").inner_text() == "银雀山街道"
    assert page.locator("#problem-status").inner_text() == "待交办"
    page.fill("#note-assign", "交城管中队")
    page.tap("#do-assign")
    page.wait_for_url("**notice=assign")
    page.tap("#do-rectify")  # without the proof photo: refused, naming it
    page.wait_for_selector("#form-error")
    assert "照片" in page.locator("#form-error").inner_text()
    page.set_input_files("#photo-rectify", str(proof))
    page.fill("#note-rectify", "已清运")
    page.tap("#do-rectify")
    page.wait_for_url("**notice=rectify")
    assert page.locator("#problem-status").inner_text() == "已整改"
    assert page.locator("img.proof").count() == 1
    assert rate_of_street(page, live_server) == "100.0%"
    page.wait_for_selector("#rates-chart .main-svg")  # plotly drew the chart beside the table

    # 3. the county official verifies it
    sign_in(page, live_server, problem_url, "lanshan")
    page.tap("#do-verify")
    page.wait_for_url("**notice=verify")
    assert page.locator("#problem-status").inner_text() == "已验收"
    history = page.locator("#history li")
    assert history.count() == 4
    assert rate_of_street(page, live_server) == "100.0%"
    assert page.locator("#overall-rate").inner_text() == "100.0%"
