"""The console and supervisor pages and API: access rules, audit of number reads, flows."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, select

from participation.accounts.roles import Role
from participation.core.models import AuditEntry
from participation.surveys.models import Response, SampleCase
from tests.conftest import csrf_token, login
from tests.fieldwork.conftest import add_units, make_field

ALWAYS = {"call_start": "00:00", "call_end": "00:00"}
ANSWERS = {
    "resident": "1",
    "cleaning": "1",
    "toilet_used": "1",
    "toilet": "2",
    "lighting": "2",
    "sex": "female",
    "age_group": "45-59",
}


def _as(client: Any, username: str) -> Any:
    """Sign the (single) test client in as ``username`` (one client per test: several entered
    TestClients on one app do not shut down cleanly)."""
    client.cookies.clear()
    login(client, username)
    return client


@pytest.fixture
def people(session: Session, make_user: Any) -> None:
    add_units(session)
    make_user("alice", Role.INTERVIEWER)
    make_user("bob", Role.INTERVIEWER)
    make_user("boss", Role.SUPERVISOR)
    make_user("city", Role.OFFICIAL, "3713")


def _post(client: Any, url: str, json: Any = None, data: Any = None) -> Any:
    headers = {"x-csrftoken": csrf_token(client)}
    return client.post(url, json=json, data=data, headers=headers, follow_redirects=False)


def test_interviewer_gets_the_number_others_are_refused(
    session: Session, settings, client, people
) -> None:
    fw = make_field(session, settings, fieldwork=ALWAYS)
    alice = _as(client, "alice")
    body = _post(alice, "/api/cati/next").json()
    case = body["case"]
    assert case["phone"] == fw.phones[case["id"]]
    assert case["dial_href"] == "tel:" + fw.phones[case["id"]]
    assert "****" in case["phone_masked"]
    audits = session.exec(select(AuditEntry).where(AuditEntry.action == "read_phone")).all()
    assert [a.subject_id for a in audits] == [str(case["id"])]
    session.rollback()  # end the read transaction (SQLite: the app writes next)
    bob = _as(client, "bob")
    # another interviewer may neither read nor record on it
    assert bob.get(f"/api/cati/cases/{case['id']}").status_code == 403
    refused = _post(bob, f"/api/cati/cases/{case['id']}/outcome", json={"disposition": "3.13"})
    assert refused.status_code == 403
    assert bob.get(f"/cati/case/{case['id']}").status_code == 403
    # bob gets another case
    other = _post(bob, "/api/cati/next").json()["case"]
    assert other["id"] != case["id"]
    # a supervisor sees the case, number masked
    boss = _as(client, "boss")
    seen = boss.get(f"/api/cati/cases/{case['id']}").json()
    assert seen["phone"] is None and seen["phone_masked"] == case["phone_masked"]
    # other roles (anonymous requests are refused everywhere: tests/test_access_control.py)
    official = _as(client, "city")
    assert official.get("/fieldwork").status_code == 403
    assert official.get(f"/api/fieldwork/waves/{fw.wave_id}/rates").status_code == 403
    assert _post(boss, "/api/cati/next").status_code == 403


def test_api_outcome_answers_and_supervision(session: Session, settings, client, people) -> None:
    fw = make_field(session, settings, fieldwork=ALWAYS)
    alice = _as(client, "alice")
    case = _post(alice, "/api/cati/next").json()["case"]
    result = _post(
        alice, f"/api/cati/cases/{case['id']}/outcome", json={"disposition": "3.13"}
    ).json()
    assert result["status"] == "new" and result["attempt"]["disposition"] == "3.13"
    assert alice.get(f"/api/cati/cases/{case['id']}").status_code == 403  # released
    bad = _post(alice, "/api/cati/next").json()["case"]
    wrong = _post(alice, f"/api/cati/cases/{bad['id']}/outcome", json={"disposition": "7.7"})
    assert wrong.status_code == 400 and wrong.json()["field"] == "disposition"
    partial = _post(
        alice, f"/api/cati/cases/{bad['id']}/answers", json={"answers": {"resident": "1"}}
    ).json()
    assert partial["errors"] == {} and not partial["completed"]
    missing = _post(
        alice, f"/api/cati/cases/{bad['id']}/answers", json={"answers": {}, "complete": True}
    ).json()
    assert "cleaning" in missing["errors"]
    done = _post(
        alice, f"/api/cati/cases/{bad['id']}/answers", json={"answers": ANSWERS, "complete": True}
    ).json()
    assert done["completed"] and done["response_id"]
    boss = _as(client, "boss")
    rates = boss.get(f"/api/fieldwork/waves/{fw.wave_id}/rates").json()
    assert rates["overall"]["counts"]["I"] == 1 and rates["overall"]["counts"]["UH"] == 19
    assert rates["overall"]["rates"]["RR1"] == 1 / 20
    progress = boss.get(f"/api/fieldwork/waves/{fw.wave_id}/progress").json()
    assert sum(p["completes"] for p in progress) == 1
    prod = boss.get(f"/api/fieldwork/waves/{fw.wave_id}/productivity").json()
    assert prod[0]["completes"] == 1 and prod[0]["attempts"] == 2
    assert boss.get(f"/api/fieldwork/waves/{fw.wave_id}/quality").status_code == 200
    waves = boss.get("/api/fieldwork/waves").json()
    assert waves[0]["completes"] == 1 and waves[0]["cases"] == 20
    codes = boss.get("/api/fieldwork/dispositions").json()
    assert {"1.1", "2.11", "3.13", "4.7", "4.8"} <= {c["code"] for c in codes}


def test_outside_calling_hours_no_case_is_handed_out(session: Session, settings, client, people):
    from participation.core.timeutil import local_now

    hour = local_now(settings.timezone).hour
    closed = {"call_start": f"{(hour + 2) % 24:02d}:00", "call_end": f"{(hour + 3) % 24:02d}:00"}
    make_field(session, settings, fieldwork=closed)
    alice = _as(client, "alice")
    body = _post(alice, "/api/cati/next").json()
    assert body["case"] is None and body["message"]
    page = _post(alice, "/cati/next")
    assert page.status_code == 303 and page.headers["location"] == "/cati?notice=none"
    assert "notice" in alice.get("/cati?notice=none").text


def test_console_pages_flow(session: Session, settings, client, people) -> None:
    fw = make_field(session, settings, fieldwork=ALWAYS)
    alice = _as(client, "alice")
    assert alice.get("/cati").status_code == 200
    taken = _post(alice, "/cati/next")
    assert taken.status_code == 303
    url = taken.headers["location"]
    case_id = int(url.rsplit("/", 1)[1])
    page = alice.get(url)
    assert page.status_code == 200 and f"tel:{fw.phones[case_id]}" in page.text
    assert 'id="q-toilet" hidden' in page.text  # skip logic: shown only after a yes
    check = _post(alice, f"{url}/check", data={"resident": "1", "toilet_used": "1"}).json()
    assert "toilet" in check["visible"]
    check = _post(alice, f"{url}/check", data={"resident": "1", "toilet_used": "2"}).json()
    assert "toilet" not in check["visible"]
    recorded = _post(
        alice, f"{url}/outcome", data={"disposition": "2.21", "callback_at": "2099-01-01T10:00"}
    )
    assert recorded.status_code == 303 and "recorded" in recorded.headers["location"]
    home = alice.get(recorded.headers["location"])
    assert "2.21" in home.text
    case = session.get(SampleCase, case_id)
    session.refresh(case)
    assert case.status == "callback" and case.next_call_at.year == 2099
    session.rollback()
    second = _post(alice, "/cati/next").headers["location"]
    incomplete = _post(alice, f"{second}/interview", data={"resident": "1", "_action": "complete"})
    assert incomplete.status_code == 400 and "field-error" in incomplete.text
    saved = _post(alice, f"{second}/interview", data={"resident": "1", "_action": "save"})
    assert saved.status_code == 303
    done = _post(alice, f"{second}/interview", data={**ANSWERS, "_action": "complete"})
    assert done.status_code == 303 and "complete" in done.headers["location"]
    response = session.exec(select(Response)).one()
    assert response.answers["toilet"] == "2" and response.sex == "female"
    session.rollback()
    third = _post(alice, "/cati/next").headers["location"]
    out = _post(alice, f"{third}/interview", data={"resident": "2", "_action": "save"})
    assert "screened" in out.headers["location"]
    fourth = _post(alice, "/cati/next").headers["location"]
    assert _post(alice, f"{fourth}/release").status_code == 303
    boss = _as(client, "boss")
    assert fw.wave_id and boss.get("/fieldwork").status_code == 200
    wave_page = boss.get(f"/fieldwork/waves/{fw.wave_id}")
    assert wave_page.status_code == 200 and 'id="e-value"' in wave_page.text
