"""Surveys: questionnaires, waves, allocation, frames and selection (staff pages and API),
the resident web survey ``/s/{token}`` and the open link ``/s/open/{wave_id}`` (public)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery, JSONBody
from litestar.response import Redirect, Response, Template
from sqlmodel import Session, col, func, select

from participation.accounts.roles import Role
from participation.accounts.service import streets_in_scope, units_in_scope
from participation.core.crypto import Vault
from participation.core.deps import DB, AppSettings, Locale
from participation.core.errors import ForbiddenError, ServiceError
from participation.core.i18n import N_, gettext
from participation.core.web import CurrentUser, UserDep, admits, public, render
from participation.geography.models import Level, Unit
from participation.surveys import frames, imports, service, websurvey
from participation.surveys.models import (
    Mode,
    Questionnaire,
    SampleCase,
    Wave,
    WaveResult,
    WaveSource,
    WaveStatus,
)
from participation.surveys.models import (
    Response as SurveyResponse,
)
from participation.surveys.schemas import (
    AllocationIn,
    AllocationOut,
    AllocationRow,
    CountOut,
    DefinitionIn,
    FrameImportOut,
    QuestionnaireDetail,
    QuestionnaireOut,
    ReleaseIn,
    ResultOut,
    SelectIn,
    SelectOut,
    StatusIn,
    WaveForm,
    WaveIn,
    WaveOut,
)

VIEWERS = (Role.ADMINISTRATOR, Role.OFFICIAL, Role.SUPERVISOR)
EDITORS = (Role.ADMINISTRATOR, Role.OFFICIAL)
OPERATORS = (Role.ADMINISTRATOR, Role.SUPERVISOR)
TAGS = ["surveys"]
FORM = RequestEncodingType.URL_ENCODED
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# ---------------------------------------------------------------- helpers


def _require_city_scope(db: Session, user: CurrentUser) -> None:
    """Officials edit questionnaires only with city scope."""
    if (
        user.role == Role.OFFICIAL.value
        and streets_in_scope(db, user.unit_code, user.role) is not None
    ):
        raise ForbiddenError(N_("Only an official of the whole city may do this."), field="role")


def _q_out(q: Questionnaire) -> QuestionnaireOut:
    assert q.id is not None
    return QuestionnaireOut(
        id=q.id,
        code=q.code,
        version=q.version,
        title_zh=q.title_zh,
        title_en=q.title_en,
        locked=q.locked,
        items=len(q.definition.get("items") or []),
        created_at=q.created_at,
    )


def _wave_out(w: Wave) -> WaveOut:
    assert w.id is not None
    alloc = w.allocation or {}
    return WaveOut(
        id=w.id,
        name=w.name,
        source=w.source,
        questionnaire_id=w.questionnaire_id,
        period_start=w.period_start,
        period_end=w.period_end,
        field_start=w.field_start,
        field_end=w.field_end,
        modes=list(w.modes or []),
        status=w.status,
        target_per_street=w.target_per_street,
        allocation_method=alloc.get("method"),
        sample_total=alloc.get("total"),
    )


def _upload(data: UploadFile) -> tuple[bytes, str]:
    if not isinstance(data, UploadFile):  # a multipart body without a file part
        raise ServiceError(N_("The file is empty."), field="data")
    return data.file.read(), data.filename or ""


def _allocation_rows(db: Session, wave: Wave, user: CurrentUser | None = None) -> AllocationOut:
    """The wave's allocation; with ``user``, only the streets in their scope (total stays whole)."""
    alloc = service.allocation_of(db, wave)
    scope = streets_in_scope(db, user.unit_code, user.role) if user is not None else None
    names = dict(
        db.exec(select(Unit.code, Unit.name).where(Unit.level == Level.STREET.value)).all()
    )
    populations = service.street_populations(db)
    rows = [
        AllocationRow(
            street_code=code,
            street_name=names.get(code, code),
            population=populations.get(code, 0),
            n=n,
            mobile=(alloc.get("frames") or {}).get(code, {}).get("mobile", 0),
            landline=(alloc.get("frames") or {}).get(code, {}).get("landline", 0),
            moe_mean=(alloc.get("moe_mean") or {}).get(code),
            moe_proportion=(alloc.get("moe_proportion") or {}).get(code),
        )
        for code, n in sorted(alloc.get("n", {}).items())
    ]
    total = sum(r.n for r in rows)
    if scope is not None:
        rows = [r for r in rows if r.street_code in scope]
    return AllocationOut(method=alloc.get("method", "equal"), total=total, rows=rows)


def _results(db: Session, user: CurrentUser, wave_id: int) -> list[ResultOut]:
    scope = units_in_scope(db, user.unit_code, user.role)
    names = dict(db.exec(select(Unit.code, Unit.name)).all())
    order = {"city": 0, "county": 1, "street": 2}
    rows = db.exec(select(WaveResult).where(WaveResult.wave_id == wave_id)).all()
    out = [
        ResultOut(
            unit_code=r.unit_code,
            unit_name=names.get(r.unit_code, r.unit_code),
            level=r.level,
            n=r.n,
            mean=r.mean,
            se=r.se,
            ci_low=r.ci_low,
            ci_high=r.ci_high,
            p_satisfied=r.p_satisfied,
            p_se=r.p_se,
            p_ci_low=r.p_ci_low,
            p_ci_high=r.p_ci_high,
            dimensions=r.dimensions or {},
            method=r.method,
            model_based=r.model_based,
        )
        for r in rows
        if scope is None or r.unit_code in scope
    ]
    return sorted(out, key=lambda r: (order.get(r.level, 9), r.unit_code))


def _allocate(db: Session, wave_id: int, data: AllocationIn) -> None:
    params: dict[str, Any] = {
        "sd": data.sd,
        "target_moe": data.target_moe,
        "p": data.p,
        "deff": data.deff,
        "minimum": data.minimum,
        "frame_shares": {"mobile": data.mobile_share, "landline": 1 - data.mobile_share},
    }
    if data.per_street is not None:
        params["per_street"] = data.per_street
    if data.total is not None:
        params["total"] = data.total
    service.set_allocation(db, wave_id, data.method, **params)


def _compute(db: Session, wave_id: int) -> int:
    from participation.surveys.estimates import compute_wave_results

    return compute_wave_results(db, wave_id)


def _vault(settings: Any) -> Vault:
    return Vault(settings)


# ---------------------------------------------------------------- API: questionnaires


@get(
    "/api/surveys/questionnaires",
    opt=admits(*VIEWERS),
    tags=TAGS,
    operation_id="listQuestionnaires",
    sync_to_thread=True,
)
def api_list_questionnaires(db: DB) -> list[QuestionnaireOut]:
    """Every questionnaire version."""
    return [_q_out(q) for q in service.list_questionnaires(db)]


@get(
    "/api/surveys/questionnaires/{questionnaire_id:int}",
    opt=admits(*VIEWERS),
    tags=TAGS,
    operation_id="getQuestionnaire",
    sync_to_thread=True,
)
def api_get_questionnaire(db: DB, questionnaire_id: FromPath[int]) -> QuestionnaireDetail:
    """One questionnaire version with its definition."""
    q = service.get_questionnaire(db, questionnaire_id)
    return QuestionnaireDetail(**_q_out(q).model_dump(), definition=q.definition)


@post(
    "/api/surveys/questionnaires",
    opt=admits(*EDITORS),
    tags=TAGS,
    operation_id="createQuestionnaire",
    sync_to_thread=True,
    status_code=201,
)
def api_create_questionnaire(
    db: DB, user: UserDep, data: JSONBody[DefinitionIn]
) -> QuestionnaireOut:
    """Store a definition (JSON) as the next version of its form_id."""
    _require_city_scope(db, user)
    q = service.create_questionnaire(db, data.definition)
    db.commit()
    return _q_out(q)


@post(
    "/api/surveys/questionnaires/{questionnaire_id:int}/definition",
    opt=admits(*EDITORS),
    tags=TAGS,
    operation_id="editQuestionnaire",
    sync_to_thread=True,
    status_code=200,
)
def api_edit_questionnaire(
    db: DB, user: UserDep, questionnaire_id: FromPath[int], data: JSONBody[DefinitionIn]
) -> QuestionnaireOut:
    """Edit a version; a locked version is never changed: the edit becomes a new version."""
    _require_city_scope(db, user)
    q = service.update_questionnaire(db, questionnaire_id, data.definition)
    db.commit()
    return _q_out(q)


@post(
    "/api/surveys/questionnaires/import",
    opt=admits(*EDITORS),
    tags=TAGS,
    operation_id="importXLSForm",
    sync_to_thread=True,
    status_code=201,
)
def api_import_xlsform(
    db: DB,
    user: UserDep,
    data: Annotated[UploadFile, Body(media_type=RequestEncodingType.MULTI_PART)],
) -> QuestionnaireOut:
    """Import an XLSForm workbook (ODK/KoboToolbox) as a new questionnaire version."""
    _require_city_scope(db, user)
    raw, _ = _upload(data)
    q = service.import_xlsform(db, raw)
    db.commit()
    return _q_out(q)


@get(
    "/api/surveys/questionnaires/{questionnaire_id:int}/xlsform",
    opt=admits(*VIEWERS),
    tags=TAGS,
    operation_id="exportXLSForm",
    sync_to_thread=True,
    media_type=XLSX,
)
def api_export_xlsform(db: DB, questionnaire_id: FromPath[int]) -> Response[bytes]:
    """The XLSForm workbook of a questionnaire version."""
    q = service.get_questionnaire(db, questionnaire_id)
    return Response(
        service.export_xlsform(q),
        media_type=XLSX,
        headers={"content-disposition": f'attachment; filename="{q.code}-v{q.version}.xlsx"'},
    )


# ---------------------------------------------------------------- API: waves


@get(
    "/api/surveys/waves",
    opt=admits(*VIEWERS),
    tags=TAGS,
    operation_id="listWaves",
    sync_to_thread=True,
)
def api_list_waves(db: DB) -> list[WaveOut]:
    """Every wave, newest first."""
    return [_wave_out(w) for w in service.list_waves(db)]


@get(
    "/api/surveys/waves/{wave_id:int}",
    opt=admits(*VIEWERS),
    tags=TAGS,
    operation_id="getWave",
    sync_to_thread=True,
)
def api_get_wave(db: DB, wave_id: FromPath[int]) -> WaveOut:
    """One wave."""
    return _wave_out(service.get_wave(db, wave_id))


def _wave_input(data: WaveIn) -> service.WaveInput:
    return service.WaveInput(
        name=data.name,
        questionnaire_id=data.questionnaire_id,
        period_start=data.period_start,
        period_end=data.period_end,
        source=data.source,
        modes=tuple(data.modes),
        target_per_street=data.target_per_street,
        field_start=data.field_start,
        field_end=data.field_end,
    )


@post(
    "/api/surveys/waves",
    opt=admits(*OPERATORS),
    tags=TAGS,
    operation_id="createWave",
    sync_to_thread=True,
    status_code=201,
)
def api_create_wave(db: DB, data: JSONBody[WaveIn]) -> WaveOut:
    """Create a draft wave (its questionnaire version becomes locked)."""
    wave = service.create_wave(db, _wave_input(data))
    db.commit()
    return _wave_out(wave)


@post(
    "/api/surveys/waves/{wave_id:int}/status",
    opt=admits(Role.ADMINISTRATOR, Role.SUPERVISOR, Role.OFFICIAL),
    tags=TAGS,
    operation_id="setWaveStatus",
    sync_to_thread=True,
    status_code=200,
)
def api_wave_status(
    db: DB, user: UserDep, wave_id: FromPath[int], data: JSONBody[StatusIn]
) -> WaveOut:
    """Move a wave forward: fielding and closed by administrators and supervisors, published
    by administrators and city officials."""
    wave = service.transition_wave(db, wave_id, data.status, user.role, user.unit_code)
    db.commit()
    return _wave_out(wave)


@post(
    "/api/surveys/waves/{wave_id:int}/allocation",
    opt=admits(*OPERATORS),
    tags=TAGS,
    operation_id="allocateWave",
    sync_to_thread=True,
    status_code=200,
)
def api_allocate(db: DB, wave_id: FromPath[int], data: JSONBody[AllocationIn]) -> AllocationOut:
    """Plan the sample allocation over streets and frames; returns the expected MOE per street."""
    _allocate(db, wave_id, data)
    db.commit()
    return _allocation_rows(db, service.get_wave(db, wave_id))


@get(
    "/api/surveys/waves/{wave_id:int}/allocation",
    opt=admits(*VIEWERS),
    tags=TAGS,
    operation_id="getAllocation",
    sync_to_thread=True,
)
def api_get_allocation(db: DB, wave_id: FromPath[int]) -> AllocationOut:
    """The allocation of a wave with the expected MOE per street."""
    return _allocation_rows(db, service.get_wave(db, wave_id))


@post(
    "/api/surveys/frames/import",
    opt=admits(*OPERATORS),
    tags=TAGS,
    operation_id="importFrame",
    sync_to_thread=True,
    status_code=200,
)
def api_import_frame(
    db: DB,
    settings: AppSettings,
    data: Annotated[UploadFile, Body(media_type=RequestEncodingType.MULTI_PART)],
    skip_invalid: FromQuery[bool] = False,
) -> FrameImportOut:
    """Import phone numbers ``street_code,phone[,frame_type]`` (CSV/XLSX). A file with invalid
    lines is refused naming them, unless ``skip_invalid`` (then they are listed and skipped)."""
    raw, name = _upload(data)
    try:
        report = frames.import_frame(db, _vault(settings), raw, name, skip_invalid=skip_invalid)
        db.commit()
    except ServiceError:
        db.rollback()
        raise
    return FrameImportOut(
        imported=report.imported,
        duplicates=report.duplicates,
        do_not_call=report.do_not_call,
        invalid=[{"line": ln, "field": c, "reason": r} for ln, c, r in report.invalid],
    )


@post(
    "/api/surveys/waves/{wave_id:int}/select",
    opt=admits(*OPERATORS),
    tags=TAGS,
    operation_id="selectSample",
    sync_to_thread=True,
    status_code=200,
)
def api_select(db: DB, wave_id: FromPath[int], data: JSONBody[SelectIn]) -> SelectOut:
    """Select the wave's sample (reproducible from the recorded seed); replicate 1 released."""
    report = frames.select_sample(
        db,
        wave_id,
        seed=data.seed,
        replicates=data.replicates,
        oversample=data.oversample,
        exclude_recent=data.exclude_recent,
    )
    db.commit()
    return SelectOut(
        seed=report.seed, selected=report.selected, replicates=report.replicates, short=report.short
    )


@post(
    "/api/surveys/waves/{wave_id:int}/release",
    opt=admits(*OPERATORS),
    tags=TAGS,
    operation_id="releaseReplicate",
    sync_to_thread=True,
    status_code=200,
)
def api_release(db: DB, wave_id: FromPath[int], data: JSONBody[ReleaseIn]) -> CountOut:
    """Release one more replicate of the sample."""
    count = frames.release_replicate(db, wave_id, data.replicate)
    db.commit()
    return CountOut(count=count)


@post(
    "/api/surveys/waves/{wave_id:int}/responses/import",
    opt=admits(*OPERATORS),
    tags=TAGS,
    operation_id="importResponses",
    sync_to_thread=True,
    status_code=200,
)
def api_import_responses(
    db: DB,
    wave_id: FromPath[int],
    data: Annotated[UploadFile, Body(media_type=RequestEncodingType.MULTI_PART)],
) -> CountOut:
    """Import a survey firm's responses (CSV/XLSX, item names as columns), all or nothing."""
    raw, name = _upload(data)
    try:
        count = imports.import_responses(db, wave_id, raw, name)
        db.commit()
    except ServiceError:
        db.rollback()
        raise
    return CountOut(count=count)


@post(
    "/api/surveys/waves/{wave_id:int}/results/import",
    opt=admits(Role.ADMINISTRATOR),
    tags=TAGS,
    operation_id="importProvincialResults",
    sync_to_thread=True,
    status_code=200,
)
def api_import_results(
    db: DB,
    wave_id: FromPath[int],
    data: Annotated[UploadFile, Body(media_type=RequestEncodingType.MULTI_PART)],
) -> CountOut:
    """Import provincial results ``unit_code,score[,n,se,p_satisfied,p_se]``, all or nothing."""
    raw, name = _upload(data)
    try:
        count = imports.import_provincial_results(db, wave_id, raw, name)
        db.commit()
    except ServiceError:
        db.rollback()
        raise
    return CountOut(count=count)


@post(
    "/api/surveys/waves/{wave_id:int}/estimate",
    opt=admits(Role.ADMINISTRATOR),
    tags=TAGS,
    operation_id="estimateWave",
    sync_to_thread=True,
    status_code=200,
)
def api_estimate(db: DB, wave_id: FromPath[int]) -> CountOut:
    """Compute the weighted street, county and city estimates of a closed wave."""
    count = _compute(db, wave_id)
    db.commit()
    return CountOut(count=count)


@get(
    "/api/surveys/waves/{wave_id:int}/results",
    opt=admits(*VIEWERS),
    tags=TAGS,
    operation_id="waveResults",
    sync_to_thread=True,
)
def api_results(
    db: DB, user: UserDep, wave_id: FromPath[int], model: FromQuery[str | None] = None
) -> list[ResultOut]:
    """A wave's estimates for the units in the caller's scope.

    ``?model=fh``: the street rows become model-based Fay–Herriot EBLUPs of the mean score
    (REML; county and earlier-wave covariates; ``se`` = √MSE), marked ``model_based`` with
    ``method = "fay-herriot-eblup"``; their rate and dimension fields are left empty. County
    and city rows stay direct. Nothing is stored.
    """
    service.get_wave(db, wave_id)
    rows = _results(db, user, wave_id)
    if model is None:
        return rows
    if model != "fh":
        raise ServiceError(N_("Unknown model: %(model)s (use fh)."), field="model", model=model)
    from participation.surveys.small_area import model_based_streets

    fit = model_based_streets(db, wave_id)
    fitted = {s["unit_code"]: s for s in fit["streets"]}
    label = f"{fit['method']} ({fit['variance_method']}; {', '.join(fit['covariates'])})"
    out: list[ResultOut] = []
    for r in rows:
        s = fitted.get(r.unit_code) if r.level == Level.STREET.value else None
        if s is None:
            out.append(r)
            continue
        update = {"mean": s["estimate"], "se": s["rmse"], "ci_low": s["ci_low"]}
        update |= {"ci_high": s["ci_high"], "method": label, "model_based": True}
        update |= {k: None for k in ("p_satisfied", "p_se", "p_ci_low", "p_ci_high")}
        out.append(r.model_copy(update={**update, "dimensions": {}}))
    return out


# ---------------------------------------------------------------- staff pages


@get("/surveys", opt=admits(*VIEWERS), include_in_schema=False, sync_to_thread=True)
def surveys_page(request: Request[Any, Any, Any], db: DB) -> Template:
    """Questionnaires and waves."""
    waves = service.list_waves(db)
    counts = dict(
        db.exec(
            select(SurveyResponse.wave_id, func.count())
            .where(col(SurveyResponse.complete).is_(True))
            .group_by(SurveyResponse.wave_id)
        ).all()
    )
    return render(
        request,
        "surveys/index.html",
        questionnaires=service.list_questionnaires(db),
        waves=waves,
        counts=counts,
        sources=[s.value for s in WaveSource],
        modes=list(service.WAVE_MODES),
        error=None,
    )


@get(
    "/surveys/questionnaires/{questionnaire_id:int}",
    opt=admits(*VIEWERS),
    include_in_schema=False,
    sync_to_thread=True,
)
def questionnaire_page(
    request: Request[Any, Any, Any], db: DB, locale: Locale, questionnaire_id: FromPath[int]
) -> Template:
    """One questionnaire version: items, choices, skip logic and dimensions."""
    q = service.get_questionnaire(db, questionnaire_id)
    form = service.form_of(q)
    return render(request, "surveys/questionnaire.html", q=q, form=form, loc=locale)


@post(
    "/surveys/questionnaires/import",
    opt=admits(*EDITORS),
    include_in_schema=False,
    sync_to_thread=True,
    status_code=303,
)
def import_xlsform_page(
    db: DB,
    user: UserDep,
    data: Annotated[UploadFile, Body(media_type=RequestEncodingType.MULTI_PART)],
) -> Redirect:
    """Import an XLSForm from the page."""
    _require_city_scope(db, user)
    raw, _ = _upload(data)
    q = service.import_xlsform(db, raw)
    db.commit()
    return Redirect(path=f"/surveys/questionnaires/{q.id}", status_code=303)


def _parse_date(value: str, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ServiceError(N_("%(value)s is not a date."), field=field, value=value) from exc


@post(
    "/surveys/waves",
    opt=admits(*OPERATORS),
    include_in_schema=False,
    sync_to_thread=True,
    status_code=303,
)
def create_wave_page(db: DB, data: Annotated[WaveForm, Body(media_type=FORM)]) -> Redirect:
    """Create a wave from the page form."""
    start = _parse_date(data.period_start, "period_start")
    end = _parse_date(data.period_end, "period_end")
    if start is None or end is None:
        raise ServiceError(N_("Give the period's start and end."), field="period_start")
    try:
        target = int(data.target_per_street or 0)
    except ValueError as exc:
        raise ServiceError(
            N_("The target must be a whole number."), field="target_per_street"
        ) from exc
    modes = data.modes if isinstance(data.modes, list) else [data.modes] if data.modes else []
    wave = service.create_wave(
        db,
        service.WaveInput(
            name=data.name,
            questionnaire_id=int(data.questionnaire_id) if data.questionnaire_id else None,
            period_start=start,
            period_end=end,
            source=data.source,
            modes=tuple(modes or ["phone"]),
            target_per_street=target,
            field_start=_parse_date(data.field_start, "field_start"),
            field_end=_parse_date(data.field_end, "field_end"),
        ),
    )
    db.commit()
    return Redirect(path=f"/surveys/waves/{wave.id}", status_code=303)


@get(
    "/surveys/waves/{wave_id:int}",
    opt=admits(*VIEWERS),
    include_in_schema=False,
    sync_to_thread=True,
)
def wave_page(
    request: Request[Any, Any, Any], db: DB, user: UserDep, wave_id: FromPath[int]
) -> Template:
    """A wave: status, allocation with expected MOE per street, sample, responses, results."""
    wave = service.get_wave(db, wave_id)
    cases = dict(
        db.exec(
            select(SampleCase.status, func.count())
            .where(SampleCase.wave_id == wave_id)
            .group_by(SampleCase.status)
        ).all()
    )
    by_mode = dict(
        db.exec(
            select(SurveyResponse.mode, func.count())
            .where(SurveyResponse.wave_id == wave_id)
            .where(col(SurveyResponse.complete).is_(True))
            .group_by(SurveyResponse.mode)
        ).all()
    )
    questionnaire = db.get(Questionnaire, wave.questionnaire_id) if wave.questionnaire_id else None
    order = [s.value for s in WaveStatus]
    index = order.index(wave.status)
    next_status = order[index + 1] if index + 1 < len(order) else None
    allowed = next_status is not None and user.role in service.TRANSITION_ROLES[next_status]
    return render(
        request,
        "surveys/wave.html",
        wave=wave,
        questionnaire=questionnaire,
        allocation=_allocation_rows(db, wave, user),
        cases=cases,
        by_mode=by_mode,
        results=_results(db, user, wave_id),
        next_status=next_status if allowed else None,
        read_only=wave.status in service.READ_ONLY_STATUSES,
    )


@post(
    "/surveys/waves/{wave_id:int}/status",
    opt=admits(Role.ADMINISTRATOR, Role.SUPERVISOR, Role.OFFICIAL),
    include_in_schema=False,
    sync_to_thread=True,
    status_code=303,
)
def wave_status_page(
    db: DB, user: UserDep, wave_id: FromPath[int], data: Annotated[StatusIn, Body(media_type=FORM)]
) -> Redirect:
    """Move the wave forward from its page."""
    service.transition_wave(db, wave_id, data.status, user.role, user.unit_code)
    db.commit()
    return Redirect(path=f"/surveys/waves/{wave_id}", status_code=303)


@post(
    "/surveys/waves/{wave_id:int}/allocation",
    opt=admits(*OPERATORS),
    include_in_schema=False,
    sync_to_thread=True,
    status_code=303,
)
def wave_allocation_page(
    db: DB, wave_id: FromPath[int], data: Annotated[AllocationIn, Body(media_type=FORM)]
) -> Redirect:
    """Plan the allocation from the wave page."""
    _allocate(db, wave_id, data)
    db.commit()
    return Redirect(path=f"/surveys/waves/{wave_id}#allocation", status_code=303)


@post(
    "/surveys/waves/{wave_id:int}/estimate",
    opt=admits(Role.ADMINISTRATOR),
    include_in_schema=False,
    sync_to_thread=True,
    status_code=303,
)
def wave_estimate_page(db: DB, wave_id: FromPath[int]) -> Redirect:
    """Compute the estimates from the wave page (administrators)."""
    _compute(db, wave_id)
    db.commit()
    return Redirect(path=f"/surveys/waves/{wave_id}#results", status_code=303)


# ---------------------------------------------------------------- the resident web survey


def _survey_page(
    request: Request[Any, Any, Any],
    survey: websurvey.Survey,
    token: str,
    page_index: int,
    answers: dict[str, Any],
    errors: dict[str, str],
    locale: str,
    status_code: int = 200,
) -> Template:
    form = survey.form
    pages = websurvey.pages_of(form)
    page_index = max(0, min(page_index, len(pages) - 1))
    visible = set(websurvey.visible_names(form, answers))
    response = render(
        request,
        "surveys/respond.html",
        form=form,
        wave=survey.wave,
        page=pages[page_index],
        page_index=page_index,
        page_count=len(pages),
        last=page_index == len(pages) - 1,
        visible=visible,
        answers=answers,
        errors=errors,
        loc=locale,
        action=f"/s/{token}/page?lang={locale}",
        check_url=f"/s/{token}/check",
    )
    response.status_code = status_code
    return response


def _already(request: Request[Any, Any, Any], status_code: int = 409) -> Template:
    response = render(request, "surveys/already.html")
    response.status_code = status_code
    return response


def _next_page(form: Any, pages: list[Any], start: int, answers: dict[str, Any], step: int) -> int:
    visible = set(websurvey.visible_names(form, answers))
    index = start + step
    while 0 <= index < len(pages):
        if any(i.name in visible for i in pages[index]):
            return index
        index += step
    return max(0, min(start, len(pages) - 1)) if step < 0 else len(pages)


@get("/s/{token:str}", opt=public(), include_in_schema=False, sync_to_thread=True)
def survey_get(
    request: Request[Any, Any, Any],
    db: DB,
    locale: Locale,
    token: FromPath[str],
    page: FromQuery[int | None] = None,
) -> Template:
    """The survey page of an invitation: resumes where the resident stopped."""
    try:
        survey = websurvey.open_survey(db, token)
        if survey.invitation.status == "completed":
            return _already(request, 200)
        answers = dict(survey.invitation.partial_answers or {})
        index = websurvey.resume_page(survey.form, answers) if page is None else page
        return _survey_page(request, survey, token, index, answers, {}, locale)
    finally:
        db.close()  # end the transaction now (SQLite: release the write lock)


@post(
    "/s/{token:str}/page",
    opt=public(),
    include_in_schema=False,
    sync_to_thread=True,
    status_code=200,
)
def survey_post(
    request: Request[Any, Any, Any],
    db: DB,
    locale: Locale,
    token: FromPath[str],
    data: Annotated[dict[str, Any], Body(media_type=FORM)],
) -> Template | Redirect:
    """Save a page; go on, back, or submit (exactly one response per token)."""
    try:
        survey = websurvey.open_survey(db, token)
        if survey.invitation.status == "completed":
            return _already(request)
        form = survey.form
        pages = websurvey.pages_of(form)
        try:
            index = max(0, min(int(str(data.get("_page", "0"))), len(pages) - 1))
        except ValueError:
            index = 0
        action = str(data.get("_action", "next"))
        given = websurvey.page_answers(form, pages[index], data)
        answers = {**(survey.invitation.partial_answers or {}), **given}

        def keep() -> bool:
            try:
                websurvey.save_partial(db, token, given)
            except websurvey.AlreadySubmitted:
                db.rollback()
                return False
            db.commit()
            return True

        if action in ("back", "save"):
            if not keep():
                return _already(request)
            if action == "back":
                target = _next_page(form, pages, index, answers, -1)
                return Redirect(path=f"/s/{token}?page={target}&lang={locale}", status_code=303)
            return Redirect(path=f"/s/{token}?page={index}&lang={locale}&saved=1", status_code=303)
        names = {i.name for i in pages[index]}
        errors = {k: v for k, v in form.validate(answers, locale).items() if k in names}
        if errors:
            if not keep():
                return _already(request)
            return _survey_page(request, survey, token, index, answers, errors, locale, 400)
        target = _next_page(form, pages, index, answers, 1)
        screened = form.is_screened_out(answers)
        if target < len(pages) and not screened and action != "submit":
            if not keep():
                return _already(request)
            return Redirect(path=f"/s/{token}?page={target}&lang={locale}", status_code=303)
        try:
            websurvey.submit(db, token, given, locale, survey=survey)
            db.commit()
        except websurvey.AlreadySubmitted:
            db.rollback()
            return _already(request)
        except websurvey.AnswersInvalid as exc:
            db.rollback()
            keep()
            first = next(
                (n for n, page in enumerate(pages) if any(i.name in exc.errors for i in page)),
                index,
            )
            return _survey_page(request, survey, token, first, answers, exc.errors, locale, 400)
        return Redirect(path=f"/s/{token}/thanks?lang={locale}", status_code=303)
    finally:
        db.close()  # end the transaction now (SQLite: release the write lock)


@post(
    "/s/{token:str}/check",
    opt=public(),
    include_in_schema=False,
    sync_to_thread=True,
    status_code=200,
)
def survey_check(
    db: DB, token: FromPath[str], data: Annotated[dict[str, Any], Body(media_type=FORM)]
) -> dict[str, Any]:
    """Live skip logic for ``surveys.js``: saves the page's answers, returns the visible items."""
    try:
        survey = websurvey.open_survey(db, token)
        if survey.invitation.status == "completed":
            return {"visible": [], "completed": True}
        pages = websurvey.pages_of(survey.form)
        try:
            index = max(0, min(int(str(data.get("_page", "0"))), len(pages) - 1))
        except ValueError:
            index = 0
        given = websurvey.page_answers(survey.form, pages[index], data)
        invitation = websurvey.save_partial(db, token, given)
        db.commit()
        return {
            "visible": websurvey.visible_names(survey.form, invitation.partial_answers),
            "completed": False,
        }
    finally:
        db.close()  # end the transaction now (SQLite: release the write lock)


@get("/s/{token:str}/thanks", opt=public(), include_in_schema=False, sync_to_thread=True)
def survey_thanks(request: Request[Any, Any, Any], db: DB, token: FromPath[str]) -> Template:
    """The thank-you page."""
    try:
        survey = websurvey.open_survey(db, token)
        if survey.invitation.status != "completed":
            return Redirect(path=f"/s/{token}", status_code=303)  # type: ignore[return-value]
        eligible = (
            db.exec(
                select(SurveyResponse.complete).where(
                    SurveyResponse.invitation_id == survey.invitation.id
                )
            ).first()
            is not False
        )
        return render(request, "surveys/thanks.html", eligible=eligible)
    finally:
        db.close()  # end the transaction now (SQLite: release the write lock)


def _streets_by_county(db: Session) -> list[tuple[Unit, list[Unit]]]:
    counties = db.exec(
        select(Unit).where(Unit.level == Level.COUNTY.value).order_by(Unit.code)
    ).all()
    streets = db.exec(
        select(Unit).where(Unit.level == Level.STREET.value).order_by(Unit.code)
    ).all()
    grouped: dict[str, list[Unit]] = {}
    for s in streets:
        grouped.setdefault(s.parent_code or "", []).append(s)
    return [(c, grouped.get(c.code, [])) for c in counties if grouped.get(c.code)]


def _open_form(db: Session, wave_id: int) -> tuple[Wave, Any]:
    wave = service.get_wave(db, wave_id)
    if Mode.OPEN_LINK.value not in (wave.modes or []) or wave.questionnaire_id is None:
        raise ServiceError(N_("This survey has no open link."), field="wave_id", status_code=404)
    return wave, service.form_of(service.get_questionnaire(db, wave.questionnaire_id))


@get("/s/open/{wave_id:int}", opt=public(), include_in_schema=False, sync_to_thread=True)
def open_get(
    request: Request[Any, Any, Any], db: DB, locale: Locale, wave_id: FromPath[int]
) -> Template:
    """The open-link survey (non-probability; flagged, excluded from official scores)."""
    try:
        wave, form = _open_form(db, wave_id)
        return render(
            request,
            "surveys/open.html",
            wave=wave,
            form=form,
            items=form.items,
            visible={i.name for i in form.visible_items({})},
            answers={},
            errors={},
            loc=locale,
            counties=_streets_by_county(db),
            street="",
        )
    finally:
        db.close()  # end the transaction now (SQLite: release the write lock)


@post(
    "/s/open/{wave_id:int}/submit",
    opt=public(),
    include_in_schema=False,
    sync_to_thread=True,
    status_code=200,
)
def open_post(
    request: Request[Any, Any, Any],
    db: DB,
    locale: Locale,
    wave_id: FromPath[int],
    data: Annotated[dict[str, Any], Body(media_type=FORM)],
) -> Template | Redirect:
    """Store an open-link response, or show the form again with its messages."""
    try:
        wave, form = _open_form(db, wave_id)
        answers = websurvey.page_answers(form, form.items, data)
        street = str(data.get("street_code", ""))
        errors: dict[str, str] = {}
        try:
            if data.get("_action") != "refresh":
                websurvey.submit_open_link(db, wave_id, street, answers, locale)
                db.commit()
                return Redirect(path=f"/s/open/{wave_id}/thanks?lang={locale}", status_code=303)
        except websurvey.AnswersInvalid as exc:
            db.rollback()
            errors = {k: gettext(v, locale) for k, v in exc.errors.items()}
            wave, form = _open_form(db, wave_id)  # reloaded: the rollback expired them
        response = render(
            request,
            "surveys/open.html",
            wave=wave,
            form=form,
            items=form.items,
            visible={i.name for i in form.visible_items(answers)},
            answers=answers,
            errors=errors,
            loc=locale,
            counties=_streets_by_county(db),
            street=street,
        )
        response.status_code = 400 if errors else 200
        return response
    finally:
        db.close()  # end the transaction now (SQLite: release the write lock)


@get("/s/open/{wave_id:int}/thanks", opt=public(), include_in_schema=False, sync_to_thread=True)
def open_thanks(request: Request[Any, Any, Any], wave_id: FromPath[int]) -> Template:
    """Thank-you page of the open link."""
    return render(request, "surveys/thanks.html", eligible=True)


route_handlers: list[Any] = [
    api_list_questionnaires,
    api_get_questionnaire,
    api_create_questionnaire,
    api_edit_questionnaire,
    api_import_xlsform,
    api_export_xlsform,
    api_list_waves,
    api_get_wave,
    api_create_wave,
    api_wave_status,
    api_allocate,
    api_get_allocation,
    api_import_frame,
    api_select,
    api_release,
    api_import_responses,
    api_import_results,
    api_estimate,
    api_results,
    surveys_page,
    questionnaire_page,
    import_xlsform_page,
    create_wave_page,
    wave_page,
    wave_status_page,
    wave_allocation_page,
    wave_estimate_page,
    survey_get,
    survey_post,
    survey_check,
    survey_thanks,
    open_get,
    open_post,
    open_thanks,
]
