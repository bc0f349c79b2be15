"""Volunteers and problems over HTTP: scope 403s, own-visit rules, state-machine errors as 4xx
naming the field, the public application, the pages."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient
from sqlmodel import select

from participation.media.models import Photo
from participation.volunteers.models import Problem, Volunteer
from tests.conftest import csrf_token, login
from tests.media.images import PDF_BYTES, png_bytes
from tests.volunteers.conftest import OTHER_STREET, STREET, add_volunteer


def api(client: TestClient[Any], method: str, url: str, **kw: Any) -> Any:
    return client.request(method, url, headers={"x-csrftoken": csrf_token(client)}, **kw)


@pytest.fixture
def vol_client(app, world) -> TestClient[Any]:
    c = TestClient(app)
    login(c, "vol1")
    return c


def client_for(app, username: str) -> TestClient[Any]:
    c = TestClient(app)
    login(c, username)
    return c


def draft_with_finding(vol: TestClient[Any], world) -> dict[str, Any]:
    visit = api(vol, "POST", "/api/volunteers/visits", json={}).json()
    results = {i["code"]: "pass" for i in world.standard.items}
    results["C1"] = "fail"
    r = api(
        vol,
        "PATCH",
        f"/api/volunteers/visits/{visit['id']}",
        json={"street_code": STREET, "results": results, "lat": 35.06, "lon": 118.34},
    )
    assert r.status_code == 200, r.text
    photo = api(
        vol, "POST", "/api/media/photos", files={"photo": ("a.png", png_bytes(), "image/png")}
    )
    assert photo.status_code == 201, photo.text
    r = api(
        vol,
        "POST",
        f"/api/volunteers/visits/{visit['id']}/findings",
        json={"item_code": "C1", "description": "垃圾未清运", "photos": [photo.json()["key"]]},
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_volunteer_api_flow_and_problem_transitions(app, world, vol_client):
    visit = draft_with_finding(vol_client, world)
    assert visit["findings"][0]["photos"][0]["url"].startswith("/media/")
    r = api(vol_client, "POST", f"/api/volunteers/visits/{visit['id']}/submit")
    assert r.status_code == 200, r.text
    submitted = r.json()
    problem_id = submitted["findings"][0]["problem_id"]
    assert submitted["status"] == "submitted" and problem_id

    official = client_for(app, "yinqueshan")
    problem = official.get(f"/api/problems/{problem_id}").json()
    assert problem["street_code"] == STREET and problem["status"] == "open"
    # a finding's photo is visible to the street official
    assert official.get(problem["photos"][0]["url"]).status_code == 200

    r = api(official, "POST", f"/api/problems/{problem_id}/transitions", json={"action": "verify"})
    assert r.status_code == 409 and r.json()["field"] == "action"
    r = api(official, "POST", f"/api/problems/{problem_id}/transitions", json={"action": "nope"})
    assert r.status_code == 400 and r.json()["field"] == "action"
    r = api(official, "POST", f"/api/problems/{problem_id}/transitions", json={"action": "assign"})
    assert r.status_code == 200 and r.json()["status"] == "assigned"
    r = api(official, "POST", f"/api/problems/{problem_id}/transitions", json={"action": "rectify"})
    assert r.status_code == 400 and r.json()["field"] == "photo"
    proof = api(
        official, "POST", "/api/media/photos", files={"photo": ("p.png", png_bytes(), "image/png")}
    )
    r = api(
        official,
        "POST",
        f"/api/problems/{problem_id}/transitions",
        json={"action": "rectify", "photos": [proof.json()["key"]], "note": "已清运"},
    )
    assert r.status_code == 200 and r.json()["status"] == "rectified"
    r = api(official, "POST", f"/api/problems/{problem_id}/transitions", json={"action": "reopen"})
    assert r.status_code == 400 and r.json()["field"] == "note"
    r = api(official, "POST", f"/api/problems/{problem_id}/transitions", json={"action": "verify"})
    body = r.json()
    assert body["status"] == "verified"
    assert [e["action"] for e in body["events"]] == ["create", "assign", "rectify", "verify"]
    assert body["events"][2]["photos"] and body["events"][2]["user_name"] == "yinqueshan"

    rates = official.get("/api/problems/rates").json()
    row = next(r for r in rates if r["street_code"] == STREET)
    assert (row["total"], row["rectified"], row["rate"]) == (1, 1, 1.0)
    # the volunteer follows the problems of their findings
    mine = vol_client.get("/api/problems").json()
    assert [p["id"] for p in mine] == [problem_id]


def test_scope_403s(app, world, vol_client, session):
    visit = draft_with_finding(vol_client, world)
    api(vol_client, "POST", f"/api/volunteers/visits/{visit['id']}/submit")
    session.commit()  # end the test session's read snapshot: the app wrote since
    problem_id = session.exec(select(Problem.id)).one()
    other = client_for(app, "lanshanjd")  # official of another street
    assert other.get(f"/api/problems/{problem_id}").status_code == 403
    assert other.get(f"/problems/{problem_id}").status_code == 403
    r = api(other, "POST", f"/api/problems/{problem_id}/transitions", json={"action": "assign"})
    assert r.status_code == 403
    assert other.get(f"/api/volunteers/visits/{visit['id']}").status_code == 403
    assert other.get(f"/api/problems?street_code={STREET}").status_code == 403
    assert other.get("/api/problems").json() == []
    assert other.get("/api/problems/rates").status_code == 200
    county = client_for(app, "lanshan")
    assert county.get(f"/api/problems/{problem_id}").status_code == 200
    # officials may not approve volunteers of other streets
    v = session.exec(select(Volunteer)).first()
    r = api(other, "POST", f"/api/volunteers/{v.id}/decision", json={"approve": False})
    assert r.status_code == 403
    # volunteers may not move problems nor read the management API
    r = api(
        vol_client, "POST", f"/api/problems/{problem_id}/transitions", json={"action": "assign"}
    )
    assert r.status_code == 403
    assert vol_client.get("/api/volunteers").status_code == 403


def test_own_visit_rules(app, world, vol_client, session, settings):
    visit = draft_with_finding(vol_client, world)
    add_volunteer(session, settings, world.street_official, "vol2", "13800000002")
    vol2 = client_for(app, "vol2")
    assert vol2.get(f"/api/volunteers/visits/{visit['id']}").status_code == 403
    r = vol2.get(f"/volunteers/visits/{visit['id']}")
    assert r.status_code == 403, r.text
    r = api(vol2, "PATCH", f"/api/volunteers/visits/{visit['id']}", json={"notes": "x"})
    assert r.status_code == 403
    r = api(vol2, "POST", f"/api/volunteers/visits/{visit['id']}/submit")
    assert r.status_code == 403
    # the street official does not see a draft
    official = client_for(app, "yinqueshan")
    assert official.get(f"/api/volunteers/visits/{visit['id']}").status_code == 404
    api(vol_client, "POST", f"/api/volunteers/visits/{visit['id']}/submit")
    r = api(vol_client, "PATCH", f"/api/volunteers/visits/{visit['id']}", json={"notes": "late"})
    assert r.status_code == 409 and r.json()["field"] == "status"
    assert official.get(f"/api/volunteers/visits/{visit['id']}").status_code == 200


def test_bad_visit_input_names_the_field(app, world, vol_client):
    visit = api(vol_client, "POST", "/api/volunteers/visits", json={}).json()
    url = f"/api/volunteers/visits/{visit['id']}"
    r = api(vol_client, "PATCH", url, json={"results": {"C1": "maybe"}})
    assert r.status_code == 400 and r.json()["field"] == "result_C1"
    r = api(vol_client, "PATCH", url, json={"street_code": "371302"})
    assert r.status_code == 400 and r.json()["field"] == "street_code"
    r = api(vol_client, "POST", url + "/submit")
    assert r.status_code == 400 and r.json()["field"].startswith("result_")
    r = api(vol_client, "POST", url + "/findings", json={"description": "x", "category": "zzz"})
    assert r.status_code == 400 and r.json()["field"] == "category"
    r = api(
        vol_client,
        "POST",
        url + "/findings",
        json={"description": "x", "photos": ["nokey"], "category": "greening"},
    )
    assert r.status_code == 400 and r.json()["field"] == "photos"


def test_public_application_form_and_approval_page(app, world, client, session):
    page = client.get("/volunteers/apply")
    assert page.status_code == 200 and "银雀山街道" in page.text
    form = {
        "name": "赵六",
        "phone": "13600000006",
        "street_code": STREET,
        "username": "zhaoliu",
        "password": "short",
    }
    r = client.post(
        "/volunteers/apply/send", data=form, headers={"x-csrftoken": csrf_token(client)}
    )
    assert r.status_code == 400 and 'id="password-error"' in r.text
    form["password"] = "long-enough-1"
    r = client.post(
        "/volunteers/apply/send", data=form, headers={"x-csrftoken": csrf_token(client)}
    )
    assert r.status_code == 200 and 'id="applied"' in r.text
    session.commit()
    v = session.exec(select(Volunteer).where(Volunteer.username == "zhaoliu")).one()
    official = client_for(app, "yinqueshan")
    page = official.get("/volunteers")
    assert f'id="volunteer-{v.id}"' in page.text
    r = official.post(
        f"/volunteers/{v.id}/decision",
        data={"decision": "approve"},
        headers={"x-csrftoken": csrf_token(official)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    newcomer = TestClient(app)
    login(newcomer, "zhaoliu", "long-enough-1")
    assert newcomer.get("/volunteers").status_code == 200


def test_visit_page_form_with_photo_and_errors(app, world, vol_client, settings):
    r = vol_client.post(
        "/volunteers/visits",
        data={"standard_id": str(world.standard.id)},
        headers={"x-csrftoken": csrf_token(vol_client)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    url = r.headers["location"]
    page = vol_client.get(url)
    assert page.status_code == 200 and 'id="visit-form"' in page.text
    fields = {f"result_{i['code']}": "pass" for i in world.standard.items}
    fields.update(
        {
            "result_O1": "fail",
            "street_code": STREET,
            "finding_item": "O1",
            "finding_description": "店外经营占道",
            "action": "save",
        }
    )
    # a PDF as the finding's photo: refused, the form comes back naming the field, nothing kept
    r = vol_client.post(
        url + "/save",
        data=fields,
        files={"photo": ("x.jpg", PDF_BYTES, "image/jpeg")},
        headers={"x-csrftoken": csrf_token(vol_client)},
    )
    assert r.status_code == 400 and 'id="photo-error"' in r.text
    assert (
        'value="fail" id="result_O1_fail" checked' in r.text.replace("\n", " ")
        or "checked" in r.text
    )
    uploads = settings.upload_dir
    assert not uploads.exists() or not [p for p in uploads.rglob("*") if p.is_file()]
    r = vol_client.post(
        url + "/save",
        data={**fields, "action": "submit"},
        files={"photo": ("x.png", png_bytes(), "image/png")},
        headers={"x-csrftoken": csrf_token(vol_client)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    done = vol_client.get(r.headers["location"])
    assert 'class="problem-link"' in done.text and "visit-score" in done.text


def test_problem_pages_and_rates_page(app, world, vol_client, session):
    visit = draft_with_finding(vol_client, world)
    api(vol_client, "POST", f"/api/volunteers/visits/{visit['id']}/submit")
    session.commit()  # end the test session's read snapshot: the app wrote since
    problem_id = session.exec(select(Problem.id)).one()
    official = client_for(app, "yinqueshan")
    assert f'id="problem-{problem_id}"' in official.get("/problems").text
    page = official.get(f"/problems/{problem_id}")
    assert 'id="form-assign"' in page.text
    h = {"x-csrftoken": csrf_token(official)}
    r = official.post(
        f"/problems/{problem_id}/transition",
        files={"action": (None, "assign")},
        headers=h,
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = official.post(
        f"/problems/{problem_id}/transition", files={"action": (None, "rectify")}, headers=h
    )
    assert r.status_code == 400 and "field-error" in r.text
    r = official.post(
        f"/problems/{problem_id}/transition",
        files={"action": (None, "rectify"), "photo": ("p.png", png_bytes(), "image/png")},
        headers=h,
        follow_redirects=False,
    )
    assert r.status_code == 303
    rates = official.get("/problems/rates")
    assert rates.status_code == 200 and f'id="rate-{STREET}"' in rates.text
    assert "100" in rates.text
    assert official.get("/problems/rates?start=bad").status_code == 400
    session.commit()
    assert session.exec(select(Photo).where(Photo.owner_kind == "rectification")).first()
    assert OTHER_STREET  # the other street's official is tested in test_scope_403s


def test_officials_end_and_restore_a_volunteers_service(app, world, vol_client, session):
    official = client_for(app, "yinqueshan")
    vid = world.volunteer.id
    r = api(official, "POST", f"/api/volunteers/{vid}/deactivate", json={"confirm": "x"})
    assert r.status_code == 400 and r.json()["field"] == "confirm"
    r = api(official, "POST", f"/api/volunteers/{vid}/deactivate", json={"confirm": "vol1"})
    assert r.status_code == 200 and r.json()["status"] == "inactive"
    assert vol_client.get("/api/volunteers/me").status_code in (401, 403)
    r = api(official, "POST", f"/api/volunteers/{vid}/deactivate", json={"confirm": "vol1"})
    assert r.status_code == 409 and r.json()["field"] == "status"
    r = official.post(
        f"/volunteers/{vid}/decision",
        data={"decision": "maybe"},
        headers={"x-csrftoken": csrf_token(official)},
    )
    assert r.status_code == 400
    r = official.post(
        f"/volunteers/{vid}/decision",
        data={"decision": "approve"},
        headers={"x-csrftoken": csrf_token(official)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    again = TestClient(app)
    login(again, "vol1")
    assert again.get("/api/volunteers/me").json()["volunteer"]["status"] == "active"


def test_only_the_owner_removes_a_finding_and_its_photo(app, world, vol_client, session, settings):
    visit = draft_with_finding(vol_client, world)
    finding_id = visit["findings"][0]["id"]
    add_volunteer(session, settings, world.street_official, "vol2", "13800000002")
    vol2 = client_for(app, "vol2")
    url = f"/volunteers/findings/{finding_id}/delete"
    r = vol2.post(url, headers={"x-csrftoken": csrf_token(vol2)}, follow_redirects=False)
    assert r.status_code == 403
    files = [p for p in settings.upload_dir.rglob("*") if p.is_file()]
    assert len(files) == 1
    r = vol_client.post(
        url, headers={"x-csrftoken": csrf_token(vol_client)}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"].startswith(
        f"/volunteers/visits/{visit['id']}"
    )
    assert [p for p in settings.upload_dir.rglob("*") if p.is_file()] == []
    assert vol_client.get(f"/api/volunteers/visits/{visit['id']}").json()["findings"] == []


def test_officials_register_volunteers_of_their_streets(app, world, session):
    official = client_for(app, "yinqueshan")
    body = {
        "name": "孙七",
        "phone": "13500000007",
        "street_code": STREET,
        "username": "sunqi",
        "password": "long-enough-7",
    }
    r = api(official, "POST", "/api/volunteers", json=body)
    assert r.status_code == 201 and r.json()["status"] == "active"
    r = api(
        official,
        "POST",
        "/api/volunteers",
        json={**body, "street_code": OTHER_STREET, "username": "x7", "phone": "13500000008"},
    )
    assert r.status_code == 403
    r = official.post(
        "/volunteers/register",
        data={**body, "username": "sunba", "phone": "13500000009"},
        headers={"x-csrftoken": csrf_token(official)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    newcomer = TestClient(app)
    login(newcomer, "sunba", "long-enough-7")
    assert newcomer.get("/api/volunteers/me").json()["volunteer"]["street_code"] == STREET


def test_visit_time_is_set_in_city_time_and_checked(app, world, vol_client, settings):
    visit = api(vol_client, "POST", "/api/volunteers/visits", json={}).json()
    url = f"/volunteers/visits/{visit['id']}/save"
    h = {"x-csrftoken": csrf_token(vol_client)}
    form = {"started_at": (None, "2099-01-01T09:00"), "action": (None, "save")}
    r = vol_client.post(url, files=form, headers=h)
    assert r.status_code == 400 and 'id="started_at-error"' in r.text
    from datetime import timedelta

    from participation.core.timeutil import local_now

    earlier = (local_now(settings.timezone) - timedelta(hours=2)).replace(second=0, microsecond=0)
    r = vol_client.post(
        url,
        files={"started_at": (None, earlier.strftime("%Y-%m-%dT%H:%M")), "action": (None, "save")},
        headers=h,
        follow_redirects=False,
    )
    assert r.status_code == 303
    got = vol_client.get(f"/api/volunteers/visits/{visit['id']}").json()["started_at"]
    from datetime import datetime

    assert datetime.fromisoformat(got) == earlier
    r = api(
        vol_client,
        "PATCH",
        f"/api/volunteers/visits/{visit['id']}",
        json={"started_at": "2026-01-01T09:00:00"},
    )
    assert r.status_code == 400 and r.json()["field"] == "started_at"
