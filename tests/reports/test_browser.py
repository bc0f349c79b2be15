"""THE browser test of issue 6, on a phone-sized viewport: a resident opens a city service
code, files a report with a photo and gets a tracking code; an official verifies it (属实) and
a reward officer approves the reward; a second report of the same problem ten minutes later is
marked duplicate and earns nothing; the first reporter's tracking page shows the reward."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from participation.accounts.roles import Role
from participation.geography.models import UnitBoundary
from participation.reports import service
from participation.reports.models import Report, Reward
from tests.browser_support import PHONE_VIEWPORT
from tests.conftest import TEST_PASSWORD
from tests.reports.conftest import OTHER_STREET, STREET, jpeg_bytes

pytestmark = pytest.mark.browser


@pytest.fixture
def browser_context_args() -> dict[str, Any]:
    return dict(PHONE_VIEWPORT)


def _fits(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def _file_from_service_code(page: Any, url: str, photo: Path | None, phone: str) -> str:
    """Open the service code URL, file a report and return the tracking code shown."""
    page.goto(url)
    assert page.locator("#facility-box").is_visible()
    assert page.locator("#f-category").input_value() == "overflowing_bin"
    _fits(page)
    page.fill("#f-description", "垃圾桶满了，垃圾散落一地")
    if photo is not None:
        page.set_input_files("#f-photos", str(photo))
    page.fill("#f-phone", phone)
    page.click("#submit-report")
    page.wait_for_selector("#tracking-code")
    _fits(page)
    return page.locator("#tracking-code").inner_text().strip()


def _sign_in(page: Any, live_server: Any, username: str, path: str) -> None:
    page.goto(live_server(f"/login?next={path}"))
    page.fill("#username", username)
    page.fill("#password", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{path}")


def test_service_code_report_reward_and_duplicate_on_a_phone(
    live_server: Any,
    page: Any,
    session: Session,
    settings: Any,
    catalogue: Any,
    make_user: Any,
    tmp_path: Path,
) -> None:
    make_user("jiedao", Role.OFFICIAL, STREET)
    make_user("zhoukuaiji", Role.REWARD_OFFICER)
    photo = tmp_path / "bin.jpg"
    photo.write_bytes(jpeg_bytes((800, 600)))
    code_url = live_server("/report?facility=BIN-0001")

    # 1. A resident scans the code on the bin and files a report with a photo.
    first_code = _file_from_service_code(page, code_url, photo, "13812345678")
    assert "已成功提交" in page.locator("#filed").inner_text()
    assert page.locator("#track-status").get_attribute("data-status") == "new"
    first = service.by_tracking_code(session, first_code)
    assert first.facility_id == catalogue["bin"].id and first.street_code == STREET

    # 2. The street official verifies it: 属实 (true), with the photo in view.
    browser = page.context.browser
    official_ctx = browser.new_context(**PHONE_VIEWPORT)
    official = official_ctx.new_page()
    _sign_in(official, live_server, "jiedao", f"/reports/admin/{first.id}")
    image = official.locator(".photos img").first
    image.wait_for()
    official.wait_for_function("document.querySelector('.photos img').naturalWidth > 0")
    assert "138****5678" in official.content() and "13812345678" not in official.content()
    official.check("#o-true")
    official.select_option("#v-severity", "minor")
    official.click("#verify")
    official.wait_for_selector("#notice")
    assert official.locator("#report-status").get_attribute("data-status") == "confirmed"

    # 3. A reward officer approves the reward by the published tariff.
    officer_ctx = browser.new_context(**PHONE_VIEWPORT)
    officer = officer_ctx.new_page()
    _sign_in(officer, live_server, "zhoukuaiji", f"/reports/admin/{first.id}")
    officer.click("#approve-reward")
    officer.wait_for_selector("#reward-state")
    assert officer.locator("#reward-state").get_attribute("data-reward-status") == "approved"
    assert "10 元" in officer.locator("#reward-state").inner_text()

    # 4. Ten minutes later another resident reports the same problem at the same bin.
    session.rollback()
    session.expire_all()
    stored = session.get(Report, first.id)
    assert stored is not None
    stored.created_at = stored.created_at - timedelta(minutes=10)
    session.add(stored)
    session.commit()
    second_page = browser.new_context(**PHONE_VIEWPORT).new_page()
    second_code = _file_from_service_code(second_page, code_url, None, "13987654321")
    assert second_code != first_code
    assert second_page.locator("#track-status").get_attribute("data-status") == "duplicate"
    assert "重复" in second_page.locator("#track-outcome").inner_text()
    assert second_page.locator("#track-reward").get_attribute("data-reward-status") == ""
    second = service.by_tracking_code(session, second_code)
    assert second.duplicate_of_id == first.id and second.duplicate_auto

    # The reward officer sees it as a duplicate that earns nothing.
    officer.goto(live_server(f"/reports/admin/{second.id}"))
    assert officer.locator("#report-status").get_attribute("data-status") == "duplicate"
    assert officer.locator("#approve-reward").count() == 0
    assert officer.locator("#reward-note").inner_text().strip()
    session.rollback()
    session.expire_all()
    rewards = session.exec(select(Reward)).all()
    assert [r.report_id for r in rewards] == [first.id]

    # 5. The first reporter's tracking page shows the reward.
    page.goto(live_server("/report/track"))
    page.fill("#f-code", first_code.lower())
    page.click("#track-form button[type=submit]")
    page.wait_for_selector("#track-result")
    assert page.locator("#track-outcome").inner_text().strip() == "属实"
    reward = page.locator("#track-reward")
    assert reward.get_attribute("data-reward-status") == "approved"
    assert "10 元" in reward.inner_text()
    _fits(page)
    official_ctx.close()
    officer_ctx.close()


def _square(lat: float, lon: float, d: float) -> str:
    ring = [[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d]]
    return json.dumps({"type": "Polygon", "coordinates": [[*ring, ring[0]]]})


def test_map_pin_chooses_the_street_when_boundaries_are_loaded(
    live_server: Any, page: Any, session: Session, catalogue: Any
) -> None:
    session.add(UnitBoundary(unit_code=STREET, geometry=_square(35.06, 118.34, 0.01)))
    session.add(UnitBoundary(unit_code=OTHER_STREET, geometry=_square(35.06, 118.37, 0.01)))
    session.commit()
    page.goto(live_server("/report"))
    page.locator('#pin-map path[data-code="371302002"]').click()
    page.wait_for_selector("#pin-map[data-pinned]")
    assert page.locator("#f-street_code").input_value() == STREET
    lat, lon = float(page.input_value("#f-lat")), float(page.input_value("#f-lon"))
    assert abs(lat - 35.06) < 0.01 and abs(lon - 118.34) < 0.01
    _fits(page)
    page.select_option("#f-category", "street_vending")
    page.fill("#f-description", "人行道上有摊贩")
    page.select_option("#f-street_code", "")  # the server resolves the street itself
    page.click("#submit-report")
    page.wait_for_selector("#tracking-code")
    report = service.by_tracking_code(session, page.locator("#tracking-code").inner_text())
    assert report.street_code == STREET and report.street_source == "boundary"
