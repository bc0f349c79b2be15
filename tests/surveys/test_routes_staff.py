"""Staff pages and API of the surveys domain: roles, scope, XLSForm over HTTP, waves, allocation."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from participation.accounts.roles import Role
from participation.surveys.models import Questionnaire, Wave
from participation.surveys.service import transition_wave
from participation.surveys.standard import standard_definition
from participation.surveys.xlsform import write_xlsform
from tests.surveys.helpers import STREET, fielding_wave, full_answers

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_xlsform_import_and_export_over_http(client_as: Any, csrf: Any, linyi: None) -> None:
    admin = client_as(Role.ADMINISTRATOR)
    token = csrf(admin)
    r = admin.post(
        "/api/surveys/questionnaires/import",
        files={"data": ("form.xlsx", write_xlsform(standard_definition()), XLSX)},
        headers={"x-csrftoken": token},
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["version"] == 1 and created["items"] == len(standard_definition()["items"])
    exported = admin.get(f"/api/surveys/questionnaires/{created['id']}/xlsform")
    assert exported.status_code == 200 and exported.content[:2] == b"PK"
    again = admin.post(
        "/api/surveys/questionnaires/import",
        files={"data": ("form.xlsx", exported.content, XLSX)},
        headers={"x-csrftoken": token},
    )
    assert again.json()["version"] == 2
    bad = admin.post(
        "/api/surveys/questionnaires/import",
        files={"data": ("form.xlsx", b"not a workbook", XLSX)},
        headers={"x-csrftoken": token},
    )
    assert bad.status_code == 400 and bad.json()["field"] == "file"
    page = admin.get(f"/surveys/questionnaires/{created['id']}")
    assert page.status_code == 200 and "toilet_used" in page.text
    # a county official may view but not import; an interviewer may not even view
    county = client_as(Role.OFFICIAL, "371302")
    refused = county.post(
        "/api/surveys/questionnaires/import",
        files={"data": ("form.xlsx", exported.content, XLSX)},
        headers={"x-csrftoken": csrf(county)},
    )
    assert refused.status_code == 403
    assert county.get("/surveys").status_code == 200
    assert client_as(Role.INTERVIEWER).get("/api/surveys/waves").status_code == 403


def test_wave_pages_allocation_and_status(
    client_as: Any, csrf: Any, session: Session, linyi: None
) -> None:
    supervisor = client_as(Role.SUPERVISOR)
    token = csrf(supervisor)
    questionnaire_id = supervisor.post(
        "/api/surveys/questionnaires",
        json={"definition": standard_definition()},
        headers={"x-csrftoken": token},
    ).status_code
    assert questionnaire_id == 403  # supervisors do not edit questionnaires
    admin = client_as(Role.ADMINISTRATOR)
    q = admin.post(
        "/api/surveys/questionnaires",
        json={"definition": standard_definition()},
        headers={"x-csrftoken": csrf(admin)},
    ).json()
    r = supervisor.post(
        "/surveys/waves",
        data={
            "name": "2027年第1期",
            "questionnaire_id": str(q["id"]),
            "source": "city",
            "period_start": "2027-01-01",
            "period_end": "2027-02-28",
            "modes": ["phone", "web"],
            "target_per_street": "30",
            "_csrf_token": token,
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    wave_id = int(r.headers["location"].rsplit("/", 1)[1])
    r = supervisor.post(
        f"/api/surveys/waves/{wave_id}/allocation",
        json={"method": "moe_mean", "target_moe": 5, "sd": 20, "deff": 1.5},
        headers={"x-csrftoken": token},
    )
    assert r.status_code == 200, r.text
    plan = r.json()
    assert len(plan["rows"]) == 156
    assert all(row["moe_mean"] <= 5 for row in plan["rows"])
    page = supervisor.get(f"/surveys/waves/{wave_id}")
    assert page.status_code == 200 and 'id="allocation-table"' in page.text
    assert page.text.count("<tr>") >= 156
    for status in ("fielding", "closed"):
        r = supervisor.post(
            f"/api/surveys/waves/{wave_id}/status",
            json={"status": status},
            headers={"x-csrftoken": token},
        )
        assert r.status_code == 200 and r.json()["status"] == status
    r = supervisor.post(
        f"/api/surveys/waves/{wave_id}/status",
        json={"status": "published"},
        headers={"x-csrftoken": token},
    )
    assert r.status_code == 403
    # the closed wave is read-only: selection refused with 409
    r = supervisor.post(
        f"/api/surveys/waves/{wave_id}/select", json={"seed": 1}, headers={"x-csrftoken": token}
    )
    assert r.status_code == 409
    city = client_as(Role.OFFICIAL, "3713")
    r = city.post(
        f"/api/surveys/waves/{wave_id}/status",
        json={"status": "published"},
        headers={"x-csrftoken": csrf(city)},
    )
    assert r.status_code == 200 and r.json()["status"] == "published"
    assert session.get(Wave, wave_id) is not None
    assert session.exec(select(Questionnaire).where(Questionnaire.id == q["id"])).one().locked


def test_results_follow_the_official_scope(
    client_as: Any, csrf: Any, session: Session, linyi: None
) -> None:
    from participation.surveys.service import form_of
    from participation.surveys.websurvey import build_response

    wave = fielding_wave(session)
    assert wave.id is not None
    form = form_of(session.exec(select(Questionnaire)).one())
    for street in (STREET, "371311001"):
        for _ in range(3):
            session.add(
                build_response(
                    form, full_answers(), wave_id=wave.id, street_code=street, mode="phone"
                )
            )
    transition_wave(session, wave.id, "closed", "administrator")
    session.commit()
    admin = client_as(Role.ADMINISTRATOR)
    r = admin.post(f"/api/surveys/waves/{wave.id}/estimate", headers={"x-csrftoken": csrf(admin)})
    assert r.status_code == 200 and r.json()["count"] == 5
    everything = {
        row["unit_code"] for row in admin.get(f"/api/surveys/waves/{wave.id}/results").json()
    }
    assert everything == {STREET, "371311001", "371302", "371311", "3713"}
    county = client_as(Role.OFFICIAL, "371302")
    mine = {row["unit_code"] for row in county.get(f"/api/surveys/waves/{wave.id}/results").json()}
    assert mine == {STREET, "371302"}
    page = county.get(f"/surveys/waves/{wave.id}")
    assert page.status_code == 200 and "371311001" not in page.text


def test_open_link_is_flagged(client: Any, session: Session, linyi: None) -> None:
    import re

    from participation.surveys.models import Response

    wave = fielding_wave(session)
    page = client.get(f"/s/open/{wave.id}")
    assert page.status_code == 200
    csrf_value = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = client.post(
        f"/s/open/{wave.id}/submit",
        data={"_csrf_token": csrf_value, "_action": "submit", **full_answers()},
        follow_redirects=False,
    )
    assert r.status_code == 400 and "请选择您所在的街道" in r.text
    r = client.post(
        f"/s/open/{wave.id}/submit",
        data={
            "_csrf_token": csrf_value,
            "_action": "submit",
            "street_code": STREET,
            **full_answers(),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    stored = session.exec(select(Response)).one()
    assert stored.mode == "open_link" and stored.invitation_id is None
