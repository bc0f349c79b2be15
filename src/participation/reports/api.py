"""The JSON API of reward-for-report (``/api/reports/...``), documented in /schema."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from participation.accounts.roles import Role
from participation.core import audit
from participation.core.crypto import Vault
from participation.core.deps import DB, AppSettings, Client, Locale
from participation.core.errors import NotFoundError
from participation.core.i18n import N_
from participation.core.web import UserDep, admits, public
from participation.reports import service
from participation.reports.schemas import (
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
    VerifyIn,
)
from participation.reports.web import (
    LEDGER_READERS,
    REWARDERS,
    VERIFIERS,
    VIEWERS,
    base_url,
    check_target_scope,
    detail_out,
    facility_out,
    ledger_out,
    read_contact,
    reward_out,
    staff_out,
    summary_out,
    tariff_out,
    track_view,
)


@get(
    "/api/reports/tariff",
    opt=public(),
    tags=["reports"],
    operation_id="getReportTariff",
    sync_to_thread=True,
)
def api_tariff(db: DB, settings: AppSettings) -> TariffOut:
    """The categories residents may report and the published reward (yuan) per severity."""
    return tariff_out(db, settings)


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
    return tariff_out(db, settings)


@get(
    "/api/reports/track/{code:str}",
    opt={**public(), "rate_limit": True},
    tags=["reports"],
    operation_id="trackReport",
    sync_to_thread=True,
)
def api_track(db: DB, locale: Locale, code: FromPath[str]) -> TrackOut:
    """A report's progress by its tracking code (no personal data)."""
    return TrackOut(**track_view(db, service.by_tracking_code(db, code), locale))


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
    return [summary_out(r, names) for r in rows]


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
    return detail_out(db, user, report, settings, locale)


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
    contact = read_contact(db, user, report, settings, client, reason)
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
    return detail_out(db, user, report, settings, locale)


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
    check_target_scope(db, user, data.duplicate_of)
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
    return detail_out(db, user, report, settings, locale)


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
    out = reward_out(db, report_id)
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
    return [ledger_out(r, Vault(settings)) for r in service.ledger(db, status=status, month=month)]


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
    return [facility_out(f, base) for f in service.facilities(db, user)]


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
    return facility_out(facility, base_url(request, settings))


@get(
    "/api/reports/staff-phones",
    opt=admits(Role.ADMINISTRATOR),
    tags=["reports"],
    operation_id="listStaffPhones",
    sync_to_thread=True,
)
def api_staff_phones(db: DB) -> list[StaffPhoneOut]:
    """Staff phones excluded from rewards (masked; only keyed hashes are stored)."""
    return [staff_out(s) for s in service.staff_phones(db)]


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
    return staff_out(row)


route_handlers: list[Any] = [
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
]
