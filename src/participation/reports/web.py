"""Shared edge helpers of the reports domain: roles, photo access, response shapes and the
small form parsers used by both the pages (:mod:`.pages`) and the JSON API (:mod:`.api`)."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.response import Template
from sqlmodel import Session, col, select

from participation.accounts.models import User
from participation.accounts.roles import Role
from participation.core import audit
from participation.core.crypto import Vault
from participation.core.errors import ForbiddenError, NotFoundError, ServiceError
from participation.core.i18n import N_, gettext
from participation.core.web import CurrentUser
from participation.core.web import render as render_page
from participation.geography.models import Level, Unit
from participation.media import service as media
from participation.media.models import Photo
from participation.reports import codes, service
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
    FacilityOut,
    LedgerRowOut,
    ReportDetail,
    ReportSummary,
    RewardOut,
    StaffPhoneOut,
    TariffOut,
    VerificationOut,
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


def render(request: Request[Any, Any, Any], template: str, **context: Any) -> Template:
    """Render a reports page with the labels of stored codes (``display``)."""
    return render_page(request, template, display=DISPLAY, **context)


def base_url(request: Request[Any, Any, Any], settings: Settings) -> str:
    """The public address codes point to."""
    if settings.public_base_url:
        return settings.public_base_url.rstrip("/")
    return str(request.base_url).rstrip("/")


def streets_by_county(db: Session) -> list[tuple[Unit, list[Unit]]]:
    """Streets grouped under their counties, for the street choice of the form."""
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


def form_float(value: Any, field_name: str) -> float | None:
    """A number from a form field (empty: None); 400 naming the field otherwise."""
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError as exc:
        raise ServiceError(
            N_("%(value)s is not a number."), field=field_name, value=text[:20]
        ) from exc


def form_text(data: dict[str, Any], name: str) -> str:
    """The text of a form field (the last value when repeated; files ignored)."""
    value = data.get(name, "")
    if isinstance(value, list):
        value = value[-1] if value else ""
    return "" if value is None or isinstance(value, UploadFile) else str(value)


def form_uploads(data: dict[str, Any], name: str) -> list[UploadFile]:
    """The files chosen in a multipart field (empty parts left out)."""
    value = data.get(name)
    items = value if isinstance(value, list) else [value]
    return [u for u in items if isinstance(u, UploadFile) and (u.filename or "").strip()]


def summary_out(report: Report, names: dict[str, str]) -> ReportSummary:
    """A report as listed (no reporter data)."""
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


def reward_out(db: Session, report_id: int) -> RewardOut | None:
    """The reward of a report with its payment date, or None."""
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


def read_contact(
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


def detail_out(
    db: Session,
    user: CurrentUser,
    report: Report,
    settings: Settings,
    locale: str,
    contact: service.Contact | None = None,
) -> ReportDetail:
    """A report with everything officials see; the contact masked unless given plain."""
    assert report.id is not None
    names = service.street_names(db, [report.street_code])
    if contact is None:
        contact = service.contact_of(report, Vault(settings), plain=False)
    facility = db.get(Facility, report.facility_id) if report.facility_id else None
    check = service.eligibility(db, settings, report)
    duplicates = [r.id for r in service.problem_reports(db, report) if r.id != report.id]
    return ReportDetail(
        **summary_out(report, names).model_dump(),
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
        reward=reward_out(db, report.id),
        contact=ContactOut(**contact.__dict__) if contact else None,
        reward_eligible=check.eligible,
        reward_note=gettext(check.reason, locale, **check.params) if check.reason else "",
    )


def category_outs(db: Session) -> list[CategoryOut]:
    """The active categories with their published tariff."""
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


def facility_out(f: Facility, base: str) -> FacilityOut:
    """A facility with the absolute URL its code opens."""
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


def user_names(db: Session, ids: set[int]) -> dict[int, str]:
    """Display names of user ids."""
    if not ids:
        return {}
    rows = db.exec(select(User.id, User.display_name).where(col(User.id).in_(sorted(ids)))).all()
    return {i: n for i, n in rows if i is not None}


def track_view(db: Session, report: Report, locale: str) -> dict[str, Any]:
    """What a tracking code reveals: progress, outcome and an approved reward."""
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


def tariff_out(db: Session, settings: Settings) -> TariffOut:
    """The published tariff with the four-eyes threshold and the monthly cap."""
    return TariffOut(
        categories=category_outs(db),
        major_threshold=settings.report_major_threshold,
        monthly_cap=settings.report_monthly_cap,
    )


def check_target_scope(db: Session, user: CurrentUser, given: str | None) -> None:
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


def ledger_out(row: service.LedgerRow, vault: Vault) -> LedgerRowOut:
    """A ledger row for pages and the API (phone masked)."""
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


def staff_out(row: Any) -> StaffPhoneOut:
    """A staff phone as shown (masked)."""
    return StaffPhoneOut(
        id=row.id,
        phone_masked=row.phone_masked,
        label=row.label,
        user_id=row.user_id,
        created_at=row.created_at,
    )
