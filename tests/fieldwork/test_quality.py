"""Quality flags: short interviews, straight-lining, interviewer effects; taking a given case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from participation.accounts.models import User
from participation.core.errors import ConflictError
from participation.fieldwork import service
from participation.surveys.models import Response
from tests.fieldwork.conftest import make_field

TZ = "Asia/Shanghai"
MORNING = datetime(2027, 1, 11, 2, 0, tzinfo=UTC)


def test_straightlining_and_z_scores() -> None:
    items = ["a", "b", "c", "d", "e"]
    assert service.is_straightlined({n: "1" for n in items}, items)
    assert not service.is_straightlined({**{n: "1" for n in items}, "e": "2"}, items)
    assert not service.is_straightlined({"a": "1", "b": "1"}, items)  # too few answered
    rows = [(1, "s1", s) for s in (40.0, 42.0, 38.0, 41.0)]
    rows += [(2, "s1", s) for s in (80.0, 82.0, 79.0, 81.0, 78.0)]
    rows += [(3, "s2", 60.0), (3, "s2", 70.0)]  # no other interviewer in s2: no z
    z = service.interviewer_z_scores(rows)
    assert set(z) == {1, 2}
    assert z[1][0] < -3 < 3 < z[2][0] and z[1][1] == 4


def test_quality_flags_of_a_wave(session: Session, settings) -> None:
    fw = make_field(session, settings, per_street=6, streets=("371302001",))
    users = [User(username=f"q{i}", role="interviewer", password_hash="x") for i in range(2)]
    session.add_all(users)
    session.flush()
    rows = []
    for k, case_id in enumerate(fw.case_ids):
        low = k < 3
        value = "4" if low else "1"
        answers = {
            "resident": "1",
            "cleaning": value,
            "toilet_used": "1",
            "toilet": value,
            "lighting": value if k != 5 else "2",
            "sex": "male",
            "age_group": "60+",
        }
        rows.append(
            Response(
                wave_id=fw.wave_id,
                street_code="371302001",
                mode="phone",
                case_id=case_id,
                interviewer_id=users[0 if low else 1].id,
                answers=answers,
                score=(5.0 + k) if low else (95.0 - k),
                duration_seconds=60.0 if k == 0 else 400.0,
            )
        )
    session.add_all(rows)
    session.commit()
    flags = service.quality_flags(session, fw.wave_id)
    kinds = {(f.kind, f.response_id or f.interviewer_id) for f in flags}
    assert ("short", rows[0].id) in kinds
    # only 3 scale items in this questionnaire: straight-lining needs at least 5
    assert not any(f.kind == "straightline" for f in flags)
    assert ("interviewer", users[0].id) in kinds and ("interviewer", users[1].id) in kinds


def test_claim_a_given_case(session: Session, settings) -> None:
    fw = make_field(session, settings, per_street=1, streets=("371302001",))
    users = [User(username=f"g{i}", role="interviewer", password_hash="x") for i in range(2)]
    session.add_all(users)
    session.commit()
    case = service.claim_case(session, fw.case_ids[0], users[0].id, now=MORNING)
    assert case.claimed_by == users[0].id
    with pytest.raises(ConflictError):
        service.claim_case(session, fw.case_ids[0], users[1].id, now=MORNING)
    later = MORNING + timedelta(minutes=30)
    assert service.claim_case(session, fw.case_ids[0], users[1].id, now=later).claimed_by == (
        users[1].id
    )
