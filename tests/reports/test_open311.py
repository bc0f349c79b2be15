"""Open311 GeoReport v2 (JSON): services, service definitions, creating and reading requests,
errors in the spec's shape, and no personal data in any answer."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from participation.core.crypto import Vault
from participation.core.timeutil import utcnow
from participation.reports import service
from participation.reports.models import Report
from tests.reports.conftest import BIN_LAT, BIN_LON, PHONE, STREET, file


def test_services_and_definition(client, catalogue):
    services = client.get("/open311/v2/services.json")
    assert services.status_code == 200
    codes = {s["service_code"] for s in services.json()}
    assert {"illegal_construction", "street_vending", "exposed_garbage", "broken_facility"} <= codes
    one = next(s for s in services.json() if s["service_code"] == "street_vending")
    assert one["type"] == "realtime" and one["metadata"] is True and one["group"]
    definition = client.get("/open311/v2/services/street_vending.json").json()
    assert definition["service_code"] == "street_vending"
    assert definition["attributes"][0]["code"] == "facility"
    missing = client.get("/open311/v2/services/nope.json")
    assert missing.status_code == 404
    assert missing.json()[0]["code"] == 404 and missing.json()[0]["description"]


def test_post_form_encoded_then_read_back_without_personal_data(
    client, catalogue, session, settings
):
    response = client.post(
        "/open311/v2/requests.json",
        data={
            "service_code": "exposed_garbage",
            "lat": str(BIN_LAT),
            "long": str(BIN_LON),
            "description": "垃圾没人清理，联系我 13812345678",
            "phone": PHONE,
            "first_name": "三",
            "last_name": "张",
            "email": "zhang@example.com",
            "media_url": "https://example.com/p.jpg",
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert isinstance(body, list) and set(body[0]) >= {"service_request_id", "token"}
    rid = body[0]["service_request_id"]
    report = session.exec(select(Report).where(Report.id == int(rid))).one()
    assert report.source == "open311" and report.street_code is None
    assert Vault(settings).decrypt(report.reporter_phone_enc) == "+8613812345678"
    assert Vault(settings).decrypt(report.reporter_name_enc) == "张 三"
    assert service.format_tracking_code(report.tracking_code) == body[0]["token"]

    one = client.get(f"/open311/v2/requests/{rid}.json")
    assert one.status_code == 200
    item = one.json()[0]
    assert item["service_request_id"] == rid and item["status"] == "open"
    assert item["lat"] == BIN_LAT and item["long"] == BIN_LON
    assert item["media_url"] == "https://example.com/p.jpg"
    text = one.text
    for secret in (PHONE, "+8613812345678", "张 三", "zhang@example.com", report.tracking_code):
        assert secret not in text
    assert "138****5678" in item["description"]
    listed = client.get("/open311/v2/requests.json").json()
    assert [r["service_request_id"] for r in listed] == [rid]
    assert PHONE not in client.get("/open311/v2/requests.json").text


def test_post_json_with_a_facility_attribute(client, catalogue):
    response = client.post(
        "/open311/v2/requests.json",
        json={
            "service_code": "overflowing_bin",
            "description": "满了",
            "attribute": {"facility": "BIN-0001"},
        },
    )
    assert response.status_code == 201, response.text
    rid = response.json()[0]["service_request_id"]
    item = client.get(f"/open311/v2/requests/{rid}.json").json()[0]
    assert item["lat"] == BIN_LAT and item["agency_responsible"] == "银雀山街道"
    form = client.post(
        "/open311/v2/requests.json",
        data={"service_code": "street_lamp_out", "attribute[facility]": "LAMP-0001"},
    )
    assert form.status_code == 201


def test_errors_have_the_spec_shape(client, catalogue):
    cases = [
        ({"lat": "35", "long": "118"}, "service_code"),
        ({"service_code": "nope", "lat": "35", "long": "118"}, "category"),
        ({"service_code": "street_vending", "description": "x"}, "lat"),
        ({"service_code": "street_vending", "lat": "north", "long": "118"}, "lat"),
        (
            {
                "service_code": "street_vending",
                "lat": "35",
                "long": "118",
                "description": "x",
                "phone": "1",
            },
            "phone",
        ),
    ]
    for data, field in cases:
        response = client.post("/open311/v2/requests.json", data=data)
        assert response.status_code == 400, (data, response.text)
        error = response.json()
        assert error[0]["code"] == 400 and error[0]["description"].startswith(field), error
    broken = client.post(
        "/open311/v2/requests.json",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert broken.status_code == 400 and broken.json()[0]["code"] == 400
    assert client.get("/open311/v2/requests/999.json").status_code == 404
    assert client.get("/open311/v2/requests/abc.json").json()[0]["code"] == 404
    assert client.get("/open311/v2/requests/²³.json").status_code == 404
    assert client.get("/open311/v2/requests/99999999999999.json").status_code == 404
    huge = client.get("/open311/v2/requests.json?service_request_id=99999999999999")
    assert huge.status_code == 400 and huge.json()[0]["description"].startswith(
        "service_request_id"
    )
    bad_date = client.get("/open311/v2/requests.json?start_date=yesterday")
    assert bad_date.status_code == 400 and bad_date.json()[0]["code"] == 400
    bad_status = client.get("/open311/v2/requests.json?status=pending")
    assert bad_status.status_code == 400


def test_filters(client, catalogue, session, settings):
    t0 = utcnow() - timedelta(days=3)
    a = file(session, settings, now=t0, phone=PHONE)
    b = file(session, settings, category_code="street_vending", now=t0 + timedelta(days=1))
    c = file(
        session, settings, category_code="illegal_construction", lat=BIN_LAT + 0.05, now=utcnow()
    )
    service.verify(session, b, _official(session), "false")
    session.commit()

    def ids(query: str) -> list[str]:
        response = client.get(f"/open311/v2/requests.json{query}")
        assert response.status_code == 200, response.text
        return sorted(r["service_request_id"] for r in response.json())

    assert ids("") == sorted([str(a.id), str(b.id), str(c.id)])
    assert ids("?service_code=street_vending") == [str(b.id)]
    assert ids("?status=closed") == [str(b.id)]
    assert ids("?status=open") == sorted([str(a.id), str(c.id)])
    assert ids(f"?service_request_id={a.id},{c.id}") == sorted([str(a.id), str(c.id)])
    start = (t0 + timedelta(hours=12)).isoformat()
    assert ids(f"?start_date={start.replace('+', '%2B')}") == sorted([str(b.id), str(c.id)])
    end = (t0 + timedelta(hours=12)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ids(f"?end_date={end}") == [str(a.id)]
    closed = client.get(f"/open311/v2/requests/{b.id}.json").json()[0]
    assert closed["status"] == "closed" and closed["status_notes"]


def _official(session) -> int:
    from participation.accounts.roles import Role
    from participation.accounts.service import create_user

    user = create_user(
        session, username="o311", password="test-pass-123", role=Role.OFFICIAL, unit_code=STREET
    )
    session.commit()
    assert user.id is not None
    return user.id


def test_open311_is_rate_limited(app, settings, catalogue):
    from litestar.testing import TestClient

    _not_at_a_minute_boundary()
    app.state.settings = settings.model_copy(update={"public_rate_limit": 3})
    with TestClient(app) as limited:
        answers = [limited.get("/open311/v2/services.json").status_code for _ in range(5)]
    assert answers[:3] == [200, 200, 200] and answers[-1] == 429


def _not_at_a_minute_boundary() -> None:
    """Rate limits count per clock minute: start well inside one."""
    import time

    from participation.core.timeutil import utcnow as _now

    if _now().second >= 55:
        time.sleep(61 - _now().second)
