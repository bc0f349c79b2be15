"""Scoring: schemes, assessments and imports (officials), bulletins (public once published)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, JSONBody
from litestar.response import Redirect, Template
from pydantic import BaseModel, Field

from participation.accounts.roles import Role
from participation.core.deps import DB, Locale
from participation.core.errors import ForbiddenError, NotFoundError, ServiceError
from participation.core.i18n import N_, gettext
from participation.core.web import CurrentUser, OptionalUserDep, UserDep, admits, public, render
from participation.scoring import service
from participation.scoring.config import GRADE_LABELS, KIND_LABELS, SchemeConfig, parse_config
from participation.scoring.models import STATUS_LABELS, Assessment, Bulletin, BulletinStatus
from participation.scoring.schemas import (
    AssessmentIn,
    AssessmentOut,
    BulletinOut,
    SchemeIn,
    SchemeOut,
    ValuesImportResult,
    VersionIn,
    VersionOut,
)

MANAGERS = (Role.ADMINISTRATOR, Role.OFFICIAL)
PLAUSIBLE_NOTE = N_(
    "Plausibly in the bottom: units not in the bottom group by point estimate whose rank interval reaches it; the data cannot rule out that they belong there."  # noqa: E501
)


def _require_manager(db: DB, user: CurrentUser) -> None:
    if not service.may_approve(db, user.role, user.unit_code):
        raise ForbiddenError(
            N_("Only administrators and city officials manage assessments and bulletins."),
            field="role",
        )


def _version_out(v: Any) -> VersionOut:
    return VersionOut(
        id=v.id,
        scheme_id=v.scheme_id,
        version=v.version,
        config=v.config,
        note=v.note,
        created_at=v.created_at,
    )


def _assessment_out(a: Assessment, full: bool = False) -> AssessmentOut:
    assert a.id is not None
    return AssessmentOut(
        id=a.id,
        scheme_version_id=a.scheme_version_id,
        label=a.label,
        period_start=a.period_start,
        period_end=a.period_end,
        computed_at=a.computed_at,
        inputs=a.inputs,
        results=a.results if full else None,
    )


# --- JSON API ------------------------------------------------------------------------------


@get(
    "/api/scoring/schemes",
    opt=admits(*MANAGERS),
    tags=["scoring"],
    operation_id="listSchemes",
    sync_to_thread=True,
)
def list_schemes(db: DB, user: UserDep) -> list[SchemeOut]:
    """Assessment schemes with their latest versions."""
    return [
        SchemeOut(id=s.id or 0, code=s.code, name=s.name, name_en=s.name_en, latest=_version_out(v))
        for s, v in service.latest_versions(db)
    ]


@post(
    "/api/scoring/schemes",
    opt=admits(*MANAGERS),
    tags=["scoring"],
    operation_id="createScheme",
    sync_to_thread=True,
    status_code=201,
)
def create_scheme(db: DB, user: UserDep, data: JSONBody[SchemeIn]) -> VersionOut:
    """Create a scheme and its first version (the configuration is validated)."""
    _require_manager(db, user)
    version = service.create_scheme(
        db,
        code=data.code,
        name=data.name,
        name_en=data.name_en,
        config=data.config,
        user_id=user.id,
    )
    db.commit()
    return _version_out(version)


@post(
    "/api/scoring/schemes/{scheme_id:int}/versions",
    opt=admits(*MANAGERS),
    tags=["scoring"],
    operation_id="addSchemeVersion",
    sync_to_thread=True,
    status_code=201,
)
def add_version(
    db: DB, user: UserDep, scheme_id: FromPath[int], data: JSONBody[VersionIn]
) -> VersionOut:
    """Add an immutable version to a scheme (earlier versions and results are kept)."""
    _require_manager(db, user)
    version = service.add_version(db, scheme_id, data.config, data.note, user.id)
    db.commit()
    return _version_out(version)


@post(
    "/api/scoring/assessments",
    opt=admits(*MANAGERS),
    tags=["scoring"],
    operation_id="computeAssessment",
    sync_to_thread=True,
    status_code=201,
)
def compute_assessment(db: DB, user: UserDep, data: JSONBody[AssessmentIn]) -> AssessmentOut:
    """Compute and store the assessment of a period under a scheme version."""
    _require_manager(db, user)
    assessment = service.assess(
        db, data.scheme_version_id, data.label, data.period_start, data.period_end, user.id
    )
    db.commit()
    return _assessment_out(assessment, full=True)


@get(
    "/api/scoring/assessments/{assessment_id:int}",
    opt=admits(*MANAGERS),
    tags=["scoring"],
    operation_id="getAssessment",
    sync_to_thread=True,
)
def get_assessment(db: DB, user: UserDep, assessment_id: FromPath[int]) -> AssessmentOut:
    """An assessment with its full results (city-wide: administrators and city officials)."""
    _require_manager(db, user)
    return _assessment_out(service.get_assessment(db, assessment_id), full=True)


@dataclass
class ImportForm:
    """An indicator file upload."""

    indicator: str
    file: UploadFile


def _read_upload(upload: UploadFile) -> tuple[bytes, str]:
    return upload.file.read(), upload.filename or "values.csv"


@post(
    "/api/scoring/imports",
    opt=admits(*MANAGERS),
    tags=["scoring"],
    operation_id="importIndicatorValues",
    sync_to_thread=True,
    status_code=200,
)
def import_values_api(
    db: DB,
    user: UserDep,
    data: Annotated[ImportForm, Body(media_type=RequestEncodingType.MULTI_PART)],
) -> ValuesImportResult:
    """Import ``unit_code,period,value`` (CSV or XLSX) for an indicator, all or nothing.

    A bad row rejects the file (HTTP 400 naming the line and the column); nothing is written.
    """
    _require_manager(db, user)
    raw, name = _read_upload(data.file)
    try:
        summary = service.import_values(db, data.indicator, raw, name)
        db.commit()
    except ServiceError:
        db.rollback()
        raise
    return ValuesImportResult(**summary.__dict__)


@get(
    "/api/bulletins",
    opt=public(),
    tags=["scoring"],
    operation_id="listPublishedBulletins",
    sync_to_thread=True,
)
def list_bulletins_api(db: DB) -> list[BulletinOut]:
    """Published bulletins, newest first."""
    return [
        BulletinOut(
            id=b.id or 0,
            assessment_id=b.assessment_id,
            title=b.title,
            title_en=b.title_en,
            status=b.status,
            published_at=b.published_at,
        )
        for b in service.list_bulletins(db, published_only=True)
    ]


# --- pages ---------------------------------------------------------------------------------


@get("/scoring", opt=admits(*MANAGERS), include_in_schema=False, sync_to_thread=True)
def scoring_page(request: Request[Any, Any, Any], db: DB, user: UserDep) -> Template:
    """Schemes, assessments, imports and bulletin drafts."""
    versions = service.latest_versions(db)
    configs = {v.id: parse_config(v.config) for _, v in versions}
    return render(
        request,
        "scoring/index.html",
        versions=versions,
        configs=configs,
        assessments=service.list_assessments(db)[:30],
        bulletins=service.list_bulletins(db, published_only=False)[:30],
        may_manage=service.may_approve(db, user.role, user.unit_code),
        kind_labels=KIND_LABELS,
        status_labels=STATUS_LABELS,
        message=request.query_params.get("done"),
        today=date.today(),
    )


class AssessmentForm(BaseModel):
    """The compute-assessment form."""

    scheme_version_id: int
    label: str = Field(default="", max_length=80)
    period_start: date
    period_end: date


@post(
    "/scoring/assessments",
    opt=admits(*MANAGERS),
    include_in_schema=False,
    sync_to_thread=True,
    status_code=303,
)
def compute_form(
    db: DB,
    user: UserDep,
    data: Annotated[AssessmentForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Redirect:
    """Compute an assessment from the form."""
    _require_manager(db, user)
    service.assess(
        db, data.scheme_version_id, data.label, data.period_start, data.period_end, user.id
    )
    db.commit()
    return Redirect(path="/scoring?done=assessment", status_code=303)


@post(
    "/scoring/imports",
    opt=admits(*MANAGERS),
    include_in_schema=False,
    sync_to_thread=True,
    status_code=303,
)
def import_form(
    db: DB,
    user: UserDep,
    data: Annotated[ImportForm, Body(media_type=RequestEncodingType.MULTI_PART)],
) -> Redirect:
    """Import indicator values from the form."""
    _require_manager(db, user)
    raw, name = _read_upload(data.file)
    try:
        service.import_values(db, data.indicator, raw, name)
        db.commit()
    except ServiceError:
        db.rollback()
        raise
    return Redirect(path="/scoring?done=import", status_code=303)


class BulletinForm(BaseModel):
    """The new-bulletin form."""

    assessment_id: int
    title: str = Field(default="", max_length=200)
    title_en: str = Field(default="", max_length=200)
    note: str = Field(default="", max_length=2000)


@post(
    "/scoring/bulletins",
    opt=admits(*MANAGERS),
    include_in_schema=False,
    sync_to_thread=True,
    status_code=303,
)
def create_bulletin(
    db: DB,
    user: UserDep,
    data: Annotated[BulletinForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Redirect:
    """Draft a bulletin of an assessment."""
    _require_manager(db, user)
    bulletin = service.create_bulletin(
        db, data.assessment_id, data.title, data.title_en, data.note, user.id
    )
    db.commit()
    return Redirect(path=f"/bulletins/{bulletin.id}", status_code=303)


@post(
    "/scoring/bulletins/{bulletin_id:int}/approve",
    opt=admits(*MANAGERS),
    include_in_schema=False,
    sync_to_thread=True,
    status_code=303,
)
def approve_bulletin(db: DB, user: UserDep, bulletin_id: FromPath[int]) -> Redirect:
    """draft → approved."""
    service.approve_bulletin(db, bulletin_id, user.id, user.role, user.unit_code)
    db.commit()
    return Redirect(path=f"/bulletins/{bulletin_id}", status_code=303)


@post(
    "/scoring/bulletins/{bulletin_id:int}/publish",
    opt=admits(*MANAGERS),
    include_in_schema=False,
    sync_to_thread=True,
    status_code=303,
)
def publish_bulletin(db: DB, user: UserDep, bulletin_id: FromPath[int]) -> Redirect:
    """approved → published."""
    service.publish_bulletin(db, bulletin_id, user.role, user.unit_code)
    db.commit()
    return Redirect(path=f"/bulletins/{bulletin_id}", status_code=303)


# --- bulletins (public once published) ------------------------------------------------------


@dataclass
class BulletinView:
    """What a bulletin page shows."""

    bulletin: Bulletin
    assessment: Assessment
    scheme: str
    version: int
    config: SchemeConfig
    method: dict[str, Any]
    results: dict[str, Any]
    names: dict[str, str]


def _viewable(db: DB, user: CurrentUser | None, bulletin_id: int) -> BulletinView:
    """A bulletin the visitor may see: published ones to all, others to managers only."""
    bulletin = service.get_bulletin(db, bulletin_id)
    if bulletin.status != BulletinStatus.PUBLISHED.value and (
        user is None or not service.may_approve(db, user.role, user.unit_code)
    ):
        raise NotFoundError(N_("No bulletin %(id)s."), field="bulletin_id", id=bulletin_id)
    assessment = service.get_assessment(db, bulletin.assessment_id)
    version = service.get_version(db, assessment.scheme_version_id)
    from participation.scoring.models import Scheme

    scheme = db.get(Scheme, version.scheme_id)
    results = assessment.results
    names = {u["code"]: u["name"] for u in [*results["streets"], *results["counties"]]}
    return BulletinView(
        bulletin=bulletin,
        assessment=assessment,
        scheme=scheme.name if scheme else "",
        version=version.version,
        config=parse_config(version.config),
        method=results.get("method", {}),
        results=results,
        names=names,
    )


@get("/bulletins", opt=public(), include_in_schema=False, sync_to_thread=True)
def bulletins_page(
    request: Request[Any, Any, Any], db: DB, optional_user: OptionalUserDep
) -> Template:
    """Published bulletins (public); managers also see drafts and approved ones."""
    manager = optional_user is not None and service.may_approve(
        db, optional_user.role, optional_user.unit_code
    )
    return render(
        request,
        "bulletins/index.html",
        published=service.list_bulletins(db, published_only=True),
        pending=[
            b
            for b in service.list_bulletins(db, published_only=False)
            if b.status != BulletinStatus.PUBLISHED.value
        ]
        if manager
        else [],
        status_labels=STATUS_LABELS,
    )


@get("/bulletins/{bulletin_id:int}", opt=public(), include_in_schema=False, sync_to_thread=True)
def bulletin_page(
    request: Request[Any, Any, Any],
    db: DB,
    optional_user: OptionalUserDep,
    bulletin_id: FromPath[int],
) -> Template:
    """A bulletin: ranked tables, grades, lists and the method note."""
    view = _viewable(db, optional_user, bulletin_id)
    manager = optional_user is not None and service.may_approve(
        db, optional_user.role, optional_user.unit_code
    )
    return render(
        request,
        "bulletins/detail.html",
        view=view,
        data=view,
        manager=manager,
        grade_labels=GRADE_LABELS,
        status_labels=STATUS_LABELS,
    )


def _export_name(view: BulletinView, ext: str) -> str:
    return f"bulletin-{view.bulletin.id}-{view.assessment.period_end.isoformat()}.{ext}"


def _method_lines(view: BulletinView, locale: str) -> list[str]:
    t = lambda msg, **kw: gettext(msg, locale, **kw)  # noqa: E731
    weights = view.config.weights()
    components = "; ".join(
        f"{c.label_zh if locale == 'zh_CN' else (c.label_en or c.label_zh)} "
        f"{round(weights[c.key] * 100)}%"
        for c in view.config.components
    )
    return [
        view.bulletin.title,
        t(N_("Scheme %(scheme)s, version %(version)s"), scheme=view.scheme, version=view.version),
        t(
            N_("Period: %(start)s to %(end)s"),
            start=view.assessment.period_start.isoformat(),
            end=view.assessment.period_end.isoformat(),
        ),
        t(N_("Components and weights")) + ": " + components,
        t(N_("Rank intervals: %(method)s."), method=t(view.method.get("rank_method", ""))),
        t(PLAUSIBLE_NOTE),
    ]


@get(
    "/bulletins/{bulletin_id:int}/bulletin.xlsx",
    opt=public(),
    include_in_schema=False,
    sync_to_thread=True,
)
def bulletin_xlsx(
    db: DB, optional_user: OptionalUserDep, locale: Locale, bulletin_id: FromPath[int]
) -> Response[bytes]:
    """The bulletin as an XLSX workbook (ranking sheet and method sheet)."""
    view = _viewable(db, optional_user, bulletin_id)
    rows = service.export_rows(view.results, lambda msg: gettext(msg, locale))
    content = service.to_xlsx(rows, view.bulletin.title, _method_lines(view, locale))
    return Response(
        content=content,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{_export_name(view, "xlsx")}"'},
    )


@get(
    "/bulletins/{bulletin_id:int}/bulletin.csv",
    opt=public(),
    include_in_schema=False,
    sync_to_thread=True,
)
def bulletin_csv(
    db: DB, optional_user: OptionalUserDep, locale: Locale, bulletin_id: FromPath[int]
) -> Response[bytes]:
    """The bulletin's ranked table as CSV."""
    view = _viewable(db, optional_user, bulletin_id)
    rows = service.export_rows(view.results, lambda msg: gettext(msg, locale))
    return Response(
        content=service.to_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{_export_name(view, "csv")}"'},
    )


route_handlers: list[Any] = [
    list_schemes,
    create_scheme,
    add_version,
    compute_assessment,
    get_assessment,
    import_values_api,
    list_bulletins_api,
    scoring_page,
    compute_form,
    import_form,
    create_bulletin,
    approve_bulletin,
    publish_bulletin,
    bulletins_page,
    bulletin_page,
    bulletin_xlsx,
    bulletin_csv,
]
