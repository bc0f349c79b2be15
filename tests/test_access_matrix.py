"""Route × role: every route of the app, asked by every kind of user, answers as declared.

The table is derived from the route table itself (so routes of domains added later are covered
without editing this file): a role the handler does not admit gets 401/403 (pages: a redirect to
the sign-in page), a role it admits does not; public routes admit everyone. Path parameters are
filled with real ids of a small data set in street A (银雀山街道), inside every official's scope.

Then the scope rules: an official of street B (or of another county) gets 403 on street A's
non-public data; an interviewer gets 403 on another interviewer's case. And PIPL: no response
to any role shows a resident's phone number in plain, except the interviewer's held case and the
reward officer's contact read, and each of those plain reads writes an audit entry.
"""

from __future__ import annotations

import dataclasses
import enum
import io
import re
import types
import typing
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from litestar.handlers import HTTPRouteHandler
from litestar.testing import TestClient
from pydantic import BaseModel
from sqlalchemy import update
from sqlmodel import Session, col, func, select

from participation.accounts.models import User
from participation.accounts.roles import Role
from participation.core.crypto import Vault
from participation.core.models import AuditEntry
from participation.core.timeutil import utcnow
from participation.surveys.models import SampleCase
from participation.surveys.websurvey import create_invitation
from tests.conftest import TEST_PASSWORD, csrf_token, login
from tests.surveys.helpers import fielding_wave

pytestmark = pytest.mark.slow

STREET_A = "371302002"  # 银雀山街道
STREET_B = "371302001"  # 兰山街道 (same county)
COUNTY = "371302"
OTHER_COUNTY = "371311"
CITY = "3713"
REPORTER_PHONE = "13812345678"
REPORTER_NAME = "张三丰"
CASE_PHONES = ("13900000001", "13900000002", "13900000003")
VOLUNTEER_PHONE = "13700000007"

# Who asks: (name, role, unit) — residents have no account: a resident is an anonymous client
# that knows a survey token and a tracking code.
ROLES: tuple[tuple[str, Role | None, str | None], ...] = (
    ("anonymous", None, None),
    ("resident", None, None),
    ("interviewer", Role.INTERVIEWER, None),
    ("volunteer", Role.VOLUNTEER, STREET_A),
    ("street_official", Role.OFFICIAL, STREET_A),
    ("county_official", Role.OFFICIAL, COUNTY),
    ("city_official", Role.OFFICIAL, CITY),
    ("supervisor", Role.SUPERVISOR, None),
    ("reward_officer", Role.REWARD_OFFICER, None),
    ("administrator", Role.ADMINISTRATOR, None),
)
# Where a plain phone number may appear: the interviewer's own case, the reward officer's
# audited contact read.
PLAIN_PHONE_ALLOWED = {
    "interviewer": re.compile(r"^/(api/)?cati(/|$)"),
    "reward_officer": re.compile(
        r"^/(api/reports/\{report_id\}/contact|reports/admin/\{report_id\}/reveal)$"
    ),
}
SKIP_PREFIXES = ("/schema", "/static", "/vendor")
# City-wide tasks: handlers admit officials but refuse those below the city level (scope).
CITY_ONLY = re.compile(
    r"^(GET /api/scoring/assessments/\{assessment_id\}"
    r"|POST /(api/)?scoring/.*"
    r"|POST /api/surveys/questionnaires(/\{questionnaire_id\}/definition)?)$"
)
SUB_CITY = {"street_official", "county_official"}
# Public, but answers 401 to wrong credentials by design.
CREDENTIALS = {("POST", "/login")}


def http_routes(app: Any) -> Iterator[tuple[str, str, HTTPRouteHandler]]:
    """(path, method, handler) of every HTTP route, as in tests/test_access_control.py."""
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if isinstance(handler, HTTPRouteHandler):
                for method in sorted(handler.http_methods - {"OPTIONS", "HEAD"}):
                    yield route.path, method, handler


@dataclass
class World:
    """The data set: ids to fill path parameters with, and the people."""

    values: dict[str, str]
    case_id: int
    users: dict[str, Any] = field(default_factory=dict)


@pytest.fixture
def world(session: Session, settings: Any, linyi: None, make_user: Any) -> World:
    from participation.reports import service as reports

    vault = Vault(settings)
    wave = fielding_wave(session)
    assert wave.id is not None and wave.questionnaire_id is not None
    _, token = create_invitation(session, wave.id, STREET_A)
    cases = []
    for phone in CASE_PHONES:
        row = SampleCase(
            wave_id=wave.id,
            street_code=STREET_A,
            phone_enc=vault.encrypt("+86" + phone),
            phone_hash=vault.keyed_hash("+86" + phone),
            released=True,
        )
        session.add(row)
        cases.append(row)
    session.commit()
    users = {
        name: make_user(f"m_{name}", role, unit)
        for name, role, unit in ROLES
        if role is not None and role is not Role.VOLUNTEER
    }
    users["other_interviewer"] = make_user("m_other_interviewer", Role.INTERVIEWER)
    users["street_b_official"] = make_user("m_street_b", Role.OFFICIAL, STREET_B)
    users["other_county_official"] = make_user("m_other_county", Role.OFFICIAL, OTHER_COUNTY)
    users["second_reward_officer"] = make_user("m_reward2", Role.REWARD_OFFICER)
    users["spare"] = make_user("m_spare", Role.SUPERVISOR)

    volunteer_values = _volunteer_data(session, settings, users["street_official"])
    users["volunteer"] = session.get(User, volunteer_values.pop("user_id"))
    reports.ensure_catalogue(session)
    facility = reports.add_facility(
        session, code="BIN-0001", kind="bin", lat=35.0605, lon=118.343, street_code=STREET_A
    )
    filed = []
    for k in range(2):
        report = reports.file_report(
            session,
            settings,
            reports.ReportInput(
                category_code="exposed_garbage",
                description="垃圾堆在路边",
                lat=35.0605 + 0.02 * k,
                lon=118.343,
                street_code=STREET_A,
                phone=REPORTER_PHONE,
                name=REPORTER_NAME,
            ),
        )
        session.commit()
        reports.verify(session, report, users["street_official"].id, "true", severity="minor")
        session.commit()
        filed.append(report)
    reward = reports.approve_reward(
        session, settings, filed[1].id, users["second_reward_officer"].id
    )
    session.commit()
    assert cases[0].id is not None and reward.id is not None
    values = {
        "user_id": str(users["spare"].id),
        "questionnaire_id": str(wave.questionnaire_id),
        "wave_id": str(wave.id),
        "case_id": str(cases[0].id),
        "report_id": str(filed[0].id),
        "reward_id": str(reward.id),
        "token": token,
        "tracking_code": filed[0].tracking_code,
        "facility_code": facility.code,
        "code": STREET_A,
        **volunteer_values,
    }
    return World(values=values, case_id=cases[0].id, users=users)


def _volunteer_data(session: Session, settings: Any, official: Any) -> dict[str, Any]:
    """An approved volunteer of street A (account ``m_volunteer``) with a draft visit and a
    finding, and a submitted visit whose finding became an open problem in street A."""
    from participation.core.web import CurrentUser
    from participation.volunteers import service as volunteers

    def actor(user: Any) -> CurrentUser:
        return CurrentUser(user.id, user.username, user.display_name, user.role, user.unit_code)

    volunteers.ensure_defaults(session)
    session.commit()
    applied = volunteers.apply(
        session,
        settings,
        name="志愿者甲",
        phone=VOLUNTEER_PHONE,
        street_code=STREET_A,
        username="m_volunteer",
        password=TEST_PASSWORD,
    )
    assert applied.id is not None
    volunteers.decide(session, actor(official), applied.id, approve=True)
    session.commit()
    account = session.get(User, applied.user_id)
    category = volunteers.categories(session)[0].code
    # A submitted visit whose finding became a problem, and a draft visit with a finding.
    done = volunteers.start_visit(session, actor(account))
    assert done.id is not None
    standard = volunteers.get_standard(session, done.standard_id)
    volunteers.update_visit(
        session,
        actor(account),
        done.id,
        street_code=STREET_A,
        results={item["code"]: "pass" for item in standard.items},
    )
    volunteers.add_finding(
        session, actor(account), done.id, category=category, description="井盖缺失"
    )
    _, problems = volunteers.submit_visit(session, actor(account), done.id)
    problem = problems[0]
    visit = volunteers.start_visit(session, actor(account))
    assert visit.id is not None
    finding = volunteers.add_finding(
        session, actor(account), visit.id, category=category, description="路灯不亮"
    )
    session.commit()
    return {
        "user_id": applied.user_id,
        "volunteer_id": str(applied.id),
        "visit_id": str(visit.id),
        "finding_id": str(finding.id),
        "problem_id": str(problem.id),
    }


def fill(path: str, values: dict[str, str]) -> str:
    """The path with its parameters replaced by the data set's values (unknown ones: 1/x)."""

    def repl(m: re.Match[str]) -> str:
        name, kind = m.group(1), m.group(2) or "str"
        if name == "code":
            if path.startswith("/lang/"):
                return "en"
            if path.startswith("/reports/facilities/"):
                return values["facility_code"]
            if path.startswith("/open311/"):
                return "exposed_garbage.json"
            if path.startswith("/api/reports/track/"):
                return values["tracking_code"]
        if name == "request_id":
            return values["report_id"] + ".json"
        if name in values:
            return values[name]
        return "1" if kind == "int" else "x"

    return re.sub(r"\{(\w+)(?::(\w+))?\}", repl, path)


def template(path: str) -> str:
    """``/a/{x:int}`` → ``/a/{x}``."""
    return re.sub(r"\{(\w+):\w+\}", r"{\1}", path)


def refused(response: Any) -> bool:
    """A 401/403, or a page's redirect to the sign-in page."""
    if response.status_code in (401, 403):
        return True
    return response.status_code in (302, 303) and response.headers.get("location", "").startswith(
        "/login"
    )


def text_of(response: Any) -> str:
    """The response as text; XLSX exports unzipped (sheet XML)."""
    body = response.content
    if body[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(body)) as z:
                return "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
        except zipfile.BadZipFile:
            pass
    return body.decode("utf-8", "replace")


def plain_phones(text: str) -> list[str]:
    """The phone numbers (any spacing) and the reporter's name found in plain in ``text``."""
    squeezed = re.sub(r"[\s\-]", "", text)
    found = [p for p in (REPORTER_PHONE, VOLUNTEER_PHONE, *CASE_PHONES) if p in squeezed]
    return found + ([REPORTER_NAME] if REPORTER_NAME in text else [])


def audit_count(session: Session) -> int:
    """Audit entries so far (the read transaction is ended: SQLite writers are not blocked)."""
    session.expire_all()
    count = int(session.exec(select(func.count()).select_from(AuditEntry)).one())
    session.rollback()
    return count


def last_audit(session: Session) -> dict[str, Any]:
    """The newest audit entry's fields (read transaction ended)."""
    session.expire_all()
    entry = session.exec(select(AuditEntry).order_by(col(AuditEntry.id).desc())).first()
    assert entry is not None
    fields = entry.model_dump()
    session.rollback()
    return fields


def sample(annotation: Any) -> Any:
    """A well-formed value of a type (the first choice of a literal or enum)."""
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin is typing.Literal:
        return args[0]
    if origin in (typing.Union, types.UnionType):
        return sample(args[0])
    if origin is typing.Annotated:
        return sample(args[0])
    if isinstance(annotation, type):
        if issubclass(annotation, enum.Enum):
            return next(iter(annotation)).value
        if issubclass(annotation, bool):
            return False
        if issubclass(annotation, int):
            return 1
        if issubclass(annotation, float):
            return 1.0
        if issubclass(annotation, datetime):
            return "2026-01-01T10:00:00"
        if issubclass(annotation, date):
            return "2026-01-01"
        if issubclass(annotation, str):
            return "x"
    if origin in (list, tuple, set) or annotation in (list, tuple, set):
        return []
    return {}


def body_for(handler: HTTPRouteHandler) -> dict[str, Any]:
    """A well-formed body for the handler's ``data`` model: its required fields, sampled."""
    parameter = handler.parsed_fn_signature.parameters.get("data")
    if parameter is None:
        return {}
    model = parameter.annotation
    if isinstance(model, type) and issubclass(model, BaseModel):
        return {
            name: sample(f.annotation) for name, f in model.model_fields.items() if f.is_required()
        }
    if dataclasses.is_dataclass(model):
        return {
            f.name: sample(f.type)
            for f in dataclasses.fields(model)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        }
    return {}


def test_route_role_matrix(app: Any, session: Session, world: World) -> None:
    clients: dict[str, TestClient[Any]] = {}
    for name, role, _ in ROLES:
        c = TestClient(app)
        if role is not None:
            login(c, f"m_{name}")
        csrf_token(c)
        clients[name] = c
    # The interviewer holds the first case (as after "next case").
    case_hold = (
        update(SampleCase)
        .where(col(SampleCase.id) == world.case_id)
        .values(
            claimed_by=world.users["interviewer"].id, claimed_until=utcnow() + timedelta(hours=2)
        )
    )
    routes = [
        (path, method, handler)
        for path, method, handler in http_routes(app)
        if not path.startswith(SKIP_PREFIXES)
    ]
    # Reads first, then writes; signing out last.
    routes.sort(key=lambda r: (r[0] == "/logout", r[1] != "GET", r[0]))
    problems: list[str] = []
    plain_reads: set[tuple[str, str]] = set()
    checked = 0
    for path, method, handler in routes:
        url = fill(path, world.values)
        admits = set(handler.opt.get("roles", ()))
        public = bool(handler.opt.get("public"))
        for name, role, _ in ROLES:
            session.execute(case_hold)
            session.commit()
            before = audit_count(session)
            c = clients[name]
            kwargs: dict[str, Any] = {
                "headers": {"x-csrftoken": csrf_token(c)},
                "params": {"reason": "access matrix"},  # reads of personal data need a reason
            }
            if method != "GET":
                kwargs["json" if path.startswith("/api/") else "data"] = body_for(handler)
            response = c.request(method, url, follow_redirects=False, **kwargs)
            checked += 1
            allowed = public or (role is not None and role.value in admits)
            where = f"{name}: {method} {url} → {response.status_code}"
            if name in SUB_CITY and CITY_ONLY.match(f"{method} {template(path)}"):
                # refused by scope (a malformed body may be refused before the scope check)
                if not (refused(response) or response.status_code == 400):
                    problems.append(f"city-wide task open below the city — {where}")
            elif (method, path) in CREDENTIALS:
                pass  # public; wrong credentials answer 401 by design
            elif allowed and refused(response):
                problems.append(f"refused although admitted — {where}")
            elif not allowed and not refused(response):
                problems.append(f"admitted although not declared — {where}")
            if response.status_code >= 500:
                problems.append(f"server error — {where}")
            shown = plain_phones(text_of(response))
            if shown:
                rule = PLAIN_PHONE_ALLOWED.get(name)
                if rule is None or not rule.match(template(path)):
                    problems.append(f"plain phone {shown} shown — {where}")
                elif audit_count(session) <= before:
                    problems.append(f"plain phone read without an audit entry — {where}")
                else:
                    entry = last_audit(session)
                    user = world.users[name]
                    if (entry["actor_id"], entry["actor_role"]) != (user.id, user.role) or not (
                        entry["reason"] and entry["action"] and entry["subject_id"]
                    ):
                        problems.append(f"audit entry lacks who/what/why ({entry}) — {where}")
                    plain_reads.add((name, f"{method} {template(path)}"))
    assert checked > 100
    # The scan sees the plain reads that are allowed (so it would see the others).
    assert {
        ("interviewer", "GET /api/cati/cases/{case_id}"),
        ("reward_officer", "GET /api/reports/{report_id}/contact"),
    } <= plain_reads, plain_reads
    assert not problems, "\n".join(problems)


def test_scope_and_ownership(app: Any, session: Session, world: World) -> None:
    """Officials outside street A get 403 on its non-public data; another interviewer gets
    403 on the case the first one holds."""
    session.execute(
        update(SampleCase)
        .where(col(SampleCase.id) == world.case_id)
        .values(
            claimed_by=world.users["interviewer"].id, claimed_until=utcnow() + timedelta(hours=2)
        )
    )
    session.commit()
    outsiders = {}
    for name, username in (
        ("street_b_official", "m_street_b"),
        ("other_county_official", "m_other_county"),
        ("other_interviewer", "m_other_interviewer"),
    ):
        c = TestClient(app)
        login(c, username)
        outsiders[name] = c
    problems: list[str] = []
    checked = 0
    for path, method, handler in http_routes(app):
        if handler.opt.get("public") or path.startswith(SKIP_PREFIXES):
            continue
        admits = set(handler.opt.get("roles", ()))
        params = set(re.findall(r"\{(\w+)", path))
        scoped = params & {"report_id", "code"} and Role.OFFICIAL.value in admits
        owned = "case_id" in params and Role.INTERVIEWER.value in admits
        if path.startswith("/lang/"):
            continue
        who = (
            ["street_b_official", "other_county_official"]
            if scoped
            else ["other_interviewer"]
            if owned
            else []
        )
        for name in who:
            c = outsiders[name]
            kwargs: dict[str, Any] = {"headers": {"x-csrftoken": csrf_token(c)}}
            if method != "GET":
                kwargs["json" if path.startswith("/api/") else "data"] = body_for(handler)
            r = c.request(method, fill(path, world.values), follow_redirects=False, **kwargs)
            checked += 1
            if r.status_code != 403:
                problems.append(f"{name}: {method} {path} → {r.status_code} (expected 403)")
    assert checked >= 10
    assert not problems, "\n".join(problems)


def test_resident_token_and_tracking_code_open_only_their_own(app: Any, world: World) -> None:
    resident = TestClient(app)
    assert resident.get(f"/s/{world.values['token']}").status_code == 200
    assert resident.get("/s/not-a-token").status_code == 404
    track = resident.get(f"/api/reports/track/{world.values['tracking_code']}")
    assert track.status_code == 200
    assert not plain_phones(track.text)
    assert resident.get("/api/reports/track/AAAAAAAAAA").status_code == 404
    # The token gives no access to staff data.
    assert resident.get(f"/api/reports/{world.values['report_id']}").status_code == 401
