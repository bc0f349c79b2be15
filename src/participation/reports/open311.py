"""Open311 GeoReport v2 (JSON) over the reports, for existing citizen-reporting apps.

* ``GET  /open311/v2/services.json`` — the categories as services;
* ``GET  /open311/v2/services/{code}.json`` — a service definition (its attributes);
* ``POST /open311/v2/requests.json`` — file a report (form-encoded or JSON): ``service_code``,
  ``lat``/``long`` (or ``attribute[facility]``), ``description``, ``media_url``, ``phone``,
  ``first_name``/``last_name``, ``address_string`` → ``[{"service_request_id", "token",
  "service_notice"}]``; ``token`` is the reporter's private tracking code;
* ``GET  /open311/v2/requests.json`` — filters ``service_request_id`` (comma-separated),
  ``service_code``, ``start_date``, ``end_date`` (ISO 8601), ``status`` (``open``/``closed``);
  without dates the last 90 days, at most 1000 requests;
* ``GET  /open311/v2/requests/{id}.json`` — one request.

Responses carry no personal data (no contact; phone-like numbers in descriptions are masked).
Errors are the spec's ``[{"code": <HTTP status>, "description": "..."}]``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import anyio
from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery
from pydantic import BaseModel
from sqlmodel import Session, col, select

from participation.core.deps import DB, AppSettings, Locale
from participation.core.errors import ServiceError, describe
from participation.core.i18n import N_, gettext
from participation.core.timeutil import utcnow
from participation.core.web import public
from participation.reports import service
from participation.reports.models import Category, Report, Status
from participation.settings import Settings

OPEN_STATUSES = (Status.NEW.value, Status.TRIAGED.value)
MAX_RESULTS = 1000
DEFAULT_DAYS = 90
FACILITY_ATTRIBUTE = "facility"


class Open311Error(BaseModel):
    """A GeoReport v2 error: errors are answered as a list of these."""

    code: int
    description: str


OPEN311 = {**public(), "rate_limit": True, "error_body": list[Open311Error]}


def _error(status: int, description: str) -> Response[Any]:
    return Response([{"code": status, "description": description}], status_code=status)


def _guard(locale: str, run: Callable[[], Any], status_code: int = 200) -> Response[Any]:
    try:
        return Response(run(), status_code=status_code)
    except ServiceError as exc:
        text = describe(exc, lambda msg, **kw: gettext(msg, locale, **kw))
        if exc.field:
            text = f"{exc.field}: {text}"
        return _error(exc.status_code, text)


def _service(c: Category, locale: str) -> dict[str, Any]:
    return {
        "service_code": c.code,
        "service_name": c.label(locale),
        "description": c.description or c.label("zh_CN" if locale != "zh_CN" else "en"),
        "metadata": True,
        "type": "realtime",
        "keywords": ",".join([c.name, c.name_zh]),
        "group": c.service_group,
    }


@get(
    "/open311/v2/services.json",
    opt=OPEN311,
    tags=["open311"],
    operation_id="open311Services",
    sync_to_thread=True,
)
def services(db: DB, locale: Locale) -> Response[Any]:
    """GeoReport v2 service list: one service per report category."""
    return Response([_service(c, locale) for c in service.categories(db)])


@get(
    "/open311/v2/services/{code:str}",
    opt=OPEN311,
    tags=["open311"],
    operation_id="open311ServiceDefinition",
    sync_to_thread=True,
)
def service_definition(db: DB, locale: Locale, code: FromPath[str]) -> Response[Any]:
    """GeoReport v2 service definition (``/services/{service_code}.json``): the optional
    ``facility`` attribute (a city service code)."""
    if not code.endswith(".json"):
        return _error(404, gettext(N_("Only the JSON format is offered."), locale))
    category = db.get(Category, code.removesuffix(".json"))
    if category is None or not category.active:
        return _error(
            404, gettext(N_("Unknown category %(code)s."), locale, code=code.removesuffix(".json"))
        )
    return Response(
        {
            "service_code": category.code,
            "attributes": [
                {
                    "variable": True,
                    "code": FACILITY_ATTRIBUTE,
                    "datatype": "string",
                    "required": False,
                    "datatype_description": gettext(
                        N_("The city service code printed on the facility"), locale
                    ),
                    "order": 1,
                    "description": gettext(N_("Facility (city service code)"), locale),
                }
            ],
        }
    )


def _number(body: dict[str, Any], name: str) -> float | None:
    value = body.get(name)
    if value is None or str(value).strip() == "":
        return None
    try:
        return float(str(value))
    except ValueError as exc:
        raise ServiceError(
            N_("%(value)s is not a number."), field=name, value=str(value)[:20]
        ) from exc


def _attribute(body: dict[str, Any], name: str) -> str:
    attrs = body.get("attribute")
    if isinstance(attrs, dict) and attrs.get(name):
        return str(attrs[name])
    return str(body.get(f"attribute[{name}]") or "")


def _create(session: Session, settings: Settings, body: dict[str, Any]) -> list[dict[str, Any]]:
    code = str(body.get("service_code") or "").strip()
    if not code:
        raise ServiceError(N_("service_code is required."), field="service_code")
    facility = _attribute(body, FACILITY_ATTRIBUTE).strip()
    lat, lon = _number(body, "lat"), _number(body, "long")
    if (lat is None or lon is None) and not facility:
        raise ServiceError(N_("Give lat and long (or a facility)."), field="lat")
    name = " ".join(
        str(body.get(k) or "").strip() for k in ("last_name", "first_name") if body.get(k)
    )
    report = service.file_report(
        session,
        settings,
        service.ReportInput(
            category_code=code,
            description=str(body.get("description") or ""),
            lat=lat,
            lon=lon,
            facility_code=facility,
            phone=str(body.get("phone") or ""),
            name=name,
            address=str(body.get("address_string") or ""),
            media_url=str(body.get("media_url") or ""),
            source="open311",
        ),
        require_street=False,
    )
    session.commit()
    return [
        {
            "service_request_id": str(report.id),
            "token": service.format_tracking_code(report.tracking_code),
            "service_notice": "",
            "account_id": None,
        }
    ]


def _create_response(
    session: Session, settings: Settings, locale: str, body: dict[str, Any]
) -> Response[Any]:
    try:
        return _guard(locale, lambda: _create(session, settings, body), 201)
    finally:
        session.rollback()


@post(
    "/open311/v2/requests.json",
    opt={**OPEN311, "exclude_from_csrf": True},
    tags=["open311"],
    operation_id="open311CreateRequest",
    status_code=201,
)
async def create_request(
    request: Request[Any, Any, Any], db: DB, settings: AppSettings, locale: Locale
) -> Response[Any]:
    """GeoReport v2 POST Service Request, form-encoded or JSON. Answers
    ``[{"service_request_id", "token", "service_notice"}]``; ``token`` is the reporter's
    private tracking code (shown on ``/report/track``)."""
    raw = await request.body()
    ctype = request.headers.get("content-type", "")
    try:
        if "json" in ctype:
            body = json.loads(raw or b"{}")
            if isinstance(body, list) and body:
                body = body[0]
            if not isinstance(body, dict):
                raise ValueError("not an object")
        else:
            body = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    except (ValueError, UnicodeDecodeError):
        return _error(400, gettext(N_("The request body cannot be read."), locale))
    return await anyio.to_thread.run_sync(_create_response, db, settings, locale, body)


def _parse_date(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ServiceError(
            N_("%(value)s is not an ISO 8601 date."), field=name, value=value[:30]
        ) from exc
    if parsed.tzinfo is None:
        raise ServiceError(N_("%(value)s has no time zone."), field=name, value=value[:30])
    return parsed


def _status_of(report: Report) -> str:
    return "open" if report.status in OPEN_STATUSES else "closed"


NOTES = {
    Status.NEW.value: N_("Received; waiting for triage."),
    Status.TRIAGED.value: N_("Being verified."),
    Status.CONFIRMED.value: N_("Verified as true; passed to the responsible department."),
    Status.REJECTED.value: N_("Verified as not true."),
    Status.DUPLICATE.value: N_("Duplicate of an earlier report of the same problem."),
}


def _public(
    report: Report, categories: dict[str, Category], names: dict[str, str], locale: str
) -> dict[str, Any]:
    category = categories.get(report.category_code)
    return {
        "service_request_id": str(report.id),
        "status": _status_of(report),
        "status_notes": gettext(NOTES.get(report.status, report.status), locale),
        "service_name": category.label(locale) if category else report.category_code,
        "service_code": report.category_code,
        "description": service.scrub_numbers(report.description),
        "agency_responsible": names.get(report.street_code or "", ""),
        "service_notice": "",
        "requested_datetime": report.created_at.isoformat(),
        "updated_datetime": report.updated_at.isoformat(),
        "expected_datetime": None,
        "address": service.scrub_numbers(report.address),
        "address_id": None,
        "zipcode": None,
        "lat": report.lat,
        "long": report.lon,
        "media_url": report.media_url or None,
    }


def _listing(session: Session, locale: str, rows: list[Report]) -> list[dict[str, Any]]:
    categories = {c.code: c for c in service.categories(session, active_only=False)}
    names = service.street_names(session, [r.street_code for r in rows])
    return [_public(r, categories, names, locale) for r in rows]


@get(
    "/open311/v2/requests.json",
    opt=OPEN311,
    tags=["open311"],
    operation_id="open311ListRequests",
    sync_to_thread=True,
)
def list_requests(
    db: DB,
    locale: Locale,
    service_request_id: FromQuery[str | None] = None,
    service_code: FromQuery[str | None] = None,
    start_date: FromQuery[str | None] = None,
    end_date: FromQuery[str | None] = None,
    status: FromQuery[str | None] = None,
) -> Response[Any]:
    """GeoReport v2 GET Service Requests (no personal data)."""

    def run() -> list[dict[str, Any]]:
        query = select(Report).order_by(col(Report.created_at).desc(), col(Report.id).desc())
        if service_request_id:
            ids = []
            for part in service_request_id.split(","):
                if not service.is_id(part.strip()):
                    raise ServiceError(
                        N_("%(value)s is not a request id."),
                        field="service_request_id",
                        value=part.strip()[:20],
                    )
                ids.append(int(part.strip()))
            query = query.where(col(Report.id).in_(ids))
        else:
            start = _parse_date(start_date, "start_date")
            end = _parse_date(end_date, "end_date")
            if start is None and end is None:
                start = utcnow() - timedelta(days=DEFAULT_DAYS)
            if start is not None:
                query = query.where(col(Report.created_at) >= start)
            if end is not None:
                query = query.where(col(Report.created_at) <= end)
        if service_code:
            query = query.where(col(Report.category_code).in_(service_code.split(",")))
        if status:
            wanted = {s.strip() for s in status.split(",") if s.strip()}
            if not wanted <= {"open", "closed"}:
                raise ServiceError(
                    N_("status is open or closed."), field="status", value=status[:20]
                )
            if wanted == {"open"}:
                query = query.where(col(Report.status).in_(OPEN_STATUSES))
            elif wanted == {"closed"}:
                query = query.where(col(Report.status).not_in(OPEN_STATUSES))
        rows = list(db.exec(query.limit(MAX_RESULTS)).all())
        return _listing(db, locale, rows)

    return _guard(locale, run)


@get(
    "/open311/v2/requests/{request_id:str}",
    opt=OPEN311,
    tags=["open311"],
    operation_id="open311GetRequest",
    sync_to_thread=True,
)
def get_request(db: DB, locale: Locale, request_id: FromPath[str]) -> Response[Any]:
    """GeoReport v2 GET Service Request (``/requests/{id}.json``): a one-element list."""
    ident = request_id.removesuffix(".json")
    if not request_id.endswith(".json"):
        return _error(404, gettext(N_("Only the JSON format is offered."), locale))
    report = db.get(Report, int(ident)) if service.is_id(ident) else None
    if report is None:
        return _error(404, gettext(N_("No request %(id)s."), locale, id=ident[:20]))
    return Response(_listing(db, locale, [report]))


# Handlers sharing a path: the async one first (Litestar re-registers the handlers already on a
# path when another joins it, and would wrap a sync handler for the worker thread twice).
route_handlers: list[Any] = [
    services,
    service_definition,
    create_request,
    list_requests,
    get_request,
]
