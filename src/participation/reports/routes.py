"""Reward-for-report: the public form (``/report``), tracking (``/report/track``), the pages of
officials and reward officers (``/reports/...``), their JSON API (``/api/reports/...``) and
Open311 GeoReport v2 (``/open311/v2/...``, in :mod:`participation.reports.open311`)."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery, JSONBody
from litestar.response import Redirect, Template
from openpyxl import Workbook
from sqlmodel import Session, col, select

from participation.accounts.models import User
from participation.accounts.roles import Role
from participation.core import audit
from participation.core.crypto import Vault
from participation.core.deps import DB, AppSettings, Client, Locale
from participation.core.errors import ForbiddenError, NotFoundError, ServiceError, describe
from participation.core.i18n import N_, gettext
from participation.core.timeutil import to_local
from participation.core.web import CurrentUser, UserDep, admits, public
from participation.core.web import render as render_page
from participation.geography.models import Level, Unit
from participation.media import service as media
from participation.media.models import Photo
from participation.reports import codes, open311, service
from participation.reports.models import (
    DISPLAY,
    Facility,
    Outcome,
    Report,
    RewardStatus,
    Status,
)
from participation.reports.schemas import (
    CategoryOut,
    ContactOut,
    FacilityIn,
    FacilityOut,
    LedgerRowOut,
    PayIn,
    PayoutOut,
    ReportDetail,
    ReportSummary,
    RewardOut,
    StaffPhoneIn,
    StaffPhoneOut,
    TariffEntryIn,
    TariffOut,
    TrackOut,
    TriageIn,
    VerificationOut,
    VerifyIn,
)
from participation.settings import Settings

FORM = RequestEncodingType.URL_ENCODED
MULTIPART = RequestEncodingType.MULTI_PART
VIEWERS = (Role.OFFICIAL, Role.ADMINISTRATOR, Role.REWARD_OFFICER)
VERIFIERS = (Role.OFFICIAL, Role.ADMINISTRATOR)
REWARDERS = (Role.REWARD_OFFICER,)
LEDGER_READERS = (Role.REWARD_OFFICER, Role.ADMINISTRATOR)
MAX_PHOTOS = 4
OWNER_KIND = "report"


# ---------------------------------------------------------------- photo access


def _photo_check(session: Session, user: CurrentUser | None, photo: Photo) -> bool:
    """Report photos: reward officers and administrators, officials within their scope."""
    if user is None or photo.owner_id is None:
        return False
    if user.role in (Role.ADMINISTRATOR.value, Role.REWARD_OFFICER.value):
        return True
    if user.role != Role.OFFICIAL.value:
        return False
    report = session.get(Report, photo.owner_id)
    if report is None:
        return False
    scope = service.scope_of(session, user)
    return scope is None or report.street_code in scope


media.register_access(OWNER_KIND, _photo_check)


# ---------------------------------------------------------------- helpers


def render(request: Request[Any, Any, Any], template: str, **context: Any) -> Template:
    """Render a reports page with the labels of stored codes (``display``)."""
    return render_page(request, template, display=DISPLAY, **context)


def base_url(request: Request[Any, Any, Any], settings: Settings) -> str:
    """The public address codes point to."""
    if settings.public_base_url:
        return settings.public_base_url.rstrip("/")
    return str(request.base_url).rstrip("/")


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


def _float(value: Any, field_name: str) -> float | None:
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError as exc:
        raise ServiceError(
            N_("%(value)s is not a number."), field=field_name, value=text[:20]
        ) from exc


def _text(data: dict[str, Any], name: str) -> str:
    value = data.get(name, "")
    if isinstance(value, list):
        value = value[-1] if value else ""
    return "" if value is None or isinstance(value, UploadFile) else str(value)


def _uploads(data: dict[str, Any], name: str) -> list[UploadFile]:
    value = data.get(name)
    items = value if isinstance(value, list) else [value]
    return [u for u in items if isinstance(u, UploadFile) and (u.filename or "").strip()]


def _summary(report: Report, names: dict[str, str]) -> ReportSummary:
    assert report.id is not None
    return ReportSummary(
        id=report.id,
        tracking_code=service.format_tracking_code(report.tracking_code),
        category_code=report.category_code,
        status=report.status,
        severity=report.severity,
        street_code=report.street_code,
        street_name=names.get(report.street_code or "", ""),
        created_at=report.created_at,
        duplicate_of_id=report.duplicate_of_id,
        has_contact=bool(report.reporter_phone_enc),
    )


def _reward_out(db: Session, report_id: int) -> RewardOut | None:
    reward = service.reward_of(db, report_id)
    if reward is None or reward.id is None:
        return None
    payout = service.payout_of(db, reward.id)
    return RewardOut(
        id=reward.id,
        status=reward.status,
        amount=reward.amount,
        tariff_amount=reward.tariff_amount,
        major=reward.major,
        month=reward.month,
        approved_by=reward.approved_by,
        approved_at=reward.approved_at,
        second_by=reward.second_by,
        second_at=reward.second_at,
        paid_at=payout.paid_at if payout else None,
    )


def _read_contact(
    db: Session,
    user: CurrentUser,
    report: Report,
    settings: Settings,
    client: str,
    reason: str,
) -> service.Contact | None:
    """The reporter's contact in plain for a reward officer, audited with the reason."""
    if not service.may_read_contact(user.role):
        raise ForbiddenError(
            N_("Only reward officers may see a reporter's phone and name."), field="contact"
        )
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(
            N_("Give the reason for reading the reporter's contact."), field="reason"
        )
    contact = service.contact_of(report, Vault(settings), plain=True)
    if contact is not None:
        assert report.id is not None
        audit.record(
            db,
            actor=user,
            action="read_reporter_contact",
            subject_type="report",
            subject_id=report.id,
            reason=reason[:200],
            client=client,
        )
    return contact


def _detail(
    db: Session,
    user: CurrentUser,
    report: Report,
    settings: Settings,
    locale: str,
    contact: service.Contact | None = None,
) -> ReportDetail:
    assert report.id is not None
    names = service.street_names(db, [report.street_code])
    if contact is None:
        contact = service.contact_of(report, Vault(settings), plain=False)
    facility = db.get(Facility, report.facility_id) if report.facility_id else None
    check = service.eligibility(db, settings, report)
    duplicates = [r.id for r in service.problem_reports(db, report) if r.id != report.id]
    return ReportDetail(
        **_summary(report, names).model_dump(),
        description=report.description,
        lat=report.lat,
        lon=report.lon,
        address=report.address,
        facility_code=facility.code if facility else None,
        source=report.source,
        duplicate_auto=report.duplicate_auto,
        duplicates=[d for d in duplicates if d is not None],
        photos=[media.url_of(p) for p in media.photos_of(db, OWNER_KIND, report.id)],
        verifications=[
            VerificationOut(
                outcome=v.outcome,
                severity=v.severity,
                duplicate_of_id=v.duplicate_of_id,
                note=v.note,
                official_id=v.official_id,
                created_at=v.created_at,
            )
            for v in service.verifications_of(db, report.id)
        ],
        reward=_reward_out(db, report.id),
        contact=ContactOut(**contact.__dict__) if contact else None,
        reward_eligible=check.eligible,
        reward_note=gettext(check.reason, locale, **check.params) if check.reason else "",
    )


def _category_outs(db: Session) -> list[CategoryOut]:
    prices = service.tariff(db)
    return [
        CategoryOut(
            code=c.code,
            name=c.name,
            name_zh=c.name_zh,
            severities=list(c.severities),
            tariff=prices.get(c.code, {}),
        )
        for c in service.categories(db)
    ]


def _facility_out(f: Facility, base: str) -> FacilityOut:
    assert f.id is not None
    return FacilityOut(
        id=f.id,
        code=f.code,
        kind=f.kind,
        name=f.name,
        lat=f.lat,
        lon=f.lon,
        street_code=f.street_code,
        categories=list(f.categories),
        url=codes.facility_url(base, f.code),
    )


def _user_names(db: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = db.exec(select(User.id, User.display_name).where(col(User.id).in_(sorted(ids)))).all()
    return {i: n for i, n in rows if i is not None}


# ---------------------------------------------------------------- public form


def _form_page(
    request: Request[Any, Any, Any],
    db: Session,
    settings: Settings,
    locale: str,
    values: dict[str, str],
    *,
    error: str = "",
    error_field: str = "",
    status_code: int = 200,
) -> Template:
    service.ensure_catalogue(db)
    db.commit()
    cats = service.categories(db)
    facility = None
    likely: list[str] = []
    if values.get("facility"):
        facility = db.exec(
            select(Facility).where(Facility.code == values["facility"].strip().upper())
        ).first()
        if facility is not None and facility.active:
            likely = list(facility.categories)
            values.setdefault("category", likely[0] if likely else "")
        else:
            facility = None
            error = error or gettext(
                N_("No facility has the service code %(code)s."), locale, code=values["facility"]
            )
            error_field = error_field or "facility"
            values["facility"] = ""
    ordered = [c for code in likely for c in cats if c.code == code]
    ordered += [c for c in cats if c.code not in likely]
    street_name = ""
    if facility is not None and facility.street_code:
        street_name = service.street_names(db, [facility.street_code]).get(facility.street_code, "")
    response = render(
        request,
        "reports/form.html",
        categories=ordered,
        likely=likely,
        facility=facility,
        facility_street=street_name,
        counties=_streets_by_county(db),
        values=values,
        error=error,
        error_field=error_field,
        boundaries=service.boundaries_loaded(db),
        loc=locale,
        max_photos=MAX_PHOTOS,
    )
    response.status_code = status_code
    return response


@get("/report", opt=public(), include_in_schema=False, sync_to_thread=True)
def report_form(
    request: Request[Any, Any, Any],
    db: DB,
    settings: AppSettings,
    locale: Locale,
    facility: FromQuery[str | None] = None,
    category: FromQuery[str | None] = None,
) -> Template:
    """The public report form (phone-sized); ``?facility=<code>`` pre-fills it from a city
    service code."""
    values = {"facility": (facility or "").strip()[:32]}
    if category:
        values["category"] = category.strip()[:32]
    return _form_page(request, db, settings, locale, values)


@post("/report/new", opt=public(), include_in_schema=False, sync_to_thread=True)
def report_submit(
    request: Request[Any, Any, Any],
    db: DB,
    settings: AppSettings,
    locale: Locale,
    data: Annotated[dict[str, Any], Body(media_type=MULTIPART)],
) -> Template | Redirect:
    """File a report with up to four photos; answers with the tracking code."""
    fields = (
        "category",
        "description",
        "lat",
        "lon",
        "street_code",
        "facility",
        "phone",
        "name",
        "address",
    )
    values = {k: _text(data, k).strip() for k in fields}
    try:
        uploads = _uploads(data, "photos")
        if len(uploads) > MAX_PHOTOS:
            raise ServiceError(N_("Attach at most %(n)s photos."), field="photos", n=MAX_PHOTOS)
        report = service.file_report(
            db,
            settings,
            service.ReportInput(
                category_code=values["category"],
                description=values["description"],
                lat=_float(values["lat"], "lat"),
                lon=_float(values["lon"], "lon"),
                street_code=values["street_code"],
                facility_code=values["facility"],
                phone=values["phone"],
                name=values["name"],
                address=values["address"],
            ),
        )
        assert report.id is not None
        for upload in uploads:
            media.store_photo(
                db,
                settings,
                upload.file.read(settings.max_upload_bytes + 1),
                owner_kind=OWNER_KIND,
                owner_id=report.id,
            )
        db.commit()
    except ServiceError as exc:
        db.rollback()
        message = describe(exc, lambda msg, **kw: gettext(msg, locale, **kw))
        values.pop("phone", None)
        return _form_page(
            request,
            db,
            settings,
            locale,
            values,
            error=message,
            error_field=exc.field or "",
            status_code=exc.status_code,
        )
    return Redirect(path=f"/report/track?code={report.tracking_code}&filed=1", status_code=303)


def _track_view(db: Session, report: Report, locale: str) -> dict[str, Any]:
    assert report.id is not None
    category = service.get_category(db, report.category_code) if report.category_code else None
    reward = service.reward_of(db, report.id)
    shown = reward if reward and reward.status != RewardStatus.AWAITING_SECOND.value else None
    outcome = {
        Status.CONFIRMED.value: Outcome.TRUE.value,
        Status.REJECTED.value: Outcome.FALSE.value,
        Status.DUPLICATE.value: Outcome.DUPLICATE.value,
    }.get(report.status)
    return {
        "tracking_code": service.format_tracking_code(report.tracking_code),
        "category": category.label(locale) if category else report.category_code,
        "status": report.status,
        "outcome": outcome,
        "created_at": report.created_at,
        "reward_status": shown.status if shown else None,
        "reward_amount": shown.amount if shown else None,
    }


@get(
    "/report/track",
    opt={**public(), "rate_limit": True},
    include_in_schema=False,
    sync_to_thread=True,
)
def report_track(
    request: Request[Any, Any, Any],
    db: DB,
    settings: AppSettings,
    locale: Locale,
    code: FromQuery[str | None] = None,
    filed: FromQuery[int | None] = None,
) -> Template:
    """Follow a report by its tracking code: status, verification outcome, the reward."""
    view = None
    error = ""
    status_code = 200
    if code:
        try:
            view = _track_view(db, service.by_tracking_code(db, code), locale)
        except NotFoundError as exc:
            error = describe(exc, lambda msg, **kw: gettext(msg, locale, **kw))
            status_code = 404
    response = render(
        request,
        "reports/track.html",
        view=view,
        code=(code or "")[:20],
        error=error,
        filed=bool(filed),
        tz=settings.timezone,
        to_local=to_local,
    )
    response.status_code = status_code
    return response


@get("/report/streets.geojson", opt=public(), include_in_schema=False, sync_to_thread=True)
def street_map(db: DB) -> Response[Any]:
    """Street boundaries (public GeoJSON) for the form's map pin; 404 when none are loaded."""
    collection = service.street_boundaries(db)
    if not collection["features"]:
        raise NotFoundError(N_("No street boundaries are loaded."), field="map")
    return Response(
        collection,
        media_type="application/geo+json",
        headers={"cache-control": "public, max-age=3600"},
    )


@get("/report/tariff", opt=public(), include_in_schema=False, sync_to_thread=True)
def public_tariff(
    request: Request[Any, Any, Any], db: DB, settings: AppSettings, locale: Locale
) -> Template:
    """The published tariff of rewards, with the four-eyes threshold and the monthly cap."""
    return render(
        request,
        "reports/tariff.html",
        categories=_category_outs(db),
        severities=service.SEVERITIES,
        threshold=settings.report_major_threshold,
        cap=settings.report_monthly_cap,
        loc=locale,
    )


# ---------------------------------------------------------------- public JSON


@get(
    "/api/reports/tariff",
    opt=public(),
    tags=["reports"],
    operation_id="getReportTariff",
    sync_to_thread=True,
)
def api_tariff(db: DB, settings: AppSettings) -> TariffOut:
    """The categories residents may report and the published reward (yuan) per severity."""
    return _tariff_out(db, settings)


def _tariff_out(db: Session, settings: Settings) -> TariffOut:
    return TariffOut(
        categories=_category_outs(db),
        major_threshold=settings.report_major_threshold,
        monthly_cap=settings.report_monthly_cap,
    )


@post(
    "/api/reports/tariff/entries",
    opt=admits(Role.ADMINISTRATOR),
    tags=["reports"],
    operation_id="publishTariffEntry",
    sync_to_thread=True,
    status_code=200,
)
def api_publish_tariff(
    db: DB, user: UserDep, settings: AppSettings, client: Client, data: JSONBody[TariffEntryIn]
) -> TariffOut:
    """Publish a new reward amount for a category at a severity (administrators; audited).
    Rewards already approved keep their amount."""
    entry = service.set_tariff(db, data.category_code, data.severity, data.amount)
    audit.record(
        db,
        actor=user,
        action="publish_tariff",
        subject_type="report_tariff",
        subject_id=f"{entry.category_code}/{entry.severity}",
        reason=f"{entry.amount} yuan",
        client=client,
    )
    db.commit()
    return _tariff_out(db, settings)


@get(
    "/api/reports/track/{code:str}",
    opt={**public(), "rate_limit": True},
    tags=["reports"],
    operation_id="trackReport",
    sync_to_thread=True,
)
def api_track(db: DB, locale: Locale, code: FromPath[str]) -> TrackOut:
    """A report's progress by its tracking code (no personal data)."""
    return TrackOut(**_track_view(db, service.by_tracking_code(db, code), locale))


# ---------------------------------------------------------------- staff JSON API


@get(
    "/api/reports",
    opt=admits(*VIEWERS),
    tags=["reports"],
    operation_id="listReports",
    sync_to_thread=True,
)
def api_list(
    db: DB,
    user: UserDep,
    status: FromQuery[str | None] = None,
    category: FromQuery[str | None] = None,
    street: FromQuery[str | None] = None,
    limit: FromQuery[int] = 100,
    offset: FromQuery[int] = 0,
) -> list[ReportSummary]:
    """Reports in the caller's scope, newest first (no reporter data)."""
    rows = service.list_reports(
        db,
        user,
        status=status,
        category=category,
        street=street,
        limit=max(1, min(limit, 500)),
        offset=max(0, min(offset, 10**9)),
    )
    names = service.street_names(db, [r.street_code for r in rows])
    return [_summary(r, names) for r in rows]


@get(
    "/api/reports/{report_id:int}",
    opt=admits(*VIEWERS),
    tags=["reports"],
    operation_id="getReport",
    sync_to_thread=True,
)
def api_get(
    db: DB, user: UserDep, settings: AppSettings, locale: Locale, report_id: FromPath[int]
) -> ReportDetail:
    """A report with verifications, duplicates, photos and reward; the contact masked (403
    outside an official's scope)."""
    report = service.report_for(db, user, report_id)
    return _detail(db, user, report, settings, locale)


@get(
    "/api/reports/{report_id:int}/contact",
    opt=admits(*REWARDERS),
    tags=["reports"],
    operation_id="readReporterContact",
    sync_to_thread=True,
)
def api_contact(
    db: DB,
    user: UserDep,
    settings: AppSettings,
    client: Client,
    report_id: FromPath[int],
    reason: FromQuery[str] = "",
) -> ContactOut:
    """The reporter's phone and name in plain (reward officers; ``reason`` required; audited)."""
    report = service.report_for(db, user, report_id)
    contact = _read_contact(db, user, report, settings, client, reason)
    if contact is None:
        raise NotFoundError(N_("The reporter left no contact."), field="contact")
    db.commit()
    return ContactOut(**contact.__dict__)


@post(
    "/api/reports/{report_id:int}/triage",
    opt=admits(*VERIFIERS),
    tags=["reports"],
    operation_id="triageReport",
    sync_to_thread=True,
    status_code=200,
)
def api_triage(
    db: DB,
    user: UserDep,
    settings: AppSettings,
    locale: Locale,
    report_id: FromPath[int],
    data: JSONBody[TriageIn],
) -> ReportDetail:
    """Accept a new report into the verification queue with its severity."""
    report = service.report_for(db, user, report_id)
    service.triage(
        db,
        report,
        user.id,
        severity=data.severity,
        category_code=data.category_code,
        street_code=data.street_code,
    )
    db.commit()
    return _detail(db, user, report, settings, locale)


@post(
    "/api/reports/{report_id:int}/verify",
    opt=admits(*VERIFIERS),
    tags=["reports"],
    operation_id="verifyReport",
    sync_to_thread=True,
    status_code=200,
)
def api_verify(
    db: DB,
    user: UserDep,
    settings: AppSettings,
    locale: Locale,
    report_id: FromPath[int],
    data: JSONBody[VerifyIn],
) -> ReportDetail:
    """Verify: ``true`` (属实), ``false`` (不属实) or ``duplicate`` (重复, ``duplicate_of``)."""
    report = service.report_for(db, user, report_id)
    _check_target_scope(db, user, data.duplicate_of)
    service.verify(
        db,
        report,
        user.id,
        data.outcome,
        severity=data.severity,
        duplicate_of=data.duplicate_of,
        note=data.note,
    )
    db.commit()
    return _detail(db, user, report, settings, locale)


def _check_target_scope(db: Session, user: CurrentUser, given: str | None) -> None:
    """An official links only to reports in their own scope."""
    text = (given or "").strip()
    if not text:
        return
    if service.is_id(text):
        target = db.get(Report, int(text))
    else:
        try:
            target = service.by_tracking_code(db, text)
        except NotFoundError:
            return
    if target is not None and target.id is not None:
        service.report_for(db, user, target.id)


@post(
    "/api/reports/{report_id:int}/reward",
    opt=admits(*REWARDERS),
    tags=["reports"],
    operation_id="approveReward",
    sync_to_thread=True,
    status_code=200,
)
def api_approve(
    db: DB, user: UserDep, settings: AppSettings, report_id: FromPath[int]
) -> RewardOut:
    """Approve the reward of a report verified as true (by the published tariff). A reward
    above the major threshold needs a second, different reward officer: the same call by them
    completes it. 409 when already approved or not eligible."""
    service.report_for(db, user, report_id)
    service.approve_reward(db, settings, report_id, user.id)
    db.commit()
    out = _reward_out(db, report_id)
    assert out is not None
    return out


@get(
    "/api/reports/rewards",
    opt=admits(*LEDGER_READERS),
    tags=["reports"],
    operation_id="listRewards",
    sync_to_thread=True,
)
def api_rewards(
    db: DB,
    settings: AppSettings,
    status: FromQuery[str | None] = None,
    month: FromQuery[str | None] = None,
) -> list[LedgerRowOut]:
    """The payout ledger (phones masked)."""
    return [_ledger_out(r, Vault(settings)) for r in service.ledger(db, status=status, month=month)]


def _ledger_out(row: service.LedgerRow, vault: Vault) -> LedgerRowOut:
    contact = service.contact_of(row.report, vault, plain=False)
    assert row.reward.id is not None and row.report.id is not None
    return LedgerRowOut(
        reward_id=row.reward.id,
        report_id=row.report.id,
        tracking_code=service.format_tracking_code(row.report.tracking_code),
        category_code=row.reward.category_code,
        severity=row.reward.severity,
        amount=row.reward.amount,
        status=row.reward.status,
        month=row.reward.month,
        approved_by=row.approved_by,
        second_by=row.second_by,
        paid_by=row.paid_by,
        paid_at=row.payout.paid_at if row.payout else None,
        reference=row.payout.reference if row.payout else "",
        phone_masked=contact.phone_masked if contact else "",
    )


@post(
    "/api/reports/rewards/{reward_id:int}/pay",
    opt=admits(*REWARDERS),
    tags=["reports"],
    operation_id="payReward",
    sync_to_thread=True,
    status_code=200,
)
def api_pay(db: DB, user: UserDep, reward_id: FromPath[int], data: JSONBody[PayIn]) -> PayoutOut:
    """Record the payment of an approved reward (exactly once; 409 when already paid)."""
    payout = service.pay_reward(db, reward_id, user.id, reference=data.reference)
    db.commit()
    return PayoutOut(
        reward_id=payout.reward_id,
        amount=payout.amount,
        reference=payout.reference,
        paid_at=payout.paid_at,
    )


@get(
    "/api/reports/facilities",
    opt=admits(*VIEWERS),
    tags=["reports"],
    operation_id="listFacilities",
    sync_to_thread=True,
)
def api_facilities(
    request: Request[Any, Any, Any], db: DB, user: UserDep, settings: AppSettings
) -> list[FacilityOut]:
    """Facilities with city service codes (in the caller's scope) and the URLs they open."""
    base = base_url(request, settings)
    return [_facility_out(f, base) for f in service.facilities(db, user)]


@post(
    "/api/reports/facilities/new",
    opt=admits(Role.ADMINISTRATOR),
    tags=["reports"],
    operation_id="createFacility",
    sync_to_thread=True,
    status_code=201,
)
def api_create_facility(
    request: Request[Any, Any, Any], db: DB, settings: AppSettings, data: JSONBody[FacilityIn]
) -> FacilityOut:
    """Register a facility and its service code (street resolved from boundaries if loaded)."""
    facility = service.add_facility(
        db,
        code=data.code,
        kind=data.kind,
        lat=data.lat,
        lon=data.lon,
        name=data.name,
        street_code=data.street_code,
        categories_=data.categories,
    )
    db.commit()
    return _facility_out(facility, base_url(request, settings))


@get(
    "/api/reports/staff-phones",
    opt=admits(Role.ADMINISTRATOR),
    tags=["reports"],
    operation_id="listStaffPhones",
    sync_to_thread=True,
)
def api_staff_phones(db: DB) -> list[StaffPhoneOut]:
    """Staff phones excluded from rewards (masked; only keyed hashes are stored)."""
    return [_staff_out(s) for s in service.staff_phones(db)]


def _staff_out(row: Any) -> StaffPhoneOut:
    return StaffPhoneOut(
        id=row.id,
        phone_masked=row.phone_masked,
        label=row.label,
        user_id=row.user_id,
        created_at=row.created_at,
    )


@post(
    "/api/reports/staff-phones/new",
    opt=admits(Role.ADMINISTRATOR),
    tags=["reports"],
    operation_id="addStaffPhone",
    sync_to_thread=True,
    status_code=201,
)
def api_add_staff_phone(
    db: DB, user: UserDep, settings: AppSettings, data: JSONBody[StaffPhoneIn]
) -> StaffPhoneOut:
    """Exclude a staff member's phone from rewards."""
    row = service.add_staff_phone(
        db, settings, data.phone, label=data.label, user_id=data.user_id, created_by=user.id
    )
    db.commit()
    return _staff_out(row)


# ---------------------------------------------------------------- staff pages


@get("/reports/admin", opt=admits(*VIEWERS), include_in_schema=False, sync_to_thread=True)
def queue_page(
    request: Request[Any, Any, Any],
    db: DB,
    user: UserDep,
    settings: AppSettings,
    locale: Locale,
    status: FromQuery[str | None] = None,
    category: FromQuery[str | None] = None,
) -> Template:
    """The triage queue: reports in the official's scope by status."""
    if status is None:
        status = Status.NEW.value if user.role != Role.REWARD_OFFICER.value else "confirmed"
    shown = "" if status == "all" else status
    rows = service.list_reports(db, user, status=shown or None, category=category or None)
    names = service.street_names(db, [r.street_code for r in rows])
    cats = {c.code: c.label(locale) for c in service.categories(db, active_only=False)}
    return render(
        request,
        "reports/queue.html",
        reports=[_summary(r, names) for r in rows],
        counts=service.count_by_status(db, user),
        statuses=[s.value for s in Status],
        status=status,
        category=category or "",
        categories=cats,
        tz=settings.timezone,
        to_local=to_local,
    )


def _detail_page(
    request: Request[Any, Any, Any],
    db: Session,
    user: CurrentUser,
    settings: Settings,
    locale: str,
    report_id: int,
    *,
    contact: service.Contact | None = None,
    notice: str = "",
    error: str = "",
    status_code: int = 200,
) -> Template:
    report = service.report_for(db, user, report_id)
    detail = _detail(db, user, report, settings, locale, contact)
    cats = service.categories(db, active_only=False)
    names = _user_names(
        db,
        {v.official_id for v in detail.verifications}
        | ({detail.reward.approved_by} if detail.reward else set())
        | ({detail.reward.second_by} if detail.reward and detail.reward.second_by else set()),
    )
    problem = service.problem_reports(db, report)
    prices = service.tariff(db).get(report.category_code, {})
    response = render(
        request,
        "reports/detail.html",
        r=detail,
        report=report,
        category=next((c for c in cats if c.code == report.category_code), None),
        categories=cats,
        problem=problem,
        names=names,
        prices=prices,
        severities=service.SEVERITIES,
        contact_plain=contact is not None,
        can_verify=user.role in {r.value for r in VERIFIERS},
        can_reward=user.role in {r.value for r in REWARDERS},
        threshold=settings.report_major_threshold,
        notice=notice,
        error=error,
        tz=settings.timezone,
        to_local=to_local,
        format_code=service.format_tracking_code,
    )
    response.status_code = status_code
    return response


@get(
    "/reports/admin/{report_id:int}",
    opt=admits(*VIEWERS),
    include_in_schema=False,
    sync_to_thread=True,
)
def detail_page(
    request: Request[Any, Any, Any],
    db: DB,
    user: UserDep,
    settings: AppSettings,
    locale: Locale,
    report_id: FromPath[int],
    notice: FromQuery[str | None] = None,
) -> Template:
    """One report: description, location, photos, duplicates, verification and reward."""
    return _detail_page(request, db, user, settings, locale, report_id, notice=notice or "")


def _action(
    request: Request[Any, Any, Any],
    db: Session,
    user: CurrentUser,
    settings: Settings,
    locale: str,
    report_id: int,
    run: Any,
    notice: str,
) -> Template | Redirect:
    try:
        run()
        db.commit()
    except ServiceError as exc:
        db.rollback()
        if isinstance(exc, ForbiddenError | NotFoundError) and exc.field == "report_id":
            raise
        message = describe(exc, lambda msg, **kw: gettext(msg, locale, **kw))
        return _detail_page(
            request,
            db,
            user,
            settings,
            locale,
            report_id,
            error=message,
            status_code=exc.status_code,
        )
    return Redirect(path=f"/reports/admin/{report_id}?notice={notice}", status_code=303)


@post(
    "/reports/admin/{report_id:int}/triage",
    opt=admits(*VERIFIERS),
    include_in_schema=False,
    sync_to_thread=True,
)
def triage_action(
    request: Request[Any, Any, Any],
    db: DB,
    user: UserDep,
    settings: AppSettings,
    locale: Locale,
    report_id: FromPath[int],
    data: Annotated[dict[str, Any], Body(media_type=FORM)],
) -> Template | Redirect:
    """Accept the report into the verification queue with a severity."""
    report = service.report_for(db, user, report_id)

    def run() -> None:
        service.triage(
            db,
            report,
            user.id,
            severity=_text(data, "severity"),
            category_code=_text(data, "category_code") or None,
            street_code=_text(data, "street_code") or None,
        )

    return _action(request, db, user, settings, locale, report_id, run, "triaged")


@post(
    "/reports/admin/{report_id:int}/verify",
    opt=admits(*VERIFIERS),
    include_in_schema=False,
    sync_to_thread=True,
)
def verify_action(
    request: Request[Any, Any, Any],
    db: DB,
    user: UserDep,
    settings: AppSettings,
    locale: Locale,
    report_id: FromPath[int],
    data: Annotated[dict[str, Any], Body(media_type=FORM)],
) -> Template | Redirect:
    """Verify: 属实, 不属实 or 重复 (linked to an earlier report)."""
    report = service.report_for(db, user, report_id)
    target = _text(data, "duplicate_of").strip()

    def run() -> None:
        _check_target_scope(db, user, target)
        service.verify(
            db,
            report,
            user.id,
            _text(data, "outcome"),
            severity=_text(data, "severity") or None,
            duplicate_of=target or None,
            note=_text(data, "note"),
        )

    return _action(request, db, user, settings, locale, report_id, run, "verified")


@post(
    "/reports/admin/{report_id:int}/unlink",
    opt=admits(*VERIFIERS),
    include_in_schema=False,
    sync_to_thread=True,
)
def unlink_action(
    request: Request[Any, Any, Any],
    db: DB,
    user: UserDep,
    settings: AppSettings,
    client: Client,
    locale: Locale,
    report_id: FromPath[int],
) -> Template | Redirect:
    """Not a duplicate after all: unlink the report from the earlier one (audited)."""
    report = service.report_for(db, user, report_id)

    def run() -> None:
        previous = report.duplicate_of_id
        service.unlink_duplicate(db, report)
        audit.record(
            db,
            actor=user,
            action="unlink_duplicate",
            subject_type="report",
            subject_id=report_id,
            reason=f"was linked to report {previous}",
            client=client,
        )

    return _action(request, db, user, settings, locale, report_id, run, "unlinked")


@post(
    "/reports/admin/{report_id:int}/reveal",
    opt=admits(*REWARDERS),
    include_in_schema=False,
    sync_to_thread=True,
    status_code=200,
)
def reveal_action(
    request: Request[Any, Any, Any],
    db: DB,
    user: UserDep,
    settings: AppSettings,
    client: Client,
    locale: Locale,
    report_id: FromPath[int],
    data: Annotated[dict[str, Any], Body(media_type=FORM)],
) -> Template:
    """Show the reporter's phone and name to a reward officer (reason required; audited)."""
    report = service.report_for(db, user, report_id)
    try:
        contact = _read_contact(db, user, report, settings, client, _text(data, "reason"))
    except ServiceError as exc:
        message = describe(exc, lambda msg, **kw: gettext(msg, locale, **kw))
        return _detail_page(
            request, db, user, settings, locale, report_id, error=message, status_code=400
        )
    db.commit()
    return _detail_page(request, db, user, settings, locale, report_id, contact=contact)


@post(
    "/reports/admin/{report_id:int}/reward",
    opt=admits(*REWARDERS),
    include_in_schema=False,
    sync_to_thread=True,
)
def reward_action(
    request: Request[Any, Any, Any],
    db: DB,
    user: UserDep,
    settings: AppSettings,
    locale: Locale,
    report_id: FromPath[int],
) -> Template | Redirect:
    """Approve the report's reward (first approval or the second officer's)."""
    service.report_for(db, user, report_id)

    def run() -> None:
        service.approve_reward(db, settings, report_id, user.id)

    return _action(request, db, user, settings, locale, report_id, run, "rewarded")


@get(
    "/reports/admin/rewards",
    opt=admits(*LEDGER_READERS),
    include_in_schema=False,
    sync_to_thread=True,
)
def rewards_page(
    request: Request[Any, Any, Any],
    db: DB,
    settings: AppSettings,
    locale: Locale,
    status: FromQuery[str | None] = None,
    month: FromQuery[str | None] = None,
    notice: FromQuery[str | None] = None,
) -> Template:
    """The payout ledger: rewards awaiting a second approval, approved, paid."""
    vault = Vault(settings)
    rows = service.ledger(db, status=status or None, month=month or None)
    return render(
        request,
        "reports/rewards.html",
        rows=[_ledger_out(r, vault) for r in rows],
        status=status or "",
        month=month or "",
        statuses=[s.value for s in RewardStatus],
        notice=notice or "",
        total=sum(r.reward.amount for r in rows),
        categories={c.code: c.label(locale) for c in service.categories(db, active_only=False)},
        tz=settings.timezone,
        to_local=to_local,
    )


@post(
    "/reports/admin/rewards/{reward_id:int}/pay",
    opt=admits(*REWARDERS),
    include_in_schema=False,
    sync_to_thread=True,
)
def pay_action(
    db: DB,
    user: UserDep,
    reward_id: FromPath[int],
    data: Annotated[dict[str, Any], Body(media_type=FORM)],
) -> Redirect:
    """Record the payment of an approved reward."""
    service.pay_reward(db, reward_id, user.id, reference=_text(data, "reference"))
    db.commit()
    return Redirect(path="/reports/admin/rewards?notice=paid", status_code=303)


LEDGER_HEADER = (
    N_("Reward"),
    N_("Report"),
    N_("Tracking code"),
    N_("Category"),
    N_("Severity"),
    N_("Amount (yuan)"),
    N_("Status"),
    N_("Month"),
    N_("Approved by"),
    N_("Second approval"),
    N_("Paid at"),
    N_("Reference"),
    N_("Phone"),
    N_("Name"),
)


def _ledger_table(
    db: Session,
    user: CurrentUser,
    settings: Settings,
    client: str,
    locale: str,
    status: str | None,
    month: str | None,
    reveal: bool,
) -> list[list[Any]]:
    plain = reveal and service.may_read_contact(user.role)
    vault = Vault(settings)
    labels = {c.code: c.label(locale) for c in service.categories(db, active_only=False)}
    table: list[list[Any]] = [[gettext(h, locale) for h in LEDGER_HEADER]]
    for row in service.ledger(db, status=status, month=month):
        contact = service.contact_of(row.report, vault, plain=plain)
        if plain and contact is not None:
            assert row.report.id is not None
            audit.record(
                db,
                actor=user,
                action="export_reporter_contact",
                subject_type="report",
                subject_id=row.report.id,
                reason="finance export",
                client=client,
            )
        paid = to_local(row.payout.paid_at, settings.timezone) if row.payout else None
        table.append(
            [
                row.reward.id,
                row.report.id,
                service.format_tracking_code(row.report.tracking_code),
                labels.get(row.reward.category_code, row.reward.category_code),
                gettext(DISPLAY[row.reward.severity], locale),
                row.reward.amount,
                gettext(DISPLAY[row.reward.status], locale),
                row.reward.month,
                row.approved_by,
                row.second_by,
                paid.strftime("%Y-%m-%d %H:%M") if paid else "",
                row.payout.reference if row.payout else "",
                (contact.phone if plain else contact.phone_masked) if contact else "",
                (contact.name if plain else contact.name_masked) if contact else "",
            ]
        )
    return table


@get(
    "/reports/admin/rewards/export.csv",
    opt=admits(*LEDGER_READERS),
    include_in_schema=False,
    sync_to_thread=True,
)
def export_csv(
    db: DB,
    user: UserDep,
    settings: AppSettings,
    client: Client,
    locale: Locale,
    status: FromQuery[str | None] = None,
    month: FromQuery[str | None] = None,
    reveal: FromQuery[int] = 0,
) -> Response[bytes]:
    """The ledger as CSV for the finance office (phones plain only for reward officers asking
    ``reveal=1``, each row audited)."""
    table = _ledger_table(db, user, settings, client, locale, status, month, bool(reveal))
    db.commit()
    buf = io.StringIO()
    csv.writer(buf).writerows(table)
    return Response(
        ("\ufeff" + buf.getvalue()).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="report-rewards.csv"'},
    )


@get(
    "/reports/admin/rewards/export.xlsx",
    opt=admits(*LEDGER_READERS),
    include_in_schema=False,
    sync_to_thread=True,
)
def export_xlsx(
    db: DB,
    user: UserDep,
    settings: AppSettings,
    client: Client,
    locale: Locale,
    status: FromQuery[str | None] = None,
    month: FromQuery[str | None] = None,
    reveal: FromQuery[int] = 0,
) -> Response[bytes]:
    """The ledger as an Excel workbook for the finance office."""
    table = _ledger_table(db, user, settings, client, locale, status, month, bool(reveal))
    db.commit()
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "rewards"
    for row in table:
        sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return Response(
        buf.getvalue(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"content-disposition": 'attachment; filename="report-rewards.xlsx"'},
    )


@get("/reports/admin/tariff", opt=admits(*VIEWERS), include_in_schema=False, sync_to_thread=True)
def staff_tariff(
    request: Request[Any, Any, Any], db: DB, settings: AppSettings, locale: Locale
) -> Template:
    """The published tariff, as officials see it."""
    return render(
        request,
        "reports/tariff.html",
        categories=_category_outs(db),
        severities=service.SEVERITIES,
        threshold=settings.report_major_threshold,
        cap=settings.report_monthly_cap,
        loc=locale,
        staff=True,
    )


@get(
    "/reports/admin/staff-phones",
    opt=admits(Role.ADMINISTRATOR),
    include_in_schema=False,
    sync_to_thread=True,
)
def staff_phones_page(
    request: Request[Any, Any, Any], db: DB, error: FromQuery[str | None] = None
) -> Template:
    """Staff phones excluded from rewards."""
    return render(
        request, "reports/staff_phones.html", rows=service.staff_phones(db), error=error or ""
    )


@post(
    "/reports/admin/staff-phones/add",
    opt=admits(Role.ADMINISTRATOR),
    include_in_schema=False,
    sync_to_thread=True,
)
def staff_phone_add(
    request: Request[Any, Any, Any],
    db: DB,
    user: UserDep,
    settings: AppSettings,
    locale: Locale,
    data: Annotated[dict[str, Any], Body(media_type=FORM)],
) -> Template | Redirect:
    """Add a staff phone."""
    try:
        service.add_staff_phone(
            db, settings, _text(data, "phone"), label=_text(data, "label"), created_by=user.id
        )
        db.commit()
    except ServiceError as exc:
        db.rollback()
        response = render(
            request,
            "reports/staff_phones.html",
            rows=service.staff_phones(db),
            error=describe(exc, lambda msg, **kw: gettext(msg, locale, **kw)),
        )
        response.status_code = exc.status_code
        return response
    return Redirect(path="/reports/admin/staff-phones", status_code=303)


@post(
    "/reports/admin/staff-phones/{staff_phone_id:int}/delete",
    opt=admits(Role.ADMINISTRATOR),
    include_in_schema=False,
    sync_to_thread=True,
)
def staff_phone_delete(db: DB, staff_phone_id: FromPath[int]) -> Redirect:
    """Remove a staff phone."""
    service.remove_staff_phone(db, staff_phone_id)
    db.commit()
    return Redirect(path="/reports/admin/staff-phones", status_code=303)


# ---------------------------------------------------------------- city service codes


@get("/reports/facilities", opt=admits(*VIEWERS), include_in_schema=False, sync_to_thread=True)
def facilities_page(
    request: Request[Any, Any, Any],
    db: DB,
    user: UserDep,
    settings: AppSettings,
    kind: FromQuery[str | None] = None,
) -> Template:
    """Facilities with their city service codes."""
    base = base_url(request, settings)
    rows = service.facilities(db, user, kind or None)
    names = service.street_names(db, [f.street_code for f in rows])
    return render(
        request,
        "reports/facilities.html",
        rows=rows,
        names=names,
        kinds=service.FACILITY_KINDS,
        kind=kind or "",
        urls={f.code: codes.facility_url(base, f.code) for f in rows},
    )


@get(
    "/reports/facilities/sheet",
    opt=admits(*VIEWERS),
    include_in_schema=False,
    sync_to_thread=True,
)
def sheet_page(
    request: Request[Any, Any, Any],
    db: DB,
    user: UserDep,
    settings: AppSettings,
    kind: FromQuery[str | None] = None,
) -> Template:
    """A printable page of city service codes (SVG), three across."""
    base = base_url(request, settings)
    rows = service.facilities(db, user, kind or None)
    names = service.street_names(db, [f.street_code for f in rows])
    items = [
        (f, codes.facility_url(base, f.code), codes.inline_svg(codes.facility_url(base, f.code)))
        for f in rows
    ]
    return render(request, "reports/sheet.html", items=items, names=names, kind=kind or "")


@get(
    "/reports/facilities/sheet.svg",
    opt=admits(*VIEWERS),
    include_in_schema=False,
    sync_to_thread=True,
)
def sheet_svg(
    request: Request[Any, Any, Any],
    db: DB,
    user: UserDep,
    settings: AppSettings,
    locale: Locale,
    kind: FromQuery[str | None] = None,
) -> Response[bytes]:
    """An A4 SVG sheet of city service codes for printing."""
    base = base_url(request, settings)
    rows = service.facilities(db, user, kind or None)
    items = [
        (f, codes.facility_url(base, f.code), f.name or gettext(DISPLAY[f.kind], locale))
        for f in rows
    ]
    title = gettext(N_("Scan to report a problem (city service code)"), locale)
    return Response(
        codes.sheet_svg(items, title),
        media_type="image/svg+xml",
        headers={"content-disposition": 'inline; filename="service-codes.svg"'},
    )


def _facility_for(db: Session, user: CurrentUser, code: str) -> Facility:
    facility = service.get_facility(db, code)
    scope = service.scope_of(db, user)
    if scope is not None and facility.street_code not in scope:
        raise ForbiddenError(N_("This facility is outside your area."), field="code")
    return facility


@get(
    "/reports/facilities/{code:str}/qr.png",
    opt=admits(*VIEWERS),
    include_in_schema=False,
    sync_to_thread=True,
)
def facility_png(
    request: Request[Any, Any, Any],
    db: DB,
    user: UserDep,
    settings: AppSettings,
    code: FromPath[str],
) -> Response[bytes]:
    """The PNG QR code of one facility."""
    facility = _facility_for(db, user, code)
    url = codes.facility_url(base_url(request, settings), facility.code)
    return Response(
        codes.png(url),
        media_type="image/png",
        headers={"content-disposition": f'inline; filename="{facility.code}.png"'},
    )


@get(
    "/reports/facilities/{code:str}/qr.svg",
    opt=admits(*VIEWERS),
    include_in_schema=False,
    sync_to_thread=True,
)
def facility_svg(
    request: Request[Any, Any, Any],
    db: DB,
    user: UserDep,
    settings: AppSettings,
    code: FromPath[str],
) -> Response[bytes]:
    """The SVG QR code of one facility."""
    facility = _facility_for(db, user, code)
    url = codes.facility_url(base_url(request, settings), facility.code)
    return Response(codes.svg(url), media_type="image/svg+xml")


route_handlers: list[Any] = [
    report_form,
    report_submit,
    report_track,
    street_map,
    public_tariff,
    api_tariff,
    api_publish_tariff,
    api_track,
    api_list,
    api_get,
    api_contact,
    api_triage,
    api_verify,
    api_approve,
    api_rewards,
    api_pay,
    api_facilities,
    api_create_facility,
    api_staff_phones,
    api_add_staff_phone,
    queue_page,
    detail_page,
    triage_action,
    verify_action,
    unlink_action,
    reveal_action,
    reward_action,
    rewards_page,
    pay_action,
    export_csv,
    export_xlsx,
    staff_tariff,
    staff_phones_page,
    staff_phone_add,
    staff_phone_delete,
    facilities_page,
    sheet_page,
    sheet_svg,
    facility_png,
    facility_svg,
    *open311.route_handlers,
]
