"""Scoring pages and API, bulletin workflow, public bulletins and their exports."""

import io
from datetime import date

from openpyxl import load_workbook

from participation.accounts.roles import Role
from participation.scoring import service
from tests.conftest import csrf_token


def test_bulletin_draft_approve_publish_and_public_exports(client_as, app, session, scheme_version):
    from litestar.testing import TestClient

    a = service.assess(session, scheme_version.id, "2026年度", date(2026, 1, 1), date(2026, 12, 31))
    session.commit()
    c = client_as(Role.OFFICIAL, "9901")
    token = csrf_token(c)
    r = c.post(
        "/scoring/bulletins",
        data={"assessment_id": a.id, "title": "2026年度城市管理满意度通报", "title_en": "2026"},
        headers={"x-csrftoken": token},
        follow_redirects=False,
    )
    assert r.status_code == 303
    url = r.headers["location"]
    page = c.get(url)
    assert "2026年度城市管理满意度通报" in page.text and 'id="approve"' in page.text
    bulletin_id = int(url.rsplit("/", 1)[1])
    # Not public yet: anonymous visitors see neither the page nor its export.
    with TestClient(app) as anonymous:
        assert anonymous.get(url).status_code == 404
        assert anonymous.get(f"{url}/bulletin.xlsx").status_code == 404
        assert (
            c.post(
                f"/scoring/bulletins/{bulletin_id}/publish", headers={"x-csrftoken": token}
            ).status_code
            == 409
        )
        for step in ("approve", "publish"):
            r = c.post(
                f"/scoring/bulletins/{bulletin_id}/{step}",
                headers={"x-csrftoken": token},
                follow_redirects=False,
            )
            assert r.status_code == 303
        listing = anonymous.get("/bulletins")
        assert "2026年度城市管理满意度通报" in listing.text
        detail = anonymous.get(url)
        assert detail.status_code == 200
        assert 'id="street-table"' in detail.text and 'id="method"' in detail.text
        xlsx = anonymous.get(f"{url}/bulletin.xlsx?lang=en")
        assert xlsx.status_code == 200
        book = load_workbook(io.BytesIO(xlsx.content))
        rows = list(book["ranking"].iter_rows(values_only=True))
        assert rows[0][0] == "2026年度城市管理满意度通报"
        assert rows[1][:4] == ("Level", "Rank", "Rank interval", "Code")
        streets = [r for r in rows[2:] if r[0] == "street"]
        assert [r[3] for r in streets][:3] == ["990101002", "990102002", "990101001"]
        assert streets[0][5] == 93.4 and streets[0][8] == "excellent"
        assert "method" in book.sheetnames
        csv_text = anonymous.get(f"{url}/bulletin.csv").content.decode("utf-8-sig")
        assert "990102003" in csv_text
        api = anonymous.get("/api/bulletins").json()
        assert [b["id"] for b in api] == [bulletin_id]


def test_county_official_cannot_approve(client_as, session, scheme_version):
    a = service.assess(session, scheme_version.id, "2026", date(2026, 1, 1), date(2026, 12, 31))
    b = service.create_bulletin(session, a.id, "通报")
    session.commit()
    c = client_as(Role.OFFICIAL, "990101")
    r = c.post(f"/scoring/bulletins/{b.id}/approve", headers={"x-csrftoken": csrf_token(c)})
    assert r.status_code == 403
    # Drafts are not shown to them either.
    assert c.get(f"/bulletins/{b.id}").status_code == 404


def test_api_scheme_version_assessment_and_import(client_as, session, mini_city):
    from participation.scoring.config import linyi_config

    c = client_as(Role.ADMINISTRATOR)
    headers = {"x-csrftoken": csrf_token(c)}
    config = linyi_config().model_dump(mode="json")
    r = c.post(
        "/api/scoring/schemes",
        json={"code": "linyi", "name": "临沂市考核方案", "config": config},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    version_id = r.json()["id"]
    bad = dict(config, unit_aggregation="median")
    r = c.post(
        f"/api/scoring/schemes/{r.json()['scheme_id']}/versions",
        json={"config": bad},
        headers=headers,
    )
    assert r.status_code == 400 and r.json()["field"] == "config"
    assert "unit_aggregation" in r.json()["detail"]
    r = c.post(
        "/api/scoring/assessments",
        json={
            "scheme_version_id": version_id,
            "label": "2026",
            "period_start": "2026-01-01",
            "period_end": "2026-12-31",
        },
        headers=headers,
    )
    assert r.status_code == 201, r.text
    # Linyi defaults: bottom 3 counties summoned, so both counties of the mini city.
    assert r.json()["results"]["lists"]["county_talks"] == ["990101", "990102"]
    assert c.get(f"/api/scoring/assessments/{r.json()['id']}").status_code == 200
    assert [s["code"] for s in c.get("/api/scoring/schemes").json()] == ["linyi"]
    r = c.post(
        "/api/scoring/imports",
        data={"indicator": "case_closure"},
        files={"file": ("v.csv", b"unit_code,period,value\n990101001,2026-01,x\n", "text/csv")},
        headers=headers,
    )
    assert r.status_code == 400
    assert r.json()["line"] == 2 and r.json()["field"] == "value"
    r = c.post(
        "/api/scoring/imports",
        data={"indicator": "case_closure"},
        files={"file": ("v.csv", b"unit_code,period,value\n990101001,2026-01,91\n", "text/csv")},
        headers=headers,
    )
    assert r.status_code == 200 and r.json()["created"] == 1
    page = c.get("/scoring")
    assert page.status_code == 200 and "临沂市考核方案" in page.text


def test_scoring_form_computes_an_assessment(client_as, scheme_version):
    c = client_as(Role.OFFICIAL, "9901")
    r = c.post(
        "/scoring/assessments",
        data={
            "scheme_version_id": scheme_version.id,
            "label": "上半年",
            "period_start": "2026-01-01",
            "period_end": "2026-06-30",
        },
        headers={"x-csrftoken": csrf_token(c)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "上半年" in c.get("/scoring").text
