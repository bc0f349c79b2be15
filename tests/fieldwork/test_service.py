"""Case hand-out, calling hours, retries, maximum attempts, refusals, resume and quotas."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from participation.core.errors import ConflictError, ForbiddenError, ServiceError
from participation.fieldwork import service
from participation.fieldwork.models import CallAttempt
from participation.surveys.models import DoNotCall, Response, Wave
from tests.fieldwork.conftest import make_field

TZ = "Asia/Shanghai"
# 10:00 in Linyi on a January morning
MORNING = datetime(2027, 1, 11, 2, 0, tzinfo=UTC)
NIGHT = datetime(2027, 1, 11, 14, 0, tzinfo=UTC)  # 22:00 local

ANSWERS = {
    "resident": "1",
    "cleaning": "1",
    "toilet_used": "2",
    "lighting": "2",
    "sex": "male",
    "age_group": "30-44",
}


@pytest.fixture
def staff(make_user):
    from participation.accounts.roles import Role

    return [make_user(f"iv{i}", Role.INTERVIEWER).id for i in range(3)]


def test_calling_hours_and_time_bands() -> None:
    config = service.FieldworkConfig()
    assert service.within_calling_hours(MORNING, config, TZ)
    assert not service.within_calling_hours(NIGHT, config, TZ)
    assert service.time_band(MORNING, TZ) == "morning"
    retry = service.next_retry_time(MORNING, config, TZ)
    assert retry - MORNING >= timedelta(hours=2)
    assert service.time_band(retry, TZ) != "morning"
    late = datetime(2027, 1, 11, 12, 30, tzinfo=UTC)  # 20:30 local, evening band
    retry = service.next_retry_time(late, config, TZ)
    assert service.within_calling_hours(retry, config, TZ)
    assert service.time_band(retry, TZ) != "evening"
    assert retry.astimezone().date() != late.date() or retry > late


def test_wave_settings_override_hours(session: Session, settings, staff) -> None:
    fw = make_field(session, settings, fieldwork={"call_start": "08:00", "call_end": "23:00"})
    wave = session.get(Wave, fw.wave_id)
    config = service.FieldworkConfig.of(wave)
    assert service.within_calling_hours(NIGHT, config, TZ)
    assert service.claim_next(session, staff[0], TZ, now=NIGHT) is not None


def test_no_fresh_sample_outside_calling_hours_but_due_appointments(
    session: Session, settings, field_wave, staff
) -> None:
    assert service.claim_next(session, staff[0], TZ, now=NIGHT) is None
    case = service.claim_next(session, staff[0], TZ, now=MORNING)
    assert case is not None
    service.record_outcome(
        session, case, staff[0], "2.21", TZ, callback_at=NIGHT - timedelta(minutes=5), now=MORNING
    )
    session.commit()
    again = service.claim_next(session, staff[1], TZ, now=NIGHT)
    assert again is not None and again.id == case.id and again.status == "callback"


def test_appointments_first_then_fresh_and_held_case_returns(
    session: Session, settings, field_wave, staff
) -> None:
    first = service.claim_next(session, staff[0], TZ, now=MORNING)
    assert first is not None
    # asking again returns the case the interviewer still holds
    assert service.claim_next(session, staff[0], TZ, now=MORNING).id == first.id
    due = MORNING + timedelta(hours=3)
    service.record_outcome(session, first, staff[0], "1.2", TZ, callback_at=due, now=MORNING)
    session.commit()
    early = service.claim_next(session, staff[1], TZ, now=MORNING + timedelta(minutes=1))
    assert early is not None and early.id != first.id
    session.commit()
    later = service.claim_next(session, staff[2], TZ, now=due + timedelta(minutes=1))
    assert later is not None and later.id == first.id


def test_no_answer_is_retried_later_in_another_band(
    session: Session, settings, field_wave, staff
) -> None:
    case = service.claim_next(session, staff[0], TZ, now=MORNING)
    attempt = service.record_outcome(session, case, staff[0], "3.13", TZ, now=MORNING)
    session.commit()
    assert attempt.disposition == "3.13" and case.attempts == 1 and case.claimed_by is None
    assert case.next_call_at >= MORNING + timedelta(hours=2)
    assert service.time_band(case.next_call_at, TZ) != "morning"
    # not handed out again before then
    for _ in range(len(field_wave.case_ids) - 1):
        other = service.claim_next(session, staff[1], TZ, now=MORNING + timedelta(minutes=5))
        assert other is not None and other.id != case.id
        service.record_outcome(session, other, staff[1], "4.31", TZ, now=MORNING)
        session.commit()
    assert service.claim_next(session, staff[1], TZ, now=MORNING + timedelta(minutes=6)) is None
    back = service.claim_next(session, staff[1], TZ, now=case.next_call_at + timedelta(minutes=1))
    assert back is not None and back.id == case.id


def test_maximum_attempts_exhaust_the_case(session: Session, settings, staff) -> None:
    fw = make_field(
        session, settings, per_street=1, streets=("371302001",), fieldwork={"max_attempts": 3}
    )
    now = MORNING
    for n in range(3):
        case = service.claim_next(session, staff[0], TZ, now=now)
        assert case is not None and case.id == fw.case_ids[0]
        service.record_outcome(session, case, staff[0], "3.13", TZ, now=now)
        session.commit()
        now = case.next_call_at + timedelta(minutes=1) if n < 2 else now
    assert case.status == "exhausted" and case.attempts == 3
    assert service.claim_next(session, staff[0], TZ, now=now + timedelta(days=1)) is None
    attempts = session.exec(select(CallAttempt).where(CallAttempt.case_id == case.id)).all()
    assert [a.attempt_number for a in attempts] == [1, 2, 3]


def test_hard_refusal_is_never_called_again(session: Session, settings, staff) -> None:
    fw = make_field(session, settings, per_street=2, streets=("371302001",))
    case = service.claim_next(session, staff[0], TZ, now=MORNING)
    service.record_outcome(session, case, staff[0], "2.11", TZ, do_not_call=True, now=MORNING)
    session.commit()
    assert case.status == "refused"
    assert session.get(DoNotCall, case.phone_hash) is not None
    # even a callback time set by hand does not bring it back
    case.next_call_at = MORNING
    session.add(case)
    session.commit()
    other = service.claim_next(session, staff[1], TZ, now=MORNING + timedelta(days=2))
    assert other is not None and other.id != case.id
    service.record_outcome(session, other, staff[1], "4.51", TZ, now=MORNING)
    session.commit()
    assert service.claim_next(session, staff[1], TZ, now=MORNING + timedelta(days=3)) is None
    with pytest.raises(ConflictError):
        service.record_outcome(session, case, staff[0], "3.13", TZ, now=MORNING)
    assert len(fw.case_ids) == 2


def test_expired_claims_are_reclaimable_and_others_are_refused(
    session: Session, settings, staff
) -> None:
    fw = make_field(session, settings, per_street=1, streets=("371302001",))
    case = service.claim_next(session, staff[0], TZ, now=MORNING)
    session.commit()
    assert service.claim_next(session, staff[1], TZ, now=MORNING + timedelta(minutes=10)) is None
    with pytest.raises(ForbiddenError):
        service.case_for_interviewer(session, case.id, staff[1], now=MORNING)
    later = MORNING + timedelta(minutes=21)
    taken = service.claim_next(session, staff[1], TZ, now=later)
    assert taken is not None and taken.id == fw.case_ids[0] and taken.claimed_by == staff[1]
    with pytest.raises(ForbiddenError):
        service.case_for_interviewer(session, case.id, staff[0], now=later)


def test_partial_interview_resumes_with_its_answers(session: Session, settings, staff) -> None:
    make_field(session, settings, per_street=1, streets=("371302001",))
    case = service.claim_next(session, staff[0], TZ, now=MORNING)
    result = service.save_answers(
        session,
        case,
        staff[0],
        {"resident": "1", "cleaning": "2"},
        TZ,
        now=MORNING + timedelta(minutes=1),
    )
    assert not result.errors and not result.completed
    service.record_outcome(session, case, staff[0], "1.2", TZ, now=MORNING + timedelta(minutes=3))
    session.commit()
    back = service.claim_next(session, staff[1], TZ, now=case.next_call_at)
    assert back is not None and back.id == case.id and back.status == "partial"
    assert service.answers_of(session, case.id) == {"resident": "1", "cleaning": "2"}
    rest = {k: v for k, v in ANSWERS.items() if k not in ("resident", "cleaning")}
    start = case.next_call_at
    done = service.save_answers(
        session, back, staff[1], rest, TZ, complete=True, now=start + timedelta(minutes=4)
    )
    session.commit()
    assert done.completed and not done.errors
    response = session.exec(select(Response).where(Response.case_id == case.id)).one()
    assert response.answers["cleaning"] == "2" and response.interviewer_id == staff[1]
    assert response.mode == "phone" and response.score is not None
    # timed from the start of each call: 3 minutes in the first call + 4 in the second
    assert response.duration_seconds == pytest.approx(420)
    assert back.status == "complete" and back.last_disposition == "1.1"


def test_validation_skip_logic_and_screening(session: Session, settings, staff) -> None:
    make_field(session, settings, per_street=2, streets=("371302001",))
    case = service.claim_next(session, staff[0], TZ, now=MORNING)
    missing = service.save_answers(
        session,
        case,
        staff[0],
        {"resident": "1", "toilet_used": "1"},
        TZ,
        complete=True,
        now=MORNING,
    )
    assert "toilet" in missing.errors and "toilet" in missing.visible
    assert not missing.completed
    answers = {**ANSWERS, "toilet_used": "2", "toilet": "1"}
    done = service.save_answers(session, case, staff[0], answers, TZ, complete=True, now=MORNING)
    assert done.completed and "toilet" not in done.answers  # hidden answer dropped
    session.commit()
    other = service.claim_next(session, staff[0], TZ, now=MORNING)
    out = service.save_answers(session, other, staff[0], {"resident": "2"}, TZ, now=MORNING)
    session.commit()
    assert out.screened_out and other.status == "screened_out" and other.last_disposition == "4.7"


def test_cell_quota_screens_out_politely(session: Session, settings, staff) -> None:
    make_field(
        session,
        settings,
        per_street=3,
        streets=("371302001",),
        fieldwork={"cell_quotas": {"male|30-44": 1}},
    )
    first = service.claim_next(session, staff[0], TZ, now=MORNING)
    assert service.save_answers(
        session, first, staff[0], ANSWERS, TZ, complete=True, now=MORNING
    ).completed
    session.commit()
    second = service.claim_next(session, staff[0], TZ, now=MORNING)
    out = service.save_answers(session, second, staff[0], ANSWERS, TZ, now=MORNING)
    session.commit()
    assert out.quota_full and second.last_disposition == "4.8"
    third = service.claim_next(session, staff[0], TZ, now=MORNING)
    other_cell = {**ANSWERS, "sex": "female"}
    assert service.save_answers(
        session, third, staff[0], other_cell, TZ, complete=True, now=MORNING
    ).completed


def test_full_streets_get_no_more_calls(session: Session, settings, staff) -> None:
    make_field(session, settings, per_street=2, streets=("371302001", "371302002"), target=1)
    case = service.claim_next(session, staff[0], TZ, now=MORNING)
    assert service.save_answers(
        session, case, staff[0], ANSWERS, TZ, complete=True, now=MORNING
    ).completed
    session.commit()
    full = case.street_code
    handed = []
    while (nxt := service.claim_next(session, staff[1], TZ, now=MORNING)) is not None:
        handed.append(nxt.street_code)
        service.record_outcome(session, nxt, staff[1], "4.31", TZ, now=MORNING)
        session.commit()
    assert handed and full not in handed


def test_bad_codes_and_past_callbacks_are_refused(
    session: Session, settings, field_wave, staff
) -> None:
    case = service.claim_next(session, staff[0], TZ, now=MORNING)
    with pytest.raises(ServiceError) as err:
        service.record_outcome(session, case, staff[0], "9.99", TZ, now=MORNING)
    assert err.value.field == "disposition"
    with pytest.raises(ServiceError) as err:
        service.record_outcome(
            session,
            case,
            staff[0],
            "2.21",
            TZ,
            callback_at=MORNING - timedelta(hours=1),
            now=MORNING,
        )
    assert err.value.field == "callback_at"


def test_supervision_numbers(session: Session, settings, field_wave, staff) -> None:
    codes = ["3.13", "2.11", "4.31", "2.21", "3.12"]
    for code in codes:
        case = service.claim_next(session, staff[0], TZ, now=MORNING)
        service.record_outcome(
            session, case, staff[0], code, TZ, now=MORNING + timedelta(minutes=2)
        )
        session.commit()
    for sex in ("male", "female"):
        case = service.claim_next(session, staff[1], TZ, now=MORNING)
        answers = {**ANSWERS, "sex": sex}
        service.save_answers(session, case, staff[1], answers, TZ, now=MORNING)
        service.save_answers(
            session, case, staff[1], {}, TZ, complete=True, now=MORNING + timedelta(minutes=5)
        )
        session.commit()
    rates = service.wave_rates(session, field_wave.wave_id)
    c = rates.overall.counts
    # 20 cases: 2 I, 1 R, 1 NC, 2 UH attempted + 13 never attempted (UH), 1 NE
    assert (c.I, c.R, c.NC, c.UH, c.NE) == (2, 1, 1, 15, 1)
    assert rates.e == pytest.approx(4 / 5)
    assert rates.overall.rates["RR1"] == pytest.approx(2 / 19)
    assert {r.key for r in rates.interviewers} == {str(staff[0]), str(staff[1])}
    progress = {p.street_code: p for p in service.street_progress(session, field_wave.wave_id)}
    assert sum(p.completes for p in progress.values()) == 2
    assert all(p.target == 10 for p in progress.values())
    prod = {p.interviewer_id: p for p in service.productivity(session, field_wave.wave_id)}
    assert prod[staff[1]].completes == 2
    assert prod[staff[1]].mean_interview_minutes == pytest.approx(5)
    assert prod[staff[0]].attempts == 5 and prod[staff[0]].completes == 0
    counts = service.today_counts(session, staff[1], TZ, now=MORNING + timedelta(minutes=6))
    assert counts == {"attempts": 2, "completes": 2}
