"""Telephone fieldwork: handing out cases, recording call outcomes, interviews and quotas.

Handing out a case (:func:`claim_next`) is safe under concurrency:

* PostgreSQL: ``SELECT ... FOR UPDATE SKIP LOCKED LIMIT 1`` picks a row no other transaction
  is claiming, and the conditional ``UPDATE`` in the same transaction takes it;
* SQLite: the engine starts every transaction with ``BEGIN IMMEDIATE`` (one writer at a time);
  the conditional ``UPDATE ... WHERE claimed_by IS NULL OR claimed_until < now`` is checked by
  its row count, and a lost race retries with the next case.

Either way a case is held by one interviewer at a time; a claim lapses after
``claim_minutes`` and the case can then be claimed again, so no case is lost.

Calling rules (per wave, in ``Wave.settings["fieldwork"]``, defaults in :class:`FieldworkConfig`):
fresh sample and retries are only called within local calling hours (09:00–21:00 in
``Settings.timezone``); appointments are called when due; a no-answer is retried at least
``retry_hours`` later and in another time band of the day; after ``max_attempts`` attempts the
case is exhausted; a hard refusal is never called again.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, exists, false, or_, true, update
from sqlmodel import Session, col, func, select

from participation.accounts.models import User
from participation.core.crypto import Vault, mask_phone
from participation.core.errors import ConflictError, ForbiddenError, NotFoundError, ServiceError
from participation.core.i18n import N_
from participation.core.timeutil import utcnow
from participation.fieldwork import dispositions
from participation.fieldwork.aapor import DispositionCounts, aapor_rates, estimate_e
from participation.fieldwork.models import CallAttempt, CaseWork
from participation.surveys.models import (
    DoNotCall,
    Questionnaire,
    Response,
    SampleCase,
    Wave,
    WaveStatus,
)
from participation.surveys.questionnaire import QuestionnaireForm
from participation.surveys.service import form_of

CALLABLE_STATUSES = ("new", "callback", "partial", "in_progress")
TIME_BANDS = ((time(0, 0), "morning"), (time(12, 0), "afternoon"), (time(17, 0), "evening"))


# ---------------------------------------------------------------- configuration


@dataclass(frozen=True)
class FieldworkConfig:
    """Calling rules of a wave (``Wave.settings["fieldwork"]`` overrides the defaults)."""

    call_start: time = time(9, 0)
    call_end: time = time(21, 0)
    max_attempts: int = 5
    claim_minutes: int = 20
    retry_hours: float = 2.0
    cell_quotas: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, wave: Wave) -> FieldworkConfig:
        """The configuration of ``wave``."""
        raw: Mapping[str, Any] = (wave.settings or {}).get("fieldwork") or {}
        base = cls()

        def clock(name: str, default: time) -> time:
            value = raw.get(name)
            if not value:
                return default
            try:
                return time.fromisoformat(str(value))
            except ValueError as exc:
                raise ServiceError(
                    N_("%(name)s must be a time of day such as 09:00."), field=name, name=name
                ) from exc

        return cls(
            call_start=clock("call_start", base.call_start),
            call_end=clock("call_end", base.call_end),
            max_attempts=int(raw.get("max_attempts", base.max_attempts)),
            claim_minutes=int(raw.get("claim_minutes", base.claim_minutes)),
            retry_hours=float(raw.get("retry_hours", base.retry_hours)),
            cell_quotas={str(k): int(v) for k, v in (raw.get("cell_quotas") or {}).items()},
        )


def within_calling_hours(moment: datetime, config: FieldworkConfig, tz: str) -> bool:
    """True when ``moment`` falls within the wave's local calling hours (equal start and end
    times mean round the clock; an end before the start spans midnight)."""
    local = moment.astimezone(ZoneInfo(tz)).time()
    start, end = config.call_start, config.call_end
    if start == end:
        return True
    if start < end:
        return start <= local < end
    return local >= start or local < end


def time_band(moment: datetime, tz: str) -> str:
    """The local time band of ``moment``: morning, afternoon or evening."""
    local = moment.astimezone(ZoneInfo(tz)).time()
    band = TIME_BANDS[0][1]
    for start, name in TIME_BANDS:
        if local >= start:
            band = name
    return band


def next_retry_time(tried_at: datetime, config: FieldworkConfig, tz: str) -> datetime:
    """When to try a number again after a non-contact at ``tried_at``: at least
    ``retry_hours`` later, within calling hours, and in another time band of the day."""
    band = time_band(tried_at, tz)
    candidate = tried_at + timedelta(hours=config.retry_hours)
    step = timedelta(minutes=15)
    for _ in range(4 * 24 * 3):
        if within_calling_hours(candidate, config, tz) and time_band(candidate, tz) != band:
            return candidate
        candidate += step
    # calling hours within a single band: the next day at the same hour is the best we can do
    return tried_at + timedelta(days=1)


# ---------------------------------------------------------------- quotas and targets


def street_targets(wave: Wave) -> dict[str, int]:
    """Completes wanted per street: the wave's allocation, else its target per street."""
    allocated = (wave.allocation or {}).get("n") or {}
    return {str(k): int(v) for k, v in allocated.items()}


def target_of(wave: Wave, street_code: str) -> int:
    """The target number of completes of one street."""
    return street_targets(wave).get(street_code, wave.target_per_street)


def completes_by_street(session: Session, wave_id: int) -> dict[str, int]:
    """Phone completes per street of a wave."""
    rows = session.exec(
        select(Response.street_code, func.count())
        .where(Response.wave_id == wave_id, Response.mode == "phone", col(Response.complete))
        .group_by(Response.street_code)
    ).all()
    return {code: int(n) for code, n in rows}


def full_streets(session: Session, wave: Wave) -> set[str]:
    """Streets of a wave whose target of phone completes is reached."""
    assert wave.id is not None
    done = completes_by_street(session, wave.id)
    return {code for code, n in done.items() if n >= target_of(wave, code) > 0}


def cell_full(
    session: Session, wave: Wave, street_code: str, sex: str | None, age_group: str | None
) -> bool:
    """True when the sex × age quota cell of the street is full (when the wave sets quotas)."""
    config = FieldworkConfig.of(wave)
    if not config.cell_quotas or not sex or not age_group:
        return False
    quota = config.cell_quotas.get(f"{sex}|{age_group}")
    if quota is None:
        return False
    done = session.exec(
        select(func.count())
        .select_from(Response)
        .where(
            Response.wave_id == wave.id,
            Response.street_code == street_code,
            Response.mode == "phone",
            col(Response.complete),
            Response.sex == sex,
            Response.age_group == age_group,
        )
    ).one()
    return int(done) >= quota


# ---------------------------------------------------------------- handing out cases


def fielding_waves(session: Session) -> list[Wave]:
    """Waves in the field with a phone mode and a questionnaire."""
    waves = session.exec(
        select(Wave).where(
            Wave.status == WaveStatus.FIELDING.value, col(Wave.questionnaire_id).is_not(None)
        )
    ).all()
    return [w for w in waves if "phone" in (w.modes or [])]


def held_case(
    session: Session, interviewer_id: int, now: datetime | None = None
) -> SampleCase | None:
    """The case ``interviewer_id`` holds now (an unexpired claim), if any."""
    now = now or utcnow()
    return session.exec(
        select(SampleCase)
        .where(SampleCase.claimed_by == interviewer_id, col(SampleCase.claimed_until) >= now)
        .order_by(col(SampleCase.id))
    ).first()


def _candidates(session: Session, waves: Iterable[Wave], now: datetime, tz: str) -> Any:
    per_wave = []
    for wave in waves:
        config = FieldworkConfig.of(wave)
        in_hours = within_calling_hours(now, config, tz)
        full = full_streets(session, wave)
        cond = and_(
            SampleCase.wave_id == wave.id,
            true() if in_hours else SampleCase.status == "callback",
            col(SampleCase.street_code).not_in(full) if full else true(),
            SampleCase.attempts < config.max_attempts,
        )
        per_wave.append(cond)
    if not per_wave:
        return None
    dnc = exists().where(DoNotCall.phone_hash == SampleCase.phone_hash)
    priority = case(
        (SampleCase.status == "callback", 0),
        (SampleCase.status == "partial", 1),
        (col(SampleCase.next_call_at).is_not(None), 2),
        else_=3,
    )
    return (
        select(SampleCase.id)
        .where(
            col(SampleCase.released),
            col(SampleCase.status).in_(CALLABLE_STATUSES),
            or_(col(SampleCase.next_call_at).is_(None), col(SampleCase.next_call_at) <= now),
            or_(col(SampleCase.claimed_by).is_(None), col(SampleCase.claimed_until) < now),
            ~dnc,
            or_(false(), *per_wave),
        )
        .order_by(
            priority, col(SampleCase.next_call_at), col(SampleCase.replicate), col(SampleCase.id)
        )
        .limit(1)
    )


def claim_next(
    session: Session,
    interviewer_id: int,
    tz: str,
    *,
    now: datetime | None = None,
    wave_id: int | None = None,
    retries: int = 20,
) -> SampleCase | None:
    """Hand ``interviewer_id`` the best case to call now, or None when nothing is due.

    The interviewer's current (unexpired) case comes back first. Then: appointments that are
    due, partial interviews to resume, retries that are due, fresh sample — all within calling
    hours except appointments. The caller commits.

    On PostgreSQL the interviewer's account row is locked first, so two requests of one
    interviewer (a double click, two tabs, two app processes) are served one after the other
    and the second gets the case the first claimed instead of holding a second one.
    """
    now = now or utcnow()
    if session.get_bind().dialect.name == "postgresql":
        session.exec(select(User.id).where(User.id == interviewer_id).with_for_update()).first()
    current = held_case(session, interviewer_id, now)
    if current is not None:
        return current
    waves = [w for w in fielding_waves(session) if wave_id is None or w.id == wave_id]
    query = _candidates(session, waves, now, tz)
    if query is None:
        return None
    minutes = {w.id: FieldworkConfig.of(w).claim_minutes for w in waves}
    is_pg = session.get_bind().dialect.name == "postgresql"
    for _ in range(retries):
        picked = query.with_for_update(skip_locked=True) if is_pg else query
        case_id = session.exec(picked).first()
        if case_id is None:
            return None
        wave_of = session.exec(select(SampleCase.wave_id).where(SampleCase.id == case_id)).one()
        result = session.execute(
            update(SampleCase)
            .where(
                col(SampleCase.id) == case_id,
                or_(col(SampleCase.claimed_by).is_(None), col(SampleCase.claimed_until) < now),
            )
            .values(
                claimed_by=interviewer_id,
                claimed_until=now + timedelta(minutes=minutes.get(wave_of, 20)),
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            claimed = session.get(SampleCase, case_id, populate_existing=True)
            assert claimed is not None
            _start_attempt(session, claimed, now)
            return claimed
    return None


def claim_case(
    session: Session, case_id: int, interviewer_id: int, *, now: datetime | None = None
) -> SampleCase:
    """Take one given case (an appointment the interviewer made), if nobody holds it."""
    now = now or utcnow()
    case_row = get_case(session, case_id)
    wave = session.get(Wave, case_row.wave_id)
    assert wave is not None
    if case_row.status not in CALLABLE_STATUSES:
        raise ConflictError(N_("Case %(id)s is closed."), field="case_id", id=case_id)
    result = session.execute(
        update(SampleCase)
        .where(
            col(SampleCase.id) == case_id,
            or_(
                col(SampleCase.claimed_by).is_(None),
                col(SampleCase.claimed_until) < now,
                SampleCase.claimed_by == interviewer_id,
            ),
        )
        .values(
            claimed_by=interviewer_id,
            claimed_until=now + timedelta(minutes=FieldworkConfig.of(wave).claim_minutes),
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise ConflictError(
            N_("Case %(id)s is held by another interviewer."), field="case_id", id=case_id
        )
    claimed = session.get(SampleCase, case_id, populate_existing=True)
    assert claimed is not None
    _start_attempt(session, claimed, now)
    return claimed


def _work(session: Session, case_id: int) -> CaseWork:
    work = session.get(CaseWork, case_id)
    if work is None:
        work = CaseWork(case_id=case_id)
        session.add(work)
    return work


def _start_attempt(session: Session, case_row: SampleCase, now: datetime) -> None:
    assert case_row.id is not None
    work = _work(session, case_row.id)
    if work.attempt_started_at is None:
        work.attempt_started_at = now
        work.updated_at = now
        session.add(work)
    session.flush()


def get_case(session: Session, case_id: int) -> SampleCase:
    """A sample case, or 404."""
    found = session.get(SampleCase, case_id)
    if found is None:
        raise NotFoundError(N_("Case %(id)s does not exist."), field="case_id", id=case_id)
    return found


def case_for_interviewer(
    session: Session, case_id: int, interviewer_id: int, *, now: datetime | None = None
) -> SampleCase:
    """A case the interviewer holds now; 403 when another interviewer holds it or nobody does."""
    now = now or utcnow()
    found = get_case(session, case_id)
    if found.claimed_by != interviewer_id or (
        found.claimed_until is not None and found.claimed_until < now
    ):
        raise ForbiddenError(N_("Case %(id)s is not assigned to you."), field="case_id", id=case_id)
    return found


def release(session: Session, case_row: SampleCase) -> None:
    """Give a case back to the pool."""
    case_row.claimed_by = None
    case_row.claimed_until = None
    session.add(case_row)


def extend_claim(session: Session, case_row: SampleCase, now: datetime | None = None) -> None:
    """Keep holding a case while the interview goes on."""
    now = now or utcnow()
    wave = session.get(Wave, case_row.wave_id)
    assert wave is not None
    case_row.claimed_until = now + timedelta(minutes=FieldworkConfig.of(wave).claim_minutes)
    session.add(case_row)


def phone_number(case_row: SampleCase, vault: Vault) -> str:
    """The plain number of a case (callers record the read in the audit log)."""
    if not case_row.phone_enc:
        return ""
    return vault.decrypt(case_row.phone_enc)


def masked_number(case_row: SampleCase, vault: Vault) -> str:
    """The masked number of a case."""
    plain = phone_number(case_row, vault)
    return mask_phone(plain) if plain else ""


def attempts_of(session: Session, case_id: int) -> list[CallAttempt]:
    """The call attempts of a case, oldest first."""
    return list(
        session.exec(
            select(CallAttempt).where(CallAttempt.case_id == case_id).order_by(col(CallAttempt.id))
        )
    )


def answers_of(session: Session, case_id: int) -> dict[str, Any]:
    """Answers saved on a case so far (partial interviews resume from them)."""
    work = session.get(CaseWork, case_id)
    return dict(work.answers) if work else {}


# ---------------------------------------------------------------- outcomes


def record_outcome(
    session: Session,
    case_row: SampleCase,
    interviewer_id: int | None,
    code: str,
    tz: str,
    *,
    notes: str = "",
    callback_at: datetime | None = None,
    do_not_call: bool = False,
    now: datetime | None = None,
) -> CallAttempt:
    """Record the end of a call with disposition ``code`` and schedule what comes next.

    ``callback_at`` (an appointment) must lie in the future; the case is then called at that
    time. Non-contacts are retried by :func:`next_retry_time`; a case reaching the wave's
    maximum number of attempts without an appointment is exhausted; final codes close it.
    The claim is released. The caller commits.
    """
    now = now or utcnow()
    try:
        disposition = dispositions.get(code)
    except KeyError as exc:
        raise ServiceError(
            N_("%(code)s is not a disposition code."), field="disposition", code=code
        ) from exc
    if case_row.status in ("complete", "refused", "ineligible", "screened_out", "exhausted"):
        raise ConflictError(N_("Case %(id)s is closed."), field="case_id", id=case_row.id)
    if callback_at is not None and callback_at <= now:
        raise ServiceError(N_("The callback time must be in the future."), field="callback_at")
    wave = session.get(Wave, case_row.wave_id)
    assert wave is not None and case_row.id is not None
    config = FieldworkConfig.of(wave)
    work = _work(session, case_row.id)
    started = work.attempt_started_at or now
    if work.interview_started_at is not None:
        work.interview_seconds += max(0.0, (now - work.interview_started_at).total_seconds())
        work.interview_started_at = None
    work.attempt_started_at = None
    work.updated_at = now
    session.add(work)
    case_row.attempts += 1
    attempt = CallAttempt(
        case_id=case_row.id,
        wave_id=case_row.wave_id,
        street_code=case_row.street_code,
        interviewer_id=interviewer_id,
        attempt_number=case_row.attempts,
        started_at=started,
        ended_at=now,
        duration_seconds=max(0.0, (now - started).total_seconds()),
        disposition=disposition.code,
        callback_at=callback_at if disposition.effect != "final" else None,
        notes=notes[:1000],
    )
    session.add(attempt)
    case_row.last_disposition = disposition.code
    if disposition.effect == "final":
        case_row.status = disposition.status
        case_row.next_call_at = None
    elif case_row.attempts >= config.max_attempts:
        case_row.status = "exhausted"
        case_row.next_call_at = None
    elif callback_at is not None:
        case_row.status = "callback"
        case_row.next_call_at = callback_at
    else:
        case_row.status = disposition.status
        case_row.next_call_at = next_retry_time(now, config, tz)
    if do_not_call and case_row.phone_hash and session.get(DoNotCall, case_row.phone_hash) is None:
        session.add(DoNotCall(phone_hash=case_row.phone_hash, reason="asked not to be called"))
    release(session, case_row)
    session.flush()
    return attempt


@dataclass
class InterviewResult:
    """What happened to the answers sent by the console."""

    answers: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)
    visible: list[str] = field(default_factory=list)
    completed: bool = False
    screened_out: bool = False
    quota_full: bool = False
    response_id: int | None = None


def form_for_case(session: Session, case_row: SampleCase) -> QuestionnaireForm:
    """The questionnaire form of a case's wave."""
    wave = session.get(Wave, case_row.wave_id)
    if wave is None or wave.questionnaire_id is None:
        raise ServiceError(N_("The wave of this case has no questionnaire."), field="wave_id")
    questionnaire = session.get(Questionnaire, wave.questionnaire_id)
    assert questionnaire is not None
    return form_of(questionnaire)


def save_answers(
    session: Session,
    case_row: SampleCase,
    interviewer_id: int,
    answers: Mapping[str, Any],
    tz: str,
    locale: str = "zh_CN",
    *,
    complete: bool = False,
    now: datetime | None = None,
) -> InterviewResult:
    """Keep the answers on the case; on ``complete`` validate them and write the response.

    A screening answer "not a resident" closes the case as 4.7; a full sex × age quota cell
    closes it as 4.8 (the console tells the interviewer to thank the respondent). The caller
    commits.
    """
    now = now or utcnow()
    form = form_for_case(session, case_row)
    wave = session.get(Wave, case_row.wave_id)
    assert wave is not None and case_row.id is not None
    merged = {**answers_of(session, case_row.id), **dict(answers)}
    cleaned = form.clean(merged)
    result = InterviewResult(answers=cleaned, visible=[i.name for i in form.visible_items(cleaned)])
    work = _work(session, case_row.id)
    work.answers = cleaned
    if work.interview_started_at is None:
        # the interview is timed from the start of the call it is taken in
        work.interview_started_at = min(work.attempt_started_at or now, now)
    work.updated_at = now
    session.add(work)
    extend_claim(session, case_row, now)
    if form.is_screened_out(cleaned):
        result.screened_out = True
        record_outcome(
            session, case_row, interviewer_id, dispositions.NOT_ELIGIBLE_RESIDENT, tz, now=now
        )
        return result
    sex = cleaned.get("sex")
    age = cleaned.get("age_group")
    if (
        isinstance(sex, str)
        and isinstance(age, str)
        and cell_full(session, wave, case_row.street_code, sex, age)
    ):
        result.quota_full = True
        record_outcome(session, case_row, interviewer_id, dispositions.QUOTA_FILLED, tz, now=now)
        return result
    result.errors = form.validate(cleaned, locale, partial=not complete)
    if not complete or result.errors:
        session.flush()
        return result
    scores = form.score(cleaned)
    seconds = work.interview_seconds + max(0.0, (now - work.interview_started_at).total_seconds())
    response = Response(
        wave_id=case_row.wave_id,
        street_code=case_row.street_code,
        mode="phone",
        case_id=case_row.id,
        interviewer_id=interviewer_id,
        answers=cleaned,
        complete=True,
        sex=sex if isinstance(sex, str) else case_row.sex,
        age_group=age if isinstance(age, str) else case_row.age_group,
        frame_type=case_row.frame_type,
        score=scores.score,
        satisfied=scores.satisfied,
        started_at=now - timedelta(seconds=seconds),
        completed_at=now,
        duration_seconds=seconds,
    )
    session.add(response)
    record_outcome(session, case_row, interviewer_id, dispositions.COMPLETE, tz, now=now)
    if isinstance(sex, str):
        case_row.sex = sex
    if isinstance(age, str):
        case_row.age_group = age
    session.add(case_row)
    session.flush()
    result.completed = True
    result.response_id = response.id
    return result


# ---------------------------------------------------------------- supervision


@dataclass
class CaseOutcome:
    """A released case's final category and the interviewer of its last attempt."""

    case_id: int
    street_code: str
    category: str
    interviewer_id: int | None


def case_outcomes(session: Session, wave_id: int) -> list[CaseOutcome]:
    """Every released case of a wave with its current final category (never-attempted cases
    count as 3.11, unknown if household)."""
    cases = session.exec(
        select(SampleCase.id, SampleCase.street_code, SampleCase.last_disposition).where(
            SampleCase.wave_id == wave_id, col(SampleCase.released)
        )
    ).all()
    last_sub = (
        select(func.max(CallAttempt.id).label("last_id"))
        .where(CallAttempt.wave_id == wave_id)
        .group_by(CallAttempt.case_id)
        .subquery()
    )
    last_by_case = dict(
        session.exec(
            select(CallAttempt.case_id, CallAttempt.interviewer_id).where(
                col(CallAttempt.id).in_(select(last_sub.c.last_id))
            )
        ).all()
    )
    out: list[CaseOutcome] = []
    for case_id, street, code in cases:
        category = dispositions.category_of(code or dispositions.NOT_ATTEMPTED)
        out.append(
            CaseOutcome(
                case_id=int(case_id),
                street_code=street,
                category=(category or dispositions.Category.UO).value,
                interviewer_id=last_by_case.get(case_id),
            )
        )
    return out


@dataclass
class RateRow:
    """Counts and AAPOR rates of one group (wave, street or interviewer)."""

    key: str
    label: str
    counts: DispositionCounts
    rates: dict[str, float | None]


@dataclass
class WaveRates:
    """A wave's AAPOR rates overall, per street and per interviewer, at the estimated ``e``."""

    e: float
    overall: RateRow
    streets: list[RateRow]
    interviewers: list[RateRow]


def wave_rates(session: Session, wave_id: int) -> WaveRates:
    """AAPOR rates of a wave; ``e`` is estimated once from the whole wave's sample
    (proportional allocation) and applied to every breakdown."""
    outcomes = case_outcomes(session, wave_id)
    overall = DispositionCounts.from_categories(o.category for o in outcomes)
    e = estimate_e(overall)
    by_street: dict[str, list[str]] = defaultdict(list)
    by_interviewer: dict[int, list[str]] = defaultdict(list)
    for o in outcomes:
        by_street[o.street_code].append(o.category)
        if o.interviewer_id is not None:
            by_interviewer[o.interviewer_id].append(o.category)
    names = street_names(session, by_street)
    users = user_names(session, by_interviewer)

    def row(key: str, label: str, cats: list[str]) -> RateRow:
        counts = DispositionCounts.from_categories(cats)
        return RateRow(key, label, counts, aapor_rates(counts, e))

    return WaveRates(
        e=e,
        overall=row("wave", "", [o.category for o in outcomes]),
        streets=[row(code, names.get(code, code), by_street[code]) for code in sorted(by_street)],
        interviewers=[
            row(str(uid), users.get(uid, str(uid)), by_interviewer[uid])
            for uid in sorted(by_interviewer)
        ],
    )


def street_names(session: Session, codes: Iterable[str]) -> dict[str, str]:
    """Names of street codes."""
    from participation.geography.models import Unit

    codes = list(codes)
    if not codes:
        return {}
    return dict(session.exec(select(Unit.code, Unit.name).where(col(Unit.code).in_(codes))).all())


def user_names(session: Session, ids: Iterable[int]) -> dict[int, str]:
    """Display names of user ids."""
    ids = list(ids)
    if not ids:
        return {}
    rows = session.exec(select(User.id, User.display_name).where(col(User.id).in_(ids))).all()
    return {int(uid): name for uid, name in rows}


@dataclass
class StreetProgress:
    """Fieldwork progress of one street."""

    street_code: str
    name: str
    target: int
    completes: int
    partials: int
    cases: int
    open_cases: int
    held: int
    attempts: int

    @property
    def share(self) -> float:
        """Completes as a share of the target."""
        return self.completes / self.target if self.target else 0.0


def street_progress(
    session: Session, wave_id: int, now: datetime | None = None
) -> list[StreetProgress]:
    """Completes versus target, open and held cases, and attempts, per street."""
    now = now or utcnow()
    wave = session.get(Wave, wave_id)
    if wave is None:
        raise NotFoundError(N_("Wave %(id)s does not exist."), field="wave_id", id=wave_id)
    rows = session.exec(
        select(
            SampleCase.street_code, SampleCase.status, SampleCase.claimed_until, SampleCase.attempts
        ).where(SampleCase.wave_id == wave_id, col(SampleCase.released))
    ).all()
    stats: dict[str, Counter[str]] = defaultdict(Counter)
    for street, status, until, attempts in rows:
        c = stats[street]
        c["cases"] += 1
        c["attempts"] += int(attempts)
        if status in CALLABLE_STATUSES:
            c["open"] += 1
        if status == "partial":
            c["partials"] += 1
        if until is not None and until >= now:
            c["held"] += 1
    done = completes_by_street(session, wave_id)
    targets = street_targets(wave)
    codes = sorted(set(stats) | set(done) | set(targets))
    names = street_names(session, codes)
    return [
        StreetProgress(
            street_code=code,
            name=names.get(code, code),
            target=targets.get(code, wave.target_per_street),
            completes=done.get(code, 0),
            partials=stats[code]["partials"],
            cases=stats[code]["cases"],
            open_cases=stats[code]["open"],
            held=stats[code]["held"],
            attempts=stats[code]["attempts"],
        )
        for code in codes
    ]


@dataclass
class InterviewerStats:
    """Productivity of one interviewer in a wave."""

    interviewer_id: int
    name: str
    attempts: int
    completes: int
    hours: float
    completes_per_hour: float | None
    mean_interview_minutes: float | None


def productivity(session: Session, wave_id: int) -> list[InterviewerStats]:
    """Attempts, completes, hours on calls (sum of attempt durations), completes per hour and
    average interview length per interviewer."""
    attempt_rows = session.exec(
        select(CallAttempt.interviewer_id, func.count(), func.sum(CallAttempt.duration_seconds))
        .where(CallAttempt.wave_id == wave_id, col(CallAttempt.interviewer_id).is_not(None))
        .group_by(CallAttempt.interviewer_id)
    ).all()
    response_rows = session.exec(
        select(Response.interviewer_id, func.count(), func.avg(Response.duration_seconds))
        .where(
            Response.wave_id == wave_id,
            Response.mode == "phone",
            col(Response.complete),
            col(Response.interviewer_id).is_not(None),
        )
        .group_by(Response.interviewer_id)
    ).all()
    attempts = {int(uid): (int(n), float(sec or 0.0)) for uid, n, sec in attempt_rows}
    completes = {int(uid): (int(n), avg) for uid, n, avg in response_rows}
    ids = sorted(set(attempts) | set(completes))
    names = user_names(session, ids)
    out: list[InterviewerStats] = []
    for uid in ids:
        n_attempts, seconds = attempts.get(uid, (0, 0.0))
        n_done, avg = completes.get(uid, (0, None))
        hours = seconds / 3600.0
        out.append(
            InterviewerStats(
                interviewer_id=uid,
                name=names.get(uid, str(uid)),
                attempts=n_attempts,
                completes=n_done,
                hours=hours,
                completes_per_hour=n_done / hours if hours > 0 else None,
                mean_interview_minutes=float(avg) / 60.0 if avg is not None else None,
            )
        )
    return out


@dataclass
class QualityFlag:
    """A possible quality problem for the supervisor to check."""

    kind: str  # short, straightline, interviewer
    response_id: int | None
    interviewer_id: int | None
    detail: str
    value: float | None = None


def scale_items(form: QuestionnaireForm) -> list[str]:
    """Names of the scored rating items (those on a named scale)."""
    return [i.name for i in form.items if i.scored and i.scale]


def is_straightlined(answers: Mapping[str, Any], items: list[str], minimum: int = 5) -> bool:
    """True when at least ``minimum`` scale items were answered, all with the same value."""
    values = [answers[n] for n in items if n in answers and answers[n] not in (None, "")]
    return len(values) >= minimum and len(set(map(str, values))) == 1


def interviewer_z_scores(
    rows: Iterable[tuple[int, str, float]],
) -> dict[int, tuple[float, int]]:
    """For each interviewer: z of their mean score against other interviewers' responses in the
    same streets (Welch two-sample statistic), with their number of responses.

    ``rows``: (interviewer id, street code, score)."""
    data = list(rows)
    out: dict[int, tuple[float, int]] = {}
    for uid in sorted({r[0] for r in data}):
        mine = [s for u, _, s in data if u == uid]
        streets = {st for u, st, _ in data if u == uid}
        others = [s for u, st, s in data if u != uid and st in streets]
        if len(mine) < 2 or len(others) < 2:
            continue
        var = statistics.variance(mine) / len(mine) + statistics.variance(others) / len(others)
        if var <= 0:
            continue
        z = (statistics.fmean(mine) - statistics.fmean(others)) / math.sqrt(var)
        out[uid] = (z, len(mine))
    return out


def quality_flags(
    session: Session, wave_id: int, *, short_ratio: float = 0.5, z_limit: float = 3.0
) -> list[QualityFlag]:
    """Short interviews (< ``short_ratio`` × median length), straight-lining, and interviewers
    whose mean score differs from others' in the same streets with |z| > ``z_limit``."""
    wave = session.get(Wave, wave_id)
    if wave is None:
        raise NotFoundError(N_("Wave %(id)s does not exist."), field="wave_id", id=wave_id)
    responses = session.exec(
        select(Response).where(
            Response.wave_id == wave_id, Response.mode == "phone", col(Response.complete)
        )
    ).all()
    flags: list[QualityFlag] = []
    durations = [r.duration_seconds for r in responses if r.duration_seconds]
    if durations:
        median = statistics.median(durations)
        for r in responses:
            if r.duration_seconds is not None and r.duration_seconds < short_ratio * median:
                flags.append(
                    QualityFlag("short", r.id, r.interviewer_id, "", r.duration_seconds / median)
                )
    items: list[str] = []
    if wave.questionnaire_id is not None:
        questionnaire = session.get(Questionnaire, wave.questionnaire_id)
        if questionnaire is not None:
            items = scale_items(form_of(questionnaire))
    if items:
        for r in responses:
            if is_straightlined(r.answers or {}, items):
                flags.append(QualityFlag("straightline", r.id, r.interviewer_id, ""))
    scored = [
        (r.interviewer_id, r.street_code, float(r.score))
        for r in responses
        if r.interviewer_id is not None and r.score is not None
    ]
    for uid, (z, n) in interviewer_z_scores(scored).items():
        if abs(z) > z_limit:
            flags.append(QualityFlag("interviewer", None, uid, str(n), z))
    return flags


def today_counts(
    session: Session, interviewer_id: int, tz: str, now: datetime | None = None
) -> dict[str, int]:
    """An interviewer's attempts and completes since local midnight."""
    now = now or utcnow()
    local = now.astimezone(ZoneInfo(tz))
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    rows = session.exec(
        select(CallAttempt.disposition, func.count())
        .where(CallAttempt.interviewer_id == interviewer_id, col(CallAttempt.ended_at) >= midnight)
        .group_by(CallAttempt.disposition)
    ).all()
    attempts = sum(int(n) for _, n in rows)
    completes = sum(int(n) for code, n in rows if code == dispositions.COMPLETE)
    return {"attempts": attempts, "completes": completes}
