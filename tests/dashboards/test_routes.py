"""Dashboard pages, CSV downloads and scope rules."""

import json
import re
from datetime import date

import pytest

from participation.accounts.roles import Role
from participation.scoring import service
from participation.surveys.models import Response, SampleCase


def figure_json(html: str, chart_id: str) -> dict:
    match = re.search(
        rf'<script type="application/json" data-plotly-figure="{chart_id}">(.*?)</script>',
        html,
        re.S,
    )
    assert match, f"no figure {chart_id}"
    return json.loads(match.group(1))


def test_overview_without_assessment_is_provisional(client_as, mini_city):
    c = client_as(Role.OFFICIAL, "9901")
    r = c.get("/dashboards")
    assert r.status_code == 200
    assert "provisional" in r.text or "临时" in r.text
    fig = figure_json(r.text, "street-ranking")
    assert len(fig["data"][0]["x"]) == 6
    assert r.text.count('<tr data-code="99010') == 8  # 6 streets, 2 counties


def test_overview_uses_the_stored_assessment(client_as, session, scheme_version):
    a = service.assess(session, scheme_version.id, "2026年度", date(2026, 1, 1), date(2026, 12, 31))
    session.commit()
    c = client_as(Role.OFFICIAL, "9901")
    r = c.get("/dashboards?lang=en")
    assert r.status_code == 200
    assert "2026年度" in r.text and "County ranking" in r.text
    fig = figure_json(r.text, "street-ranking")
    assert fig["layout"]["title"]["text"] == "Streets: composite score and 95% CI"
    assert "县区排名" in c.get("/dashboards?lang=zh_CN").text
    # Best first, with asymmetric CI whiskers.
    assert fig["data"][0]["y"][0].endswith("二街道") and fig["data"][0]["x"][0] == 93.4
    assert "error_x" in fig["data"][0]
    assert figure_json(r.text, "sensitivity")["data"]
    csv_text = c.get("/dashboards/csv/street-ranking.csv?lang=en").content.decode("utf-8-sig")
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("Rank,Rank interval,Code") and len(lines) == 7
    assert lines[1].split(",")[2] == "990101002"
    for chart in ("county-ranking", "grades", "city-trend", "sensitivity"):
        r = c.get(f"/dashboards/csv/{chart}.csv")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert c.get("/dashboards/csv/nothing.csv").status_code == 404
    assert a.id


def test_county_official_sees_only_their_streets(client_as, mini_city):
    c = client_as(Role.OFFICIAL, "990101")
    r = c.get("/dashboards")
    assert r.text.count('<tr data-code="990101') == 4  # 3 streets and the county itself
    assert 'data-code="990102' not in r.text
    assert c.get("/dashboards/units/990101001").status_code == 200
    assert c.get("/dashboards/units/990101").status_code == 200
    assert c.get("/dashboards/units/990102001").status_code == 403
    assert c.get("/dashboards/units/990102001/csv/trend.csv").status_code == 403


def test_street_official_sees_only_their_street(client_as, mini_city):
    c = client_as(Role.OFFICIAL, "990101001")
    r = c.get("/dashboards")
    assert r.status_code == 200
    assert re.findall(r'<tr data-code="(\d+)"', r.text) == ["990101001"]
    assert c.get("/dashboards/units/990101001").status_code == 200
    assert c.get("/dashboards/units/990101002").status_code == 403
    assert c.get("/dashboards/units/990101").status_code == 403
    assert c.get("/scoring").status_code == 200  # read-only listing
    assert c.post("/api/scoring/assessments", json={}).status_code in (400, 403)


@pytest.mark.parametrize(
    ("role", "unit", "status"),
    [
        (Role.INTERVIEWER, None, 403),
        (Role.VOLUNTEER, "990101001", 403),
        (Role.SUPERVISOR, None, 200),
        (Role.ADMINISTRATOR, None, 200),
    ],
)
def test_who_may_open_dashboards(client_as, mini_city, role, unit, status):
    assert client_as(role, unit).get("/dashboards").status_code == status


def test_unit_page_trend_dimensions_and_csv(client_as, mini_city):
    c = client_as(Role.OFFICIAL, "9901")
    r = c.get("/dashboards/units/990101001?lang=en")
    assert r.status_code == 200
    trend = figure_json(r.text, "unit-trend")
    names = [t["name"] for t in trend["data"] if t.get("mode") == "lines+markers"]
    assert any("city survey" in n for n in names) and any("provincial" in n for n in names)
    assert "甲区" in names and "City" in names
    # CI bands are filled polygons.
    assert any(t.get("fill") == "toself" for t in trend["data"])
    dims = figure_json(r.text, "unit-dimensions")
    assert dims["data"][0]["x"] == ["市容环境", "道路设施"]
    assert dims["data"][0]["y"] == [83, 85]  # latest closed city wave (84 ± 1)
    csv_text = c.get("/dashboards/units/990101001/csv/trend.csv").content.decode("utf-8-sig")
    assert "2026年第1期" in csv_text and "2026年第3期" not in csv_text
    assert c.get("/dashboards/units/990101001/csv/dimensions.csv").status_code == 200
    assert c.get("/dashboards/units/990101001/csv/other.csv").status_code == 404
    assert c.get("/dashboards/units/123").status_code == 404


def test_fieldwork_progress(client_as, session, mini_city):
    wave_id = mini_city["draft"]
    for i in range(4):
        case = SampleCase(
            wave_id=wave_id,
            street_code="990101001",
            released=True,
            status="complete" if i < 2 else "refused",
        )
        session.add(case)
        session.flush()
        if i < 2:
            session.add(
                Response(
                    wave_id=wave_id,
                    street_code="990101001",
                    mode="phone",
                    case_id=case.id,
                    complete=True,
                )
            )
    session.commit()
    c = client_as(Role.SUPERVISOR)
    r = c.get(f"/dashboards/fieldwork?wave={wave_id}")
    assert r.status_code == 200
    fig = figure_json(r.text, "fieldwork")
    assert fig["data"][0]["y"][0] == 2
    csv_lines = (
        c.get(f"/dashboards/fieldwork.csv?wave={wave_id}&lang=en")
        .content.decode("utf-8-sig")
        .splitlines()
    )
    assert csv_lines[0].split(",")[-2:] == ["RR3", "COOP3"]
    first = csv_lines[1].split(",")
    assert first[0] == "990101001" and first[5] == "2" and first[6] == "2"
    assert first[8] == "0.5"  # 2 completes of 4 resolved cases


def test_map_appears_when_boundaries_are_loaded(client_as, session, mini_city):
    from participation.geography.models import UnitBoundary

    c = client_as(Role.OFFICIAL, "9901")
    assert 'data-plotly-figure="map"' not in c.get("/dashboards").text
    for i, code in enumerate(("990101", "990102")):
        square = [[118 + i, 35], [119 + i, 35], [119 + i, 36], [118 + i, 36], [118 + i, 35]]
        session.add(
            UnitBoundary(
                unit_code=code, geometry=json.dumps({"type": "Polygon", "coordinates": [square]})
            )
        )
    session.commit()
    fig = figure_json(c.get("/dashboards").text, "map")
    trace = fig["data"][0]
    assert trace["type"] == "choropleth" and trace["locations"] == ["990101", "990102"]
    assert len(trace["geojson"]["features"]) == 2
    assert c.get("/dashboards/csv/map.csv").status_code == 200
