"""Reports pages and API: the public form and tracking, privacy of the reporter's contact
(reward officers only, every plain read audited), officials' scope, rewards and the ledger."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta

from openpyxl import load_workbook
from sqlmodel import select

from participation.accounts.roles import Role
from participation.core.models import AuditEntry
from participation.core.timeutil import utcnow
from participation.geography.models import UnitBoundary
from participation.media.models import Photo
from participation.reports import service
from participation.reports.models import Report, Reward
from tests.reports.conftest import BIN_LAT, BIN_LON, OTHER_STREET, PHONE, STREET, file


def _fresh(session):
    """The test session after ending its read transaction (see what the app committed)."""
    session.rollback()
    session.expire_all()
    return session


def _post_report(client, csrf, *, photos=(), **fields):
    data = {
        "category": "exposed_garbage",
        "description": "路边垃圾",
        "lat": str(BIN_LAT),
        "lon": str(BIN_LON),
        "street_code": STREET,
        **fields,
    }
    files = [("photos", (f"p{i}.jpg", content, "image/jpeg")) for i, content in enumerate(photos)]
    # A browser sends an empty file part when no photo is chosen.
    files = files or [("photos", ("", b"", "application/octet-stream"))]
    return client.post(
        "/report/new",
        data=data,
        files=files,
        headers={"x-csrftoken": csrf(client)},
        follow_redirects=False,
    )


def test_the_form_is_prefilled_by_a_service_code(client, catalogue):
    page = client.get("/report?facility=BIN-0001")
    assert page.status_code == 200
    assert "BIN-0001" in page.text and 'name="facility" value="BIN-0001"' in page.text
    first_option = re.search(r'<option value="([a-z_]+)"', page.text).group(1)
    assert first_option == "overflowing_bin"
    unknown = client.get("/report?facility=NOPE-9")
    assert unknown.status_code == 200 and "NOPE-9" in unknown.text


def test_filing_with_a_photo_gives_a_tracking_code(client, csrf, catalogue, session, jpeg):
    response = _post_report(client, csrf, photos=[jpeg], phone=PHONE)
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith("/report/track?code=")
    page = client.get(location)
    assert page.status_code == 200 and 'id="tracking-code"' in page.text
    code = re.search(r'id="tracking-code">([A-Z0-9\-]+)<', page.text).group(1)
    report = service.by_tracking_code(session, code)
    photos = _fresh(session).exec(select(Photo).where(Photo.owner_kind == "report")).all()
    assert [p.owner_id for p in photos] == [report.id]
    assert PHONE not in page.text


def test_a_bad_form_is_shown_again_naming_the_field(client, csrf, catalogue, session, settings):
    response = _post_report(client, csrf, street_code="", lat="", lon="")
    assert response.status_code == 400
    assert 'data-field="street_code"' in response.text
    not_image = _post_report(client, csrf, photos=[b"%PDF-1.4 not an image"])
    assert not_image.status_code == 400 and 'data-field="photo' in not_image.text
    assert _fresh(session).exec(select(Report)).all() == []
    assert session.exec(select(Photo)).all() == []
    stored = (
        [f for f in settings.upload_dir.rglob("*") if f.is_file()]
        if settings.upload_dir.exists()
        else []
    )
    assert stored == []


def test_the_form_needs_csrf(client, catalogue):
    response = client.post("/report/new", data={"category": "exposed_garbage"})
    assert response.status_code == 403


def test_tracking_shows_status_outcome_and_reward_only(
    client, session, settings, catalogue, make_user
):
    report = file(session, settings, phone=PHONE, name="王五")
    official = make_user("off", Role.OFFICIAL, STREET)
    officer = make_user("rw", Role.REWARD_OFFICER)
    service.verify(session, report, official.id, "true", severity="minor")
    service.approve_reward(session, settings, report.id, officer.id)
    session.commit()
    page = client.get(f"/report/track?code={report.tracking_code}")
    assert page.status_code == 200
    assert 'data-reward-status="approved"' in page.text and "20" in page.text
    assert PHONE[-4:] not in page.text and "王五" not in page.text
    assert client.get("/report/track?code=ZZZZZ-ZZZZZ").status_code == 404
    api = client.get(f"/api/reports/track/{report.tracking_code}").json()
    assert api["reward_amount"] == 20 and api["outcome"] == "true"
    assert set(api) == {
        "tracking_code",
        "category",
        "status",
        "outcome",
        "created_at",
        "reward_status",
        "reward_amount",
    }


def test_only_reward_officers_see_the_phone_and_every_read_is_audited(
    client_as, session, settings, catalogue
):
    report = file(session, settings, phone=PHONE, name="赵六")
    official = client_as(Role.OFFICIAL, STREET)
    page = official.get(f"/reports/admin/{report.id}")
    assert page.status_code == 200
    assert "138****5678" in page.text and PHONE not in page.text and "赵六" not in page.text
    assert official.get(f"/api/reports/{report.id}").json()["contact"]["phone"] is None
    assert official.get(f"/api/reports/{report.id}/contact?reason=x").status_code == 403
    admin = client_as(Role.ADMINISTRATOR)
    assert PHONE not in admin.get(f"/reports/admin/{report.id}").text

    officer = client_as(Role.REWARD_OFFICER)
    masked = officer.get(f"/reports/admin/{report.id}")
    assert PHONE not in masked.text and 'id="reveal"' in masked.text
    assert _fresh(session).exec(select(AuditEntry)).all() == []
    token = officer.cookies.get("csrftoken")
    shown = officer.post(
        f"/reports/admin/{report.id}/reveal",
        data={"reason": "奖励发放核对"},
        headers={"x-csrftoken": token},
    )
    assert shown.status_code == 200 and "+8613812345678" in shown.text and "赵六" in shown.text
    no_reason = officer.get(f"/api/reports/{report.id}/contact")
    assert no_reason.status_code == 400 and no_reason.json()["field"] == "reason"
    api = officer.get(f"/api/reports/{report.id}/contact?reason=payment").json()
    assert api["phone"] == "+8613812345678"
    entries = _fresh(session).exec(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(e.action, e.subject_id, e.reason) for e in entries] == [
        ("read_reporter_contact", str(report.id), "奖励发放核对"),
        ("read_reporter_contact", str(report.id), "payment"),
    ]
    assert all(e.actor_role == "reward_officer" for e in entries)


def test_officials_see_their_scope_only(client_as, session, settings, catalogue):
    here = file(session, settings)
    there = file(session, settings, category_code="toilet_unclean", facility_code="WC-0001")
    official = client_as(Role.OFFICIAL, STREET)
    assert official.get(f"/reports/admin/{there.id}").status_code == 403
    assert official.get(f"/api/reports/{there.id}").status_code == 403
    ids = {r["id"] for r in official.get("/api/reports").json()}
    assert ids == {here.id}
    queue = official.get("/reports/admin?status=all")
    assert f"#{here.id}<" in queue.text and f"#{there.id}<" not in queue.text
    token = official.cookies.get("csrftoken")
    refused = official.post(
        f"/api/reports/{there.id}/verify",
        json={"outcome": "true"},
        headers={"x-csrftoken": token},
    )
    assert refused.status_code == 403
    linking = official.post(
        f"/api/reports/{here.id}/verify",
        json={"outcome": "duplicate", "duplicate_of": str(there.id)},
        headers={"x-csrftoken": token},
    )
    assert linking.status_code == 403
    other = client_as(Role.OFFICIAL, OTHER_STREET)
    assert other.get(f"/api/reports/{there.id}").status_code == 200
    assert client_as(Role.VOLUNTEER, STREET).get("/api/reports").status_code == 403


def test_verify_reward_pay_and_export(client_as, session, settings, catalogue):
    report = file(session, settings, phone=PHONE, name="钱七")
    official = client_as(Role.OFFICIAL, STREET)
    token = official.cookies.get("csrftoken")
    triaged = official.post(
        f"/reports/admin/{report.id}/triage",
        data={"severity": "serious"},
        headers={"x-csrftoken": token},
        follow_redirects=False,
    )
    assert triaged.status_code == 303
    verified = official.post(
        f"/reports/admin/{report.id}/verify",
        data={"outcome": "true", "severity": "serious", "note": "现场核实"},
        headers={"x-csrftoken": token},
        follow_redirects=False,
    )
    assert verified.status_code == 303
    assert (
        official.post(
            f"/api/reports/{report.id}/reward", headers={"x-csrftoken": token}
        ).status_code
        == 403
    )

    officer = client_as(Role.REWARD_OFFICER)
    otoken = officer.cookies.get("csrftoken")
    approved = officer.post(f"/api/reports/{report.id}/reward", headers={"x-csrftoken": otoken})
    assert approved.status_code == 200, approved.text
    assert approved.json()["amount"] == 50 and approved.json()["status"] == "approved"
    again = officer.post(f"/api/reports/{report.id}/reward", headers={"x-csrftoken": otoken})
    assert again.status_code == 409
    reward_id = approved.json()["id"]
    ledger = officer.get("/api/reports/rewards").json()
    assert ledger[0]["phone_masked"] == "138****5678" and ledger[0]["status"] == "approved"
    paid = officer.post(
        f"/reports/admin/rewards/{reward_id}/pay",
        data={"reference": "ZF-001"},
        headers={"x-csrftoken": otoken},
        follow_redirects=False,
    )
    assert paid.status_code == 303
    assert (
        officer.post(
            f"/api/reports/rewards/{reward_id}/pay", json={}, headers={"x-csrftoken": otoken}
        ).status_code
        == 409
    )
    page = officer.get("/reports/admin/rewards")
    assert "ZF-001" in page.text and PHONE not in page.text

    masked = officer.get("/reports/admin/rewards/export.csv")
    assert masked.status_code == 200 and "138****5678" in masked.text and PHONE not in masked.text
    assert _fresh(session).exec(select(AuditEntry)).all() == []
    plain = officer.get("/reports/admin/rewards/export.xlsx?reveal=1")
    sheet = load_workbook(io.BytesIO(plain.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][12] == "+8613812345678" and rows[1][13] == "钱七"
    audits = _fresh(session).exec(select(AuditEntry)).all()
    assert [(a.action, a.subject_id) for a in audits] == [
        ("export_reporter_contact", str(report.id))
    ]
    admin = client_as(Role.ADMINISTRATOR)
    admin_export = admin.get("/reports/admin/rewards/export.csv?reveal=1")
    assert PHONE not in admin_export.text and "138****5678" in admin_export.text
    assert len(_fresh(session).exec(select(AuditEntry)).all()) == 1


def test_manual_duplicate_link_on_the_page(client_as, session, settings, catalogue):
    t0 = utcnow() - timedelta(days=5)
    first = file(session, settings, now=t0)
    later = file(session, settings, category_code="street_vending")
    official = client_as(Role.OFFICIAL, STREET)
    token = official.cookies.get("csrftoken")
    bad = official.post(
        f"/reports/admin/{later.id}/verify",
        data={"outcome": "duplicate", "duplicate_of": "ZZZZZZZZZZ"},
        headers={"x-csrftoken": token},
    )
    assert bad.status_code == 400 and 'id="action-error"' in bad.text
    done = official.post(
        f"/reports/admin/{later.id}/verify",
        data={"outcome": "duplicate", "duplicate_of": first.tracking_code},
        headers={"x-csrftoken": token},
        follow_redirects=False,
    )
    assert done.status_code == 303
    session.expire_all()
    assert session.get(Report, later.id).duplicate_of_id == first.id
    assert session.exec(select(Reward)).all() == []


def test_service_codes_png_svg_and_sheet(client_as, catalogue):
    official = client_as(Role.OFFICIAL, STREET)
    listing = official.get("/reports/facilities")
    assert "BIN-0001" in listing.text and "WC-0001" not in listing.text
    assert "/report?facility=BIN-0001" in listing.text
    png = official.get("/reports/facilities/BIN-0001/qr.png")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    assert official.get("/reports/facilities/WC-0001/qr.png").status_code == 403
    svg = official.get("/reports/facilities/BIN-0001/qr.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml") and b"<svg" in svg.content
    sheet = official.get("/reports/facilities/sheet")
    assert sheet.status_code == 200 and sheet.text.count('class="code-card"') == 2
    a4 = official.get("/reports/facilities/sheet.svg")
    assert a4.status_code == 200 and b"BIN-0001" in a4.content and b"LAMP-0001" in a4.content
    api = official.get("/api/reports/facilities").json()
    assert {f["code"] for f in api} == {"BIN-0001", "LAMP-0001"}
    assert api[0]["url"].endswith("/report?facility=" + api[0]["code"])


def test_qr_decodes_to_the_absolute_form_url(catalogue, settings):
    from participation.reports import codes

    url = codes.facility_url("https://12319.linyi.gov.cn", "BIN-0001")
    assert url == "https://12319.linyi.gov.cn/report?facility=BIN-0001"
    matrix = codes.qr(url).matrix
    assert len(matrix) >= 21


def test_staff_phones_are_managed_by_administrators(client_as, session, settings, catalogue):
    admin = client_as(Role.ADMINISTRATOR)
    token = admin.cookies.get("csrftoken")
    added = admin.post(
        "/reports/admin/staff-phones/add",
        data={"phone": PHONE, "label": "执法队员"},
        headers={"x-csrftoken": token},
        follow_redirects=False,
    )
    assert added.status_code == 303
    page = admin.get("/reports/admin/staff-phones")
    assert "138****5678" in page.text and PHONE not in page.text
    bad = admin.post(
        "/api/reports/staff-phones/new", json={"phone": "123"}, headers={"x-csrftoken": token}
    )
    assert bad.status_code == 400 and bad.json()["field"] == "phone"
    assert client_as(Role.REWARD_OFFICER).get("/reports/admin/staff-phones").status_code == 403
    report = file(session, settings, phone=PHONE)
    official = make_official = client_as(Role.OFFICIAL, STREET)
    del make_official
    otoken = official.cookies.get("csrftoken")
    official.post(
        f"/api/reports/{report.id}/verify",
        json={"outcome": "true"},
        headers={"x-csrftoken": otoken},
    )
    detail = official.get(f"/api/reports/{report.id}").json()
    assert detail["reward_eligible"] is False and detail["reward_note"]


def test_photos_are_served_to_allowed_users_only(client, client_as, csrf, session, catalogue, jpeg):
    response = _post_report(client, csrf, photos=[jpeg])
    assert response.status_code == 303
    photo = _fresh(session).exec(select(Photo)).one()
    assert client.get(f"/media/{photo.key}").status_code == 404
    assert client_as(Role.OFFICIAL, STREET).get(f"/media/{photo.key}").status_code == 200
    assert client_as(Role.OFFICIAL, OTHER_STREET).get(f"/media/{photo.key}").status_code == 404
    assert client_as(Role.REWARD_OFFICER).get(f"/media/{photo.key}").status_code == 200
    assert client_as(Role.VOLUNTEER, STREET).get(f"/media/{photo.key}").status_code == 404


def test_public_tariff_page_and_api(client, catalogue):
    page = client.get("/report/tariff")
    assert page.status_code == 200 and "违法建设" in page.text
    api = client.get("/api/reports/tariff").json()
    assert api["major_threshold"] == 500
    construction = next(c for c in api["categories"] if c["code"] == "illegal_construction")
    assert construction["tariff"] == {"minor": 100, "serious": 300, "major": 1000}


def test_an_automatic_duplicate_can_be_unlinked(client_as, session, settings, catalogue):
    first = file(session, settings, now=utcnow() - timedelta(minutes=30))
    second = file(session, settings, lat=BIN_LAT + 0.0003)
    assert second.duplicate_of_id == first.id
    official = client_as(Role.OFFICIAL, STREET)
    token = official.cookies.get("csrftoken")
    page = official.get(f"/reports/admin/{second.id}")
    assert 'id="unlink"' in page.text and "自动关联" in page.text
    done = official.post(
        f"/reports/admin/{second.id}/unlink", headers={"x-csrftoken": token}, follow_redirects=False
    )
    assert done.status_code == 303
    again = official.post(f"/reports/admin/{second.id}/unlink", headers={"x-csrftoken": token})
    assert again.status_code == 409
    row = _fresh(session).get(Report, second.id)
    assert row.duplicate_of_id is None and row.status == "new"
    actions = [a.action for a in session.exec(select(AuditEntry)).all()]
    assert actions == ["unlink_duplicate"]


def test_the_public_form_is_rate_limited(app, settings, catalogue):
    from litestar.testing import TestClient

    _not_at_a_minute_boundary()
    app.state.settings = settings.model_copy(update={"public_rate_limit": 2})
    with TestClient(app) as limited:
        token = limited.get("/report").cookies.get("csrftoken") or limited.cookies.get("csrftoken")
        codes = [
            limited.post(
                "/report/new",
                data={"category": "exposed_garbage"},
                files=[("photos", ("", b"", "application/octet-stream"))],
                headers={"x-csrftoken": token},
            ).status_code
            for _ in range(3)
        ]
    assert codes[:2] == [400, 400] and codes[2] == 429


def test_street_map_is_served_only_when_boundaries_are_loaded(client, session, catalogue):
    assert client.get("/report/streets.geojson").status_code == 404
    assert 'id="pin-map"' not in client.get("/report").text
    ring = [[118.33, 35.05], [118.35, 35.05], [118.35, 35.07], [118.33, 35.07], [118.33, 35.05]]
    session.add(
        UnitBoundary(
            unit_code=STREET, geometry=json.dumps({"type": "Polygon", "coordinates": [ring]})
        )
    )
    session.commit()
    data = client.get("/report/streets.geojson").json()
    assert data["features"][0]["properties"] == {"code": STREET, "name": "银雀山街道"}
    assert 'id="pin-map"' in client.get("/report").text


def test_administrators_publish_the_tariff(client_as, session, catalogue):
    admin = client_as(Role.ADMINISTRATOR)
    token = admin.cookies.get("csrftoken")
    body = {"category_code": "street_vending", "severity": "serious", "amount": 80}
    answer = admin.post("/api/reports/tariff/entries", json=body, headers={"x-csrftoken": token})
    assert answer.status_code == 200, answer.text
    vending = next(c for c in answer.json()["categories"] if c["code"] == "street_vending")
    assert vending["tariff"]["serious"] == 80
    assert [a.action for a in _fresh(session).exec(select(AuditEntry)).all()] == ["publish_tariff"]
    bad = admin.post(
        "/api/reports/tariff/entries",
        json={**body, "severity": "huge"},
        headers={"x-csrftoken": token},
    )
    assert bad.status_code == 400 and bad.json()["field"] == "severity"
    officer = client_as(Role.REWARD_OFFICER)
    refused = officer.post(
        "/api/reports/tariff/entries",
        json=body,
        headers={"x-csrftoken": officer.cookies.get("csrftoken")},
    )
    assert refused.status_code == 403


def _not_at_a_minute_boundary() -> None:
    """Rate limits count per clock minute: start well inside one."""
    import time

    from participation.core.timeutil import utcnow as _now

    if _now().second >= 55:
        time.sleep(61 - _now().second)


def test_a_fresh_installation_gets_the_default_catalogue(client, session):
    page = client.get("/report")
    assert page.status_code == 200 and 'value="illegal_construction"' in page.text
    assert len(service.categories(_fresh(session))) == len(service.CATALOGUE)
