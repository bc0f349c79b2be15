"""Pages of reward-for-report: the public form (``/report``), tracking (``/report/track``)
and tariff, the officials' and reward officers' pages (``/reports/...``) and the city
service codes (QR sheets, PNG/SVG)."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Template
from openpyxl import Workbook
from sqlmodel import Session, select

from participation.accounts.roles import Role
from participation.core import audit
from participation.core.crypto import Vault
from participation.core.deps import DB, AppSettings, Client, Locale
from participation.core.errors import ForbiddenError, NotFoundError, ServiceError, describe
from participation.core.i18n import N_, gettext
from participation.core.timeutil import to_local
from participation.core.web import CurrentUser, UserDep, admits, public
from participation.media import service as media
from participation.reports import codes, service
from participation.reports.models import (
    DISPLAY,
    Facility,
    RewardStatus,
    Status,
)
from participation.reports.web import (
    FORM,
    LEDGER_READERS,
    MAX_PHOTOS,
    MULTIPART,
    OWNER_KIND,
    REWARDERS,
    VERIFIERS,
    VIEWERS,
    base_url,
    category_outs,
    check_target_scope,
    detail_out,
    form_float,
    form_text,
    form_uploads,
    ledger_out,
    read_contact,
    render,
    streets_by_county,
    summary_out,
    track_view,
    user_names,
)
from participation.settings import Settings


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
    if not service.categories(db, active_only=False):
        service.ensure_catalogue(db)  # a fresh installation: the default categories and tariff
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
        counties=streets_by_county(db),
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
    values = {k: form_text(data, k).strip() for k in fields}
    try:
        uploads = form_uploads(data, "photos")
        if len(uploads) > MAX_PHOTOS:
            raise ServiceError(N_("Attach at most %(n)s photos."), field="photos", n=MAX_PHOTOS)
        report = service.file_report(
            db,
            settings,
            service.ReportInput(
                category_code=values["category"],
                description=values["description"],
                lat=form_float(values["lat"], "lat"),
                lon=form_float(values["lon"], "lon"),
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
            view = track_view(db, service.by_tracking_code(db, code), locale)
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
        categories=category_outs(db),
        severities=service.SEVERITIES,
        threshold=settings.report_major_threshold,
        cap=settings.report_monthly_cap,
        loc=locale,
    )


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
        reports=[summary_out(r, names) for r in rows],
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
    detail = detail_out(db, user, report, settings, locale, contact)
    cats = service.categories(db, active_only=False)
    names = user_names(
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
            severity=form_text(data, "severity"),
            category_code=form_text(data, "category_code") or None,
            street_code=form_text(data, "street_code") or None,
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
    target = form_text(data, "duplicate_of").strip()

    def run() -> None:
        check_target_scope(db, user, target)
        service.verify(
            db,
            report,
            user.id,
            form_text(data, "outcome"),
            severity=form_text(data, "severity") or None,
            duplicate_of=target or None,
            note=form_text(data, "note"),
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
        contact = read_contact(db, user, report, settings, client, form_text(data, "reason"))
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
        rows=[ledger_out(r, vault) for r in rows],
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
    service.pay_reward(db, reward_id, user.id, reference=form_text(data, "reference"))
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
        categories=category_outs(db),
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
            db,
            settings,
            form_text(data, "phone"),
            label=form_text(data, "label"),
            created_by=user.id,
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
]
