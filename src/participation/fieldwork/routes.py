"""Telephone fieldwork: the CATI interviewer console (``/cati``), the supervisor views
(``/fieldwork``) and their JSON API (``/api/cati/...``, ``/api/fieldwork/...``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery, JSONBody
from litestar.response import Redirect, Template
from sqlmodel import Session, col, func, select

from participation.accounts.roles import Role
from participation.core import audit
from participation.core.crypto import Vault
from participation.core.deps import DB, AppSettings, Client, Locale
from participation.core.errors import ForbiddenError, NotFoundError, ServiceError
from participation.core.i18n import N_, gettext
from participation.core.timeutil import to_local, utcnow
from participation.core.web import CurrentUser, UserDep, admits, render
from participation.fieldwork import dispositions, service
from participation.fieldwork.dialer import get_dialer
from participation.fieldwork.models import CallAttempt
from participation.fieldwork.schemas import (
    AnswersIn,
    AttemptOut,
    AttemptResult,
    CaseOut,
    DispositionOut,
    InterviewOut,
    NextCaseOut,
    OutcomeIn,
    ProductivityOut,
    QualityFlagOut,
    RateRowOut,
    RatesOut,
    StreetProgressOut,
    WaveOut,
)
from participation.settings import Settings
from participation.surveys.models import Response, SampleCase, Wave
from participation.surveys.questionnaire import QuestionnaireForm

FORM = RequestEncodingType.URL_ENCODED
CONSOLE = (Role.INTERVIEWER,)
SUPERVISORS = (Role.SUPERVISOR, Role.ADMINISTRATOR)
CASE_READERS = (Role.INTERVIEWER, Role.SUPERVISOR, Role.ADMINISTRATOR)
RATE_GROUPS = (
    ("RR1", "RR2", "RR3", "RR4", "RR5", "RR6"),
    ("COOP1", "COOP2", "COOP3", "COOP4"),
    ("REF1", "REF2", "REF3"),
    ("CON1", "CON2", "CON3"),
)
CATEGORIES = ("I", "P", "R", "NC", "O", "UH", "UO", "NE")


# ---------------------------------------------------------------- helpers


def _attempt_out(a: CallAttempt) -> AttemptOut:
    return AttemptOut(
        attempt_number=a.attempt_number,
        interviewer_id=a.interviewer_id,
        started_at=a.started_at,
        ended_at=a.ended_at,
        duration_seconds=a.duration_seconds,
        disposition=a.disposition,
        callback_at=a.callback_at,
        notes=a.notes,
    )


def _read_case(
    db: Session, user: CurrentUser, case_id: int, settings: Settings, client: str
) -> tuple[SampleCase, CaseOut]:
    """A case for ``user``: interviewers only the case they hold (plain number, audited);
    supervisors and administrators any case, with the number masked."""
    vault = Vault(settings)
    if user.role == Role.INTERVIEWER.value:
        case_row = service.case_for_interviewer(db, case_id, user.id)
    else:
        case_row = service.get_case(db, case_id)
    assert case_row.id is not None
    out = CaseOut(
        id=case_row.id,
        wave_id=case_row.wave_id,
        street_code=case_row.street_code,
        street_name=service.street_names(db, [case_row.street_code]).get(case_row.street_code, ""),
        status=case_row.status,
        attempts=case_row.attempts,
        last_disposition=case_row.last_disposition,
        next_call_at=case_row.next_call_at,
        claimed_by=case_row.claimed_by,
        claimed_until=case_row.claimed_until,
        phone_masked=service.masked_number(case_row, vault),
        answers=service.answers_of(db, case_row.id),
        history=[_attempt_out(a) for a in service.attempts_of(db, case_row.id)],
    )
    if user.role == Role.INTERVIEWER.value:
        dialed = get_dialer(settings).dial(case_row, user)
        out.phone = dialed.display
        out.dial_href = dialed.href
        audit.record(
            db,
            actor=user,
            action="read_phone",
            subject_type="sample_case",
            subject_id=case_row.id,
            reason="CATI call",
            client=client,
        )
    return case_row, out


def _local_input(value: str, tz: str) -> datetime | None:
    """A ``datetime-local`` form value (city time) as an aware datetime."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ServiceError(
            N_("%(value)s is not a date and time."), field="callback_at", value=value
        ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(tz))
    return parsed


def _form_answers(form: QuestionnaireForm, data: dict[str, Any]) -> dict[str, Any]:
    """Answers of every item from posted form data (unanswered items → empty)."""
    out: dict[str, Any] = {}
    for item in form.items:
        if item.type == "note":
            continue
        value = data.get(item.name)
        if item.type == "select_multiple":
            if value is None or value == "":
                out[item.name] = []
            else:
                out[item.name] = [str(v) for v in (value if isinstance(value, list) else [value])]
        else:
            if isinstance(value, list):
                value = value[-1] if value else ""
            out[item.name] = "" if value is None else str(value).strip()
    return out


def _rate_row(row: service.RateRow) -> RateRowOut:
    return RateRowOut(
        key=row.key, label=row.label, counts=row.counts.as_dict(), rates=dict(row.rates)
    )


def _wave(db: Session, wave_id: int) -> Wave:
    wave = db.get(Wave, wave_id)
    if wave is None:
        raise NotFoundError(N_("Wave %(id)s does not exist."), field="wave_id", id=wave_id)
    return wave


def _waves(db: Session) -> list[WaveOut]:
    waves = db.exec(
        select(Wave)
        .where(col(Wave.status).in_(("fielding", "closed")))
        .order_by(col(Wave.period_start).desc(), col(Wave.id).desc())
    ).all()
    waves = [w for w in waves if "phone" in (w.modes or [])]
    ids = [w.id for w in waves]
    cases = dict(
        db.exec(
            select(SampleCase.wave_id, func.count())
            .where(col(SampleCase.wave_id).in_(ids), col(SampleCase.released))
            .group_by(SampleCase.wave_id)
        ).all()
    )
    done = dict(
        db.exec(
            select(Response.wave_id, func.count())
            .where(col(Response.wave_id).in_(ids), Response.mode == "phone", col(Response.complete))
            .group_by(Response.wave_id)
        ).all()
    )
    return [
        WaveOut(
            id=w.id or 0,
            name=w.name,
            status=w.status,
            target_per_street=w.target_per_street,
            cases=int(cases.get(w.id, 0)),
            completes=int(done.get(w.id, 0)),
        )
        for w in waves
    ]


# ---------------------------------------------------------------- JSON API: console


@get(
    "/api/fieldwork/dispositions",
    opt=admits(*CASE_READERS),
    tags=["fieldwork"],
    operation_id="listDispositions",
    sync_to_thread=True,
)
def list_dispositions() -> list[DispositionOut]:
    """The AAPOR disposition codes with their labels and categories."""
    return [
        DispositionOut(
            code=d.code,
            category=d.category.value,
            label_zh=d.label_zh,
            label_en=d.label_en,
            effect=d.effect,
            selectable=d.selectable,
        )
        for d in dispositions.DISPOSITIONS.values()
    ]


@post(
    "/api/cati/next",
    opt=admits(*CONSOLE),
    tags=["fieldwork"],
    operation_id="claimNextCase",
    sync_to_thread=True,
    status_code=200,
)
def api_next_case(
    db: DB, user: UserDep, settings: AppSettings, client: Client, locale: Locale
) -> NextCaseOut:
    """Hand the interviewer the best case to call now (held for 20 minutes by default)."""
    case_row = service.claim_next(db, user.id, settings.timezone)
    if case_row is None:
        db.commit()
        return NextCaseOut(message=gettext(N_("No case to call right now."), locale))
    assert case_row.id is not None
    _, out = _read_case(db, user, case_row.id, settings, client)
    db.commit()
    return NextCaseOut(case=out)


@get(
    "/api/cati/cases/{case_id:int}",
    opt=admits(*CASE_READERS),
    tags=["fieldwork"],
    operation_id="getCase",
    sync_to_thread=True,
)
def api_get_case(
    db: DB, user: UserDep, settings: AppSettings, client: Client, case_id: FromPath[int]
) -> CaseOut:
    """A case: interviewers only the case they hold (403 otherwise), with the plain number
    (audited); supervisors any case, number masked."""
    _, out = _read_case(db, user, case_id, settings, client)
    db.commit()
    return out


@post(
    "/api/cati/cases/{case_id:int}/outcome",
    opt=admits(*CONSOLE),
    tags=["fieldwork"],
    operation_id="recordOutcome",
    sync_to_thread=True,
    status_code=200,
)
def api_record_outcome(
    db: DB, user: UserDep, settings: AppSettings, case_id: FromPath[int], data: JSONBody[OutcomeIn]
) -> AttemptResult:
    """Record the outcome of a call (AAPOR code) with an optional appointment; frees the case."""
    case_row = service.case_for_interviewer(db, case_id, user.id)
    callback = data.callback_at
    if callback is not None and callback.tzinfo is None:
        callback = callback.replace(tzinfo=ZoneInfo(settings.timezone))
    attempt = service.record_outcome(
        db,
        case_row,
        user.id,
        data.disposition,
        settings.timezone,
        notes=data.notes,
        callback_at=callback,
        do_not_call=data.do_not_call,
    )
    db.commit()
    return AttemptResult(
        attempt=_attempt_out(attempt), status=case_row.status, next_call_at=case_row.next_call_at
    )


@post(
    "/api/cati/cases/{case_id:int}/answers",
    opt=admits(*CONSOLE),
    tags=["fieldwork"],
    operation_id="saveAnswers",
    sync_to_thread=True,
    status_code=200,
)
def api_save_answers(
    db: DB,
    user: UserDep,
    settings: AppSettings,
    locale: Locale,
    case_id: FromPath[int],
    data: JSONBody[AnswersIn],
) -> InterviewOut:
    """Save answers on the case held (merged with earlier ones); ``complete`` validates them and
    writes the response. Screened-out respondents close the case as 4.7, full quota cells as 4.8."""
    case_row = service.case_for_interviewer(db, case_id, user.id)
    result = service.save_answers(
        db, case_row, user.id, data.answers, settings.timezone, locale, complete=data.complete
    )
    db.commit()
    return InterviewOut(**result.__dict__)


# ---------------------------------------------------------------- JSON API: supervision


@get(
    "/api/fieldwork/waves",
    opt=admits(*SUPERVISORS),
    tags=["fieldwork"],
    operation_id="listFieldworkWaves",
    sync_to_thread=True,
)
def api_waves(db: DB) -> list[WaveOut]:
    """Telephone waves in (or after) the field, with released cases and completes."""
    return _waves(db)


@get(
    "/api/fieldwork/waves/{wave_id:int}/progress",
    opt=admits(*SUPERVISORS),
    tags=["fieldwork"],
    operation_id="getFieldworkProgress",
    sync_to_thread=True,
)
def api_progress(db: DB, wave_id: FromPath[int]) -> list[StreetProgressOut]:
    """Completes versus target, open and held cases and attempts per street."""
    return [
        StreetProgressOut(**p.__dict__, share=p.share) for p in service.street_progress(db, wave_id)
    ]


@get(
    "/api/fieldwork/waves/{wave_id:int}/rates",
    opt=admits(*SUPERVISORS),
    tags=["fieldwork"],
    operation_id="getAaporRates",
    sync_to_thread=True,
)
def api_rates(db: DB, wave_id: FromPath[int]) -> RatesOut:
    """AAPOR RR1–RR6, COOP1–COOP4, REF1–REF3, CON1–CON3 for the wave, per street and per
    interviewer, with the estimated eligibility share ``e``."""
    _wave(db, wave_id)
    rates = service.wave_rates(db, wave_id)
    return RatesOut(
        wave_id=wave_id,
        e=rates.e,
        overall=_rate_row(rates.overall),
        streets=[_rate_row(r) for r in rates.streets],
        interviewers=[_rate_row(r) for r in rates.interviewers],
    )


@get(
    "/api/fieldwork/waves/{wave_id:int}/productivity",
    opt=admits(*SUPERVISORS),
    tags=["fieldwork"],
    operation_id="getInterviewerProductivity",
    sync_to_thread=True,
)
def api_productivity(db: DB, wave_id: FromPath[int]) -> list[ProductivityOut]:
    """Attempts, completes, hours on calls, completes per hour, mean interview length."""
    _wave(db, wave_id)
    return [ProductivityOut(**p.__dict__) for p in service.productivity(db, wave_id)]


@get(
    "/api/fieldwork/waves/{wave_id:int}/quality",
    opt=admits(*SUPERVISORS),
    tags=["fieldwork"],
    operation_id="getQualityFlags",
    sync_to_thread=True,
)
def api_quality(db: DB, wave_id: FromPath[int]) -> list[QualityFlagOut]:
    """Short interviews, straight-lining and interviewer effects (|z| > 3)."""
    return [QualityFlagOut(**f.__dict__) for f in service.quality_flags(db, wave_id)]


# ---------------------------------------------------------------- console pages


@get("/cati", opt=admits(*CONSOLE), include_in_schema=False, sync_to_thread=True)
def console_home(
    request: Request[Any, Any, Any],
    db: DB,
    user: UserDep,
    settings: AppSettings,
    locale: Locale,
    notice: FromQuery[str | None] = None,
    code: FromQuery[str | None] = None,
) -> Template:
    """The interviewer's console: the case in hand, today's numbers, "next case"."""
    held = service.held_case(db, user.id)
    counts = service.today_counts(db, user.id, settings.timezone)
    label = ""
    if code and code in dispositions.DISPOSITIONS:
        label = dispositions.get(code).label(locale)
    return render(
        request,
        "fieldwork/console.html",
        held=held,
        counts=counts,
        notice=notice or "",
        code=code or "",
        code_label=label,
    )


@post("/cati/next", opt=admits(*CONSOLE), include_in_schema=False, sync_to_thread=True)
def console_next(db: DB, user: UserDep, settings: AppSettings) -> Redirect:
    """Take the next case and open it."""
    case_row = service.claim_next(db, user.id, settings.timezone)
    db.commit()
    if case_row is None:
        return Redirect(path="/cati?notice=none", status_code=303)
    return Redirect(path=f"/cati/case/{case_row.id}", status_code=303)


def _case_page(
    request: Request[Any, Any, Any],
    db: Session,
    user: CurrentUser,
    settings: Settings,
    client: str,
    locale: str,
    case_id: int,
    *,
    answers: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    case_row, out = _read_case(db, user, case_id, settings, client)
    form = service.form_for_case(db, case_row)
    wave = db.get(Wave, case_row.wave_id)
    given = out.answers if answers is None else answers
    cleaned = form.normalise(given)
    visible = {i.name for i in form.visible_items(cleaned)}
    tz = settings.timezone
    history = [
        {
            "n": a.attempt_number,
            "when": to_local(a.ended_at, tz),
            "code": a.disposition,
            "label": dispositions.get(a.disposition).label(locale)
            if a.disposition in dispositions.DISPOSITIONS
            else a.disposition,
            "callback": to_local(a.callback_at, tz) if a.callback_at else None,
            "notes": a.notes,
        }
        for a in out.history
    ]
    db.commit()
    response = render(
        request,
        "fieldwork/case.html",
        case=out,
        wave=wave,
        form=form,
        answers=cleaned,
        errors=errors or {},
        visible=visible,
        loc=locale,
        history=history,
        codes=dispositions.selectable(),
        claimed_until=to_local(case_row.claimed_until, tz) if case_row.claimed_until else None,
        config=service.FieldworkConfig.of(wave) if wave else service.FieldworkConfig(),
    )
    response.status_code = status_code
    return response


@get("/cati/case/{case_id:int}", opt=admits(*CONSOLE), include_in_schema=False, sync_to_thread=True)
def console_case(
    request: Request[Any, Any, Any],
    db: DB,
    user: UserDep,
    settings: AppSettings,
    client: Client,
    locale: Locale,
    case_id: FromPath[int],
) -> Template:
    """One case: the number to call, prior attempts, the script and the outcome form."""
    return _case_page(request, db, user, settings, client, locale, case_id)


@post(
    "/cati/case/{case_id:int}/interview",
    opt=admits(*CONSOLE),
    include_in_schema=False,
    sync_to_thread=True,
    status_code=200,
)
def console_interview(
    request: Request[Any, Any, Any],
    db: DB,
    user: UserDep,
    settings: AppSettings,
    client: Client,
    locale: Locale,
    case_id: FromPath[int],
    data: Annotated[dict[str, Any], Body(media_type=FORM)],
) -> Template | Redirect:
    """Save the answers (``_action=save``) or finish the interview (``_action=complete``)."""
    case_row = service.case_for_interviewer(db, case_id, user.id)
    form = service.form_for_case(db, case_row)
    given = _form_answers(form, data)
    complete = str(data.get("_action", "save")) == "complete"
    result = service.save_answers(
        db, case_row, user.id, given, settings.timezone, locale, complete=complete
    )
    db.commit()
    if result.screened_out:
        return Redirect(path="/cati?notice=screened&code=4.7", status_code=303)
    if result.quota_full:
        return Redirect(path="/cati?notice=quota&code=4.8", status_code=303)
    if result.completed:
        return Redirect(path="/cati?notice=complete&code=1.1", status_code=303)
    if result.errors and complete:
        return _case_page(
            request,
            db,
            user,
            settings,
            client,
            locale,
            case_id,
            answers=result.answers,
            errors=result.errors,
            status_code=400,
        )
    return Redirect(path=f"/cati/case/{case_id}?saved=1#script", status_code=303)


@post(
    "/cati/case/{case_id:int}/check",
    opt=admits(*CONSOLE),
    include_in_schema=False,
    sync_to_thread=True,
    status_code=200,
)
def console_check(
    db: DB,
    user: UserDep,
    case_id: FromPath[int],
    data: Annotated[dict[str, Any], Body(media_type=FORM)],
) -> dict[str, Any]:
    """Live skip logic for ``fieldwork.js``: the items visible for the answers on screen."""
    case_row = service.case_for_interviewer(db, case_id, user.id)
    form = service.form_for_case(db, case_row)
    answers = form.normalise(_form_answers(form, data))
    return {
        "visible": [i.name for i in form.visible_items(answers)],
        "screened_out": form.is_screened_out(answers),
    }


@post(
    "/cati/case/{case_id:int}/outcome",
    opt=admits(*CONSOLE),
    include_in_schema=False,
    sync_to_thread=True,
)
def console_outcome(
    db: DB,
    user: UserDep,
    settings: AppSettings,
    case_id: FromPath[int],
    data: Annotated[dict[str, Any], Body(media_type=FORM)],
) -> Redirect:
    """Record the outcome of the call and go back to the console."""
    case_row = service.case_for_interviewer(db, case_id, user.id)
    code = str(data.get("disposition", "")).strip()
    service.record_outcome(
        db,
        case_row,
        user.id,
        code,
        settings.timezone,
        notes=str(data.get("notes", ""))[:1000],
        callback_at=_local_input(str(data.get("callback_at", "")), settings.timezone),
        do_not_call=str(data.get("do_not_call", "")) in ("1", "on", "true"),
    )
    db.commit()
    return Redirect(path=f"/cati?notice=recorded&code={code}", status_code=303)


@post(
    "/cati/case/{case_id:int}/release",
    opt=admits(*CONSOLE),
    include_in_schema=False,
    sync_to_thread=True,
)
def console_release(db: DB, user: UserDep, case_id: FromPath[int]) -> Redirect:
    """Give the case back without a call (nothing is recorded)."""
    case_row = service.case_for_interviewer(db, case_id, user.id)
    service.release(db, case_row)
    db.commit()
    return Redirect(path="/cati?notice=released", status_code=303)


# ---------------------------------------------------------------- supervisor pages


@get("/fieldwork", opt=admits(*SUPERVISORS), include_in_schema=False, sync_to_thread=True)
def supervisor_home(request: Request[Any, Any, Any], db: DB) -> Template:
    """Telephone waves in (or after) the field."""
    waves = _waves(db)
    return render(request, "fieldwork/index.html", waves=waves)


@get(
    "/fieldwork/waves/{wave_id:int}",
    opt=admits(*SUPERVISORS),
    include_in_schema=False,
    sync_to_thread=True,
)
def supervisor_wave(
    request: Request[Any, Any, Any], db: DB, user: UserDep, wave_id: FromPath[int]
) -> Template:
    """Live progress per street, interviewer productivity, AAPOR rates and quality flags."""
    if user.role not in {r.value for r in SUPERVISORS}:
        raise ForbiddenError(N_("Your role does not give access to this page."))
    wave = _wave(db, wave_id)
    progress = service.street_progress(db, wave_id, utcnow())
    rates = service.wave_rates(db, wave_id)
    flags = service.quality_flags(db, wave_id)
    names = service.user_names(db, {f.interviewer_id for f in flags if f.interviewer_id})
    return render(
        request,
        "fieldwork/wave.html",
        wave=wave,
        progress=progress,
        totals={
            "target": sum(p.target for p in progress),
            "completes": sum(p.completes for p in progress),
            "cases": sum(p.cases for p in progress),
            "held": sum(p.held for p in progress),
        },
        rates=rates,
        rate_groups=RATE_GROUPS,
        categories=CATEGORIES,
        category_labels=dispositions.CATEGORY_LABELS,
        productivity=service.productivity(db, wave_id),
        flags=flags,
        flag_names=names,
    )


route_handlers: list[Any] = [
    list_dispositions,
    api_next_case,
    api_get_case,
    api_record_outcome,
    api_save_answers,
    api_waves,
    api_progress,
    api_rates,
    api_productivity,
    api_quality,
    console_home,
    console_next,
    console_case,
    console_interview,
    console_check,
    console_outcome,
    console_release,
    supervisor_home,
    supervisor_wave,
]
