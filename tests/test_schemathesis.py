"""Hostile input: schemathesis drives every operation of /schema/openapi.json in-process
(ASGI), signed in as an administrator and as a street official, and finds no server error and
no response that breaks the documented schema, status codes or content types.

Bounded: at most :data:`EXAMPLES` generated cases per operation, derandomized (the same
cases on every run), no deadline.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import checks
from sqlmodel import Session

from participation.accounts.roles import Role
from participation.surveys.models import SampleCase
from participation.surveys.websurvey import create_invitation
from tests.conftest import csrf_token, login
from tests.surveys.helpers import STREET, fielding_wave

pytestmark = pytest.mark.slow

EXAMPLES = 20
CHECKS = [
    checks.not_a_server_error,
    checks.response_schema_conformance,
    checks.status_code_conformance,
    checks.content_type_conformance,
]


@pytest.fixture
def dataset(session: Session, linyi: None) -> dict[str, Any]:
    """A few real rows for generated ids to hit: a fielding wave, an invitation."""
    wave = fielding_wave(session)
    assert wave.id is not None
    create_invitation(session, wave.id, STREET)
    case = SampleCase(wave_id=wave.id, street_code=STREET, released=True)
    session.add(case)
    session.commit()
    return {
        "wave_id": wave.id,
        "questionnaire_id": wave.questionnaire_id,
        "case_id": case.id,
        "code": STREET,
    }


@pytest.fixture(params=["administrator", "street_official"])
def signed_in(request: Any, app: Any, make_user: Any) -> tuple[str, requests.Session, int]:
    """A requests session carrying a session cookie and CSRF header: an administrator (every
    operation open), or a street official (scope checks on every path)."""
    from litestar.testing import TestClient

    role, unit = {
        "administrator": (Role.ADMINISTRATOR, None),
        "street_official": (Role.OFFICIAL, STREET),
    }[request.param]
    user = make_user("fuzzer", role, unit)
    client = TestClient(app)
    login(client, "fuzzer")
    token = csrf_token(client)
    session = requests.Session()
    for name, value in client.cookies.items():
        session.cookies.set(name, value)
    session.headers["x-csrftoken"] = token
    return request.param, session, user.id


def test_no_server_errors_or_schema_violations(
    app: Any, dataset: dict[str, Any], signed_in: tuple[str, requests.Session, int]
) -> None:
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app)
    who, http, user_id = signed_in
    failures: list[str] = []
    statuses: dict[str, set[int]] = {}
    turn = {"n": 0}
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path.startswith("/schema"):
            continue
        operations += 1

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            params = case.path_parameters or {}
            if params.get("user_id") == user_id:
                return  # never lock the fuzzing user out
            # Every other example aims at the real rows, so handlers get past their look-ups.
            turn["n"] += 1
            if turn["n"] % 2 == 0:
                for name in params:
                    if name in dataset:
                        params[name] = dataset[name]
            response = case.call_and_validate(session=http, checks=CHECKS)
            op = case.operation
            statuses.setdefault(f"{op.method.upper()} {op.path}", set()).add(response.status_code)

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # one report for every operation
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}"[:3000])
    assert operations >= 20
    assert not failures, "\n\n".join(failures)
    # The user stayed signed in, and generated requests got through to the handlers.
    unauthenticated = sorted(op for op, codes in statuses.items() if 401 in codes)
    assert not unauthenticated, unauthenticated
    succeeded = [op for op, codes in statuses.items() if any(200 <= c < 300 for c in codes)]
    assert len(succeeded) >= operations // (3 if who == "administrator" else 6), sorted(
        statuses.items()
    )
