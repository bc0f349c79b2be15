"""Demo data of the fieldwork domain: a telephone wave in the field with real activity.

A wave of January–February 2027 (status ``fielding``) uses the questionnaire the surveys demo
created; every street gets released cases with synthetic mobile numbers (encrypted); five
interviewers have made calls with a spread of AAPOR outcomes, some interviews are complete,
some partial, and callbacks are due now and later — so the console and the supervisor views
show activity at once.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
from sqlalchemy import insert
from sqlmodel import Session, col, select

from participation.accounts.models import User
from participation.accounts.roles import Role
from participation.core.crypto import Vault
from participation.core.timeutil import utcnow
from participation.fieldwork import dispositions
from participation.fieldwork.models import CallAttempt, CaseWork
from participation.geography.models import Level, Unit
from participation.surveys.models import Questionnaire, Response, SampleCase, Wave
from participation.surveys.questionnaire import QuestionnaireForm

CASES_PER_STREET = 12
TARGET_PER_STREET = 8
# outcome of a worked case's last call, with probabilities
OUTCOMES = (
    ("1.1", 0.30),
    ("1.2", 0.04),
    ("2.11", 0.10),
    ("2.12", 0.02),
    ("2.21", 0.06),
    ("2.22", 0.04),
    ("2.33", 0.01),
    ("3.12", 0.05),
    ("3.13", 0.20),
    ("3.14", 0.02),
    ("4.20", 0.01),
    ("4.31", 0.08),
    ("4.51", 0.03),
    ("4.7", 0.04),
)
NON_CONTACT = ("3.13", "3.12", "2.22")


def _answers(form: QuestionnaireForm, rng: np.random.Generator, mood: float) -> dict[str, Any]:
    """Plausible answers of an eligible respondent (skip logic respected)."""
    answers: dict[str, Any] = {}
    for item in form.items:
        if item.type == "note" or item.name not in {i.name for i in form.visible_items(answers)}:
            continue
        if item.screening:
            eligible = [c.value for c in item.choices if c.value not in item.not_eligible_values()]
            answers[item.name] = eligible[0]
        elif item.type == "select_one" and item.scored:
            scored = [c for c in item.choices if c.score is not None]
            scores = np.array([c.score for c in scored], dtype=float)
            weights = np.exp(-((scores - mood) ** 2) / 800.0)
            choice = scored[int(rng.choice(len(scored), p=weights / weights.sum()))]
            answers[item.name] = choice.value
        elif item.type == "select_one":
            answers[item.name] = item.choices[int(rng.integers(len(item.choices)))].value
        elif item.type == "select_multiple":
            answers[item.name] = [item.choices[int(rng.integers(len(item.choices)))].value]
        elif item.type == "integer":
            answers[item.name] = int(rng.integers(1, 40))
    return form.clean(answers)


def build_demo(session: Session, ctx: Any) -> None:
    """Add the fieldwork demo (see the module docstring)."""
    questionnaire = session.exec(select(Questionnaire).order_by(col(Questionnaire.id))).first()
    if questionnaire is None or questionnaire.id is None:
        ctx.echo("  fieldwork: no questionnaire (surveys demo missing); skipped")
        return
    form = QuestionnaireForm(questionnaire.definition)
    rng: np.random.Generator = ctx.rng
    vault = Vault(ctx.settings)
    now = utcnow()
    streets = list(
        session.exec(select(Unit.code).where(Unit.level == Level.STREET.value).order_by(Unit.code))
    )
    wave = Wave(
        name="2027年1–2月城市管理满意度电话调查",
        source="city",
        questionnaire_id=questionnaire.id,
        period_start=date(2027, 1, 1),
        period_end=date(2027, 2, 28),
        field_start=date(2027, 1, 5),
        field_end=date(2027, 2, 20),
        modes=["phone"],
        status="fielding",
        target_per_street=TARGET_PER_STREET,
        settings={
            "fieldwork": {"call_start": "09:00", "call_end": "21:00", "max_attempts": 5},
            "exclude_recent_waves": 3,
            "include_open_link": False,
        },
    )
    session.add(wave)
    session.flush()
    assert wave.id is not None
    staff = {
        name: uid
        for name, uid in session.exec(
            select(User.username, User.id).where(User.role == Role.INTERVIEWER.value)
        ).all()
    }
    for i, name in enumerate(("孙三", "李四", "周五"), start=3):
        username = f"interviewer{i}"
        if username not in staff:
            staff[username] = ctx.add_user(session, username, Role.INTERVIEWER, f"访问员 {name}")
    interviewers = [uid for _, uid in sorted(staff.items()) if uid is not None]

    rows: list[dict[str, Any]] = []
    serial = 0
    for code in streets:
        for _ in range(CASES_PER_STREET):
            serial += 1
            phone = f"+86138{int(rng.integers(0, 10_000)):04d}{serial:04d}"
            rows.append(
                {
                    "wave_id": wave.id,
                    "street_code": code,
                    "frame_type": "mobile",
                    "phone_enc": vault.encrypt(phone),
                    "phone_hash": vault.keyed_hash(phone),
                    "replicate": 1,
                    "released": True,
                    "status": "new",
                    "attempts": 0,
                    "created_at": now - timedelta(days=3),
                }
            )
    session.execute(insert(SampleCase), rows)
    cases = session.exec(
        select(SampleCase).where(SampleCase.wave_id == wave.id).order_by(col(SampleCase.id))
    ).all()

    codes = [c for c, _ in OUTCOMES]
    probs = np.array([p for _, p in OUTCOMES])
    probs = probs / probs.sum()
    street_mood = {s: float(rng.normal(78, 8)) for s in streets}
    attempts: list[dict[str, Any]] = []
    responses: list[dict[str, Any]] = []
    works: list[dict[str, Any]] = []
    due_now = due_later = 0
    for case in cases:
        if rng.random() > 0.45:  # untouched fresh sample
            continue
        final = str(rng.choice(codes, p=probs))
        n_calls = 1 if final.startswith("4") else int(rng.integers(1, 4))
        start = now - timedelta(hours=float(rng.uniform(2, 48)))
        interviewer = int(rng.choice(interviewers))
        for k in range(n_calls):
            code = final if k == n_calls - 1 else str(rng.choice(NON_CONTACT))
            began = start + timedelta(hours=3 * k)
            length = float(rng.uniform(420, 720)) if code in ("1.1", "1.2") else 40.0
            if code == "1.1" and rng.random() < 0.05:
                length = float(rng.uniform(90, 150))  # a suspiciously short interview
            attempts.append(
                {
                    "case_id": case.id,
                    "wave_id": wave.id,
                    "street_code": case.street_code,
                    "interviewer_id": interviewer,
                    "attempt_number": k + 1,
                    "started_at": began,
                    "ended_at": began + timedelta(seconds=length),
                    "duration_seconds": length,
                    "disposition": code,
                    "callback_at": None,
                    "notes": "",
                }
            )
        ended = attempts[-1]["ended_at"]
        disposition = dispositions.get(final)
        case.attempts = n_calls
        case.last_disposition = final
        case.status = disposition.status
        case.next_call_at = None
        if disposition.effect != "final":
            if final == "2.21" or rng.random() < 0.25:
                later = due_later <= due_now
                case.status = "callback"
                case.next_call_at = (
                    now + timedelta(hours=float(rng.uniform(1, 30)))
                    if later
                    else now - timedelta(minutes=float(rng.uniform(5, 90)))
                )
                attempts[-1]["callback_at"] = case.next_call_at
                due_later += int(later)
                due_now += int(not later)
            else:
                case.next_call_at = ended + timedelta(hours=float(rng.uniform(2, 20)))
        if final in ("1.1", "1.2"):
            answers = _answers(form, rng, street_mood[case.street_code])
            if final == "1.1":
                scores = form.score(answers)
                responses.append(
                    {
                        "wave_id": wave.id,
                        "street_code": case.street_code,
                        "mode": "phone",
                        "case_id": case.id,
                        "interviewer_id": interviewer,
                        "answers": answers,
                        "complete": True,
                        "sex": answers.get("sex"),
                        "age_group": answers.get("age_group"),
                        "frame_type": "mobile",
                        "score": scores.score,
                        "satisfied": scores.satisfied,
                        "started_at": ended - timedelta(seconds=attempts[-1]["duration_seconds"]),
                        "completed_at": ended,
                        "duration_seconds": attempts[-1]["duration_seconds"],
                    }
                )
                case.sex = answers.get("sex")
                case.age_group = answers.get("age_group")
            else:
                half = dict(list(answers.items())[: max(2, len(answers) // 2)])
                works.append(
                    {
                        "case_id": case.id,
                        "answers": half,
                        "attempt_started_at": None,
                        "interview_started_at": None,
                        "interview_seconds": attempts[-1]["duration_seconds"],
                        "updated_at": ended,
                    }
                )
        session.add(case)
    session.flush()
    if attempts:
        session.execute(insert(CallAttempt), attempts)
    if responses:
        session.execute(insert(Response), responses)
    if works:
        session.execute(insert(CaseWork), works)
    session.flush()
    ctx.echo(
        f"  fieldwork: wave {wave.name} in the field, {len(cases)} cases in {len(streets)} "
        f"streets, {len(attempts)} calls, {len(responses)} completes, {len(works)} partial, "
        f"{due_now} callbacks due now, {due_later} later; {len(interviewers)} interviewers"
    )
