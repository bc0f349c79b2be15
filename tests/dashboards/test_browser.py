"""Browser: a city official reads the overview and a street's trend, switches to English and
downloads the bulletin XLSX; a street official sees only their own street."""

import io
from datetime import date

import pytest
from openpyxl import load_workbook

from participation.accounts.roles import Role
from participation.scoring import service
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.browser


def sign_in(page, live_server, path, username):
    page.goto(live_server(path))
    assert "/login" in page.url
    page.fill("#username", username)
    page.fill("#password", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{path}")


def test_city_official_overview_trend_english_and_bulletin_xlsx(
    session, scheme_version, make_user, live_server, page
):
    annual = service.assess(
        session, scheme_version.id, "2026年度", date(2026, 1, 1), date(2026, 12, 31)
    )
    bulletin = service.create_bulletin(session, annual.id, "2026年度满意度通报", "2026 bulletin")
    service.approve_bulletin(session, bulletin.id, None, "administrator", None)
    service.publish_bulletin(session, bulletin.id, "administrator", None)
    session.commit()
    make_user("city_official", Role.OFFICIAL, "9901")

    sign_in(page, live_server, "/dashboards", "city_official")
    page.wait_for_selector("#street-ranking.js-plotly-plot .main-svg")
    assert page.locator(".js-plotly-plot").count() >= 3
    assert page.locator("#street-table tbody tr").count() == 6
    # A street's trend across waves.
    page.locator("#street-table").get_by_role("link", name="一街道").click()
    page.wait_for_url("**/dashboards/units/990101001")
    page.wait_for_selector("#unit-trend.js-plotly-plot .main-svg")
    assert page.locator("#trend-table tbody tr").count() == 3
    # English.
    page.click("#lang-en")
    page.wait_for_url("**/dashboards/units/990101001")
    assert page.locator("html").get_attribute("lang") == "en"
    page.wait_for_selector("#unit-trend.js-plotly-plot .main-svg")
    assert "Satisfaction across waves" in page.locator("#unit-trend").inner_text()
    # The published bulletin downloads as XLSX.
    page.goto(live_server(f"/bulletins/{bulletin.id}"))
    assert "2026 bulletin" in page.locator("h1").inner_text()
    with page.expect_download() as info:
        page.click("#download-xlsx")
    download = info.value
    assert download.suggested_filename.endswith(".xlsx")
    with open(download.path(), "rb") as fh:
        book = load_workbook(io.BytesIO(fh.read()))
    rows = list(book["ranking"].iter_rows(values_only=True))
    assert rows[1][0] == "Level"
    assert len(rows) == 2 + 2 + 6


def test_street_official_sees_only_their_street(session, mini_city, make_user, live_server, page):
    make_user("street_official", Role.OFFICIAL, "990101001")
    sign_in(page, live_server, "/dashboards/units/990101001", "street_official")
    page.wait_for_selector("#unit-trend.js-plotly-plot .main-svg")
    for other in ("/dashboards/units/990101002", "/dashboards/units/990101"):
        response = page.goto(live_server(other))
        assert response is not None and response.status == 403
    page.goto(live_server("/dashboards"))
    page.wait_for_selector("#street-ranking.js-plotly-plot")
    codes = page.locator("tr[data-code]").evaluate_all("rows => rows.map(r => r.dataset.code)")
    assert codes == ["990101001"]
    csv_response = page.request.get(live_server("/dashboards/csv/street-ranking.csv"))
    assert csv_response.ok
    assert "990101001" in csv_response.text() and "990101002" not in csv_response.text()
