"""Reward-for-report services: filing, duplicates, triage, verification, rewards and payouts.

Functions take a ``Session`` and do no HTTP; callers commit. Rules:

* **Duplicates** — a report of the same category within ``report_duplicate_metres`` (haversine)
  and ``report_duplicate_hours`` of an earlier, not rejected report is linked to that report's
  problem (its first report) when filed; officials may link by hand too.
* **Rewards** — only the first valid (属实) report of a problem earns, by the published tariff
  (category × severity); a reporter is paid at most ``report_monthly_cap`` yuan a calendar
  month (city time); staff phones earn nothing; a reward above ``report_major_threshold`` needs
  a second, different reward officer. One reward per report and per problem and one payout per
  reward are unique constraints, and approvals lock the rows (``SELECT ... FOR UPDATE`` on
  PostgreSQL; SQLite transactions take the write lock at BEGIN), so concurrent approvals are
  exactly-once.
"""

from __future__ import annotations

import json
import math
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import phonenumbers
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from participation.accounts.roles import Role
from participation.accounts.service import streets_in_scope
from participation.core.crypto import Vault, mask_phone
from participation.core.errors import ConflictError, ForbiddenError, NotFoundError, ServiceError
from participation.core.i18n import N_
from participation.core.timeutil import to_local, utcnow
from participation.geography.models import Level, Unit, UnitBoundary
from participation.reports.models import (
    Category,
    Facility,
    FacilityKind,
    Outcome,
    Payout,
    Report,
    Reward,
    RewardStatus,
    Severity,
    StaffPhone,
    Status,
    TariffEntry,
    Verification,
)
from participation.settings import Settings

SEVERITIES: tuple[str, ...] = tuple(s.value for s in Severity)
OUTCOMES: tuple[str, ...] = tuple(o.value for o in Outcome)
FACILITY_KINDS: tuple[str, ...] = tuple(k.value for k in FacilityKind)
EARTH_RADIUS_M = 6_371_008.8

# code, English, Chinese, likely severities, Open311 group, tariff (minor, serious, major) in yuan
CATALOGUE: tuple[tuple[str, str, str, tuple[str, ...], str, tuple[int, int, int]], ...] = (
    (
        "illegal_construction",
        "Illegal construction",
        "违法建设",
        ("serious", "major"),
        "违法建设",
        (100, 300, 1000),
    ),
    (
        "street_vending",
        "Street vending",
        "占道经营",
        ("minor", "serious"),
        "市容秩序",
        (20, 50, 100),
    ),
    (
        "exposed_garbage",
        "Exposed garbage",
        "暴露垃圾",
        ("minor", "serious"),
        "环境卫生",
        (20, 50, 200),
    ),
    (
        "illegal_dumping",
        "Dumping of construction waste",
        "渣土乱倒",
        ("serious", "major"),
        "环境卫生",
        (50, 200, 800),
    ),
    (
        "broken_facility",
        "Broken public facility",
        "设施损坏",
        ("minor", "serious"),
        "市政设施",
        (20, 50, 200),
    ),
    ("street_lamp_out", "Street lamp out", "路灯不亮", ("minor",), "市政设施", (10, 30, 100)),
    (
        "toilet_unclean",
        "Public toilet not cleaned",
        "公厕保洁不到位",
        ("minor", "serious"),
        "环境卫生",
        (10, 30, 100),
    ),
    (
        "illegal_billboard",
        "Illegal or unsafe billboard",
        "违规户外广告",
        ("minor", "serious", "major"),
        "市容秩序",
        (20, 100, 600),
    ),
    ("overflowing_bin", "Overflowing bin", "垃圾桶满溢", ("minor",), "环境卫生", (10, 30, 100)),
)

FACILITY_CATEGORIES: dict[str, tuple[str, ...]] = {
    FacilityKind.STREET_LAMP.value: ("street_lamp_out", "broken_facility"),
    FacilityKind.PUBLIC_TOILET.value: ("toilet_unclean", "broken_facility"),
    FacilityKind.BILLBOARD.value: ("illegal_billboard", "broken_facility"),
    FacilityKind.BIN.value: ("overflowing_bin", "exposed_garbage", "broken_facility"),
}

# Tracking codes: 10 symbols of an alphabet without look-alikes (0/O, 1/I/L), ≈ 50 bits.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 10


# ---------------------------------------------------------------- catalogue


def ensure_catalogue(session: Session) -> int:
    """Create the default categories and their published tariff when missing; returns how many
    categories were added."""
    existing = set(session.exec(select(Category.code)).all())
    added = 0
    for order, (code, name, name_zh, severities, group, amounts) in enumerate(CATALOGUE):
        if code in existing:
            continue
        session.add(
            Category(
                code=code,
                name=name,
                name_zh=name_zh,
                service_group=group,
                severities=list(severities),
                sort_order=order,
            )
        )
        session.flush()
        for severity, amount in zip(SEVERITIES, amounts, strict=True):
            session.add(TariffEntry(category_code=code, severity=severity, amount=amount))
        added += 1
    session.flush()
    return added


def categories(session: Session, *, active_only: bool = True) -> list[Category]:
    """Categories in display order."""
    query = select(Category).order_by(col(Category.sort_order), col(Category.code))
    if active_only:
        query = query.where(col(Category.active))
    return list(session.exec(query).all())


def get_category(session: Session, code: str, field_name: str = "category") -> Category:
    """An active category; 400 naming ``field_name`` when unknown."""
    category = session.get(Category, (code or "").strip())
    if category is None or not category.active:
        raise ServiceError(
            N_("Unknown category %(code)s."), field=field_name, code=code or "", status_code=400
        )
    return category


def tariff(session: Session) -> dict[str, dict[str, int]]:
    """The published tariff: category code → severity → yuan."""
    out: dict[str, dict[str, int]] = {}
    for entry in session.exec(select(TariffEntry)).all():
        out.setdefault(entry.category_code, {})[entry.severity] = entry.amount
    return out


def set_tariff(session: Session, category_code: str, severity: str, amount: int) -> TariffEntry:
    """Publish a new amount for a category at a severity."""
    get_category(session, category_code, "category_code")
    if severity not in SEVERITIES:
        raise ServiceError(N_("Unknown severity %(value)s."), field="severity", value=severity)
    if amount < 0:
        raise ServiceError(N_("The amount cannot be negative."), field="amount")
    entry = session.get(TariffEntry, (category_code, severity))
    if entry is None:
        entry = TariffEntry(category_code=category_code, severity=severity, amount=amount)
    entry.amount = amount
    entry.published_at = utcnow()
    session.add(entry)
    session.flush()
    return entry


# ---------------------------------------------------------------- geography helpers


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two WGS-84 points."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def _in_ring(lon: float, lat: float, ring: Sequence[Sequence[float]]) -> bool:
    inside = False
    n = len(ring)
    for i in range(n):
        x1, y1 = ring[i][0], ring[i][1]
        x2, y2 = ring[(i + 1) % n][0], ring[(i + 1) % n][1]
        if (y1 > lat) != (y2 > lat):
            x = x1 + (lat - y1) * (x2 - x1) / (y2 - y1)
            if lon < x:
                inside = not inside
    return inside


def point_in_geometry(lat: float, lon: float, geometry: dict[str, Any]) -> bool:
    """True when the point lies in a GeoJSON Polygon or MultiPolygon (holes respected)."""
    kind = geometry.get("type")
    polygons = [geometry.get("coordinates", [])] if kind == "Polygon" else []
    if kind == "MultiPolygon":
        polygons = list(geometry.get("coordinates", []))
    for rings in polygons:
        inside = bool(rings) and _in_ring(lon, lat, rings[0])
        if inside and not any(_in_ring(lon, lat, hole) for hole in rings[1:]):
            return True
    return False


def street_at(session: Session, lat: float, lon: float) -> str | None:
    """The street whose loaded boundary contains the point, or None."""
    rows = session.exec(
        select(UnitBoundary)
        .join(Unit, col(Unit.code) == col(UnitBoundary.unit_code))
        .where(Unit.level == Level.STREET.value)
    ).all()
    for row in rows:
        try:
            geometry = json.loads(row.geometry)
        except ValueError:
            continue
        if point_in_geometry(lat, lon, geometry):
            return row.unit_code
    return None


def street_boundaries(session: Session) -> dict[str, Any]:
    """The loaded street boundaries as a GeoJSON FeatureCollection (code and name in the
    properties), for the form's map pin."""
    rows = session.exec(
        select(UnitBoundary, Unit.name)
        .join(Unit, col(Unit.code) == col(UnitBoundary.unit_code))
        .where(Unit.level == Level.STREET.value)
        .order_by(col(UnitBoundary.unit_code))
    ).all()
    features = []
    for boundary, name in rows:
        try:
            geometry = json.loads(boundary.geometry)
        except ValueError:
            continue
        features.append(
            {
                "type": "Feature",
                "id": boundary.unit_code,
                "properties": {"code": boundary.unit_code, "name": name},
                "geometry": geometry,
            }
        )
    return {"type": "FeatureCollection", "features": features}


def boundaries_loaded(session: Session) -> bool:
    """True when street boundaries are loaded (the street is then resolved from coordinates)."""
    return (
        session.exec(
            select(func.count())
            .select_from(UnitBoundary)
            .join(Unit, col(Unit.code) == col(UnitBoundary.unit_code))
            .where(Unit.level == Level.STREET.value)
        ).one()
        > 0
    )


def _street(session: Session, code: str) -> Unit:
    unit = session.get(Unit, code.strip())
    if unit is None or unit.level != Level.STREET.value:
        raise ServiceError(N_("Unknown street %(code)s."), field="street_code", code=code)
    return unit


def street_names(session: Session, codes: Iterable[str | None]) -> dict[str, str]:
    """Names of street codes."""
    wanted = sorted({c for c in codes if c})
    if not wanted:
        return {}
    rows = session.exec(select(Unit.code, Unit.name).where(col(Unit.code).in_(wanted))).all()
    return dict(rows)


# ---------------------------------------------------------------- tracking codes and phones


def is_id(text: str) -> bool:
    """True when ``text`` is a report id (ASCII digits, within the 32-bit range of ids)."""
    return text.isascii() and text.isdigit() and 0 < int(text) < 2**31


def new_tracking_code() -> str:
    """A random tracking code (10 symbols, no look-alike characters)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_tracking_code(text: str) -> str:
    """A typed code in stored form: upper case, no spaces or dashes."""
    return re.sub(r"[\s\-_.]", "", (text or "").upper())


def format_tracking_code(code: str) -> str:
    """A stored code as shown to residents: ``ABCDE-FGHJK``."""
    return f"{code[:5]}-{code[5:]}" if len(code) == CODE_LENGTH else code


def normalise_phone(raw: str) -> str:
    """E.164 form of a Chinese phone number; 400 on field ``phone`` when invalid."""
    text = (raw or "").strip()
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException as exc:
        raise ServiceError(
            N_("%(value)s is not a valid phone number."), field="phone", value=text
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise ServiceError(N_("%(value)s is not a valid phone number."), field="phone", value=text)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_LONG_DIGITS = re.compile(r"(?<!\d)(\+?\d[\d\- ]{6,}\d)(?!\d)")


def scrub_numbers(text: str) -> str:
    """``text`` with phone-like digit runs masked (public views of free text)."""
    return _LONG_DIGITS.sub(lambda m: mask_phone(re.sub(r"[\- ]", "", m.group(1))), text or "")


# ---------------------------------------------------------------- filing


@dataclass
class ReportInput:
    """What a resident submits."""

    category_code: str
    description: str = ""
    lat: float | None = None
    lon: float | None = None
    street_code: str = ""
    facility_code: str = ""
    phone: str = ""
    name: str = ""
    address: str = ""
    media_url: str = ""
    source: str = "web"


def get_facility(session: Session, code: str) -> Facility:
    """An active facility by its service code; 404 naming ``facility`` otherwise."""
    facility = session.exec(select(Facility).where(Facility.code == (code or "").strip())).first()
    if facility is None or not facility.active:
        raise NotFoundError(
            N_("No facility has the service code %(code)s."), field="facility", code=code or ""
        )
    return facility


def find_duplicate_problem(
    session: Session,
    settings: Settings,
    category_code: str,
    lat: float,
    lon: float,
    at: datetime,
    *,
    exclude_id: int | None = None,
) -> Report | None:
    """The first report of the nearest earlier problem of this category within the duplicate
    distance and window (rejected reports do not count), or None."""
    metres = settings.report_duplicate_metres
    dlat = metres / 111_320.0
    dlon = metres / (111_320.0 * max(0.01, math.cos(math.radians(lat))))
    since = at - timedelta(hours=settings.report_duplicate_hours)
    query = select(Report).where(
        Report.category_code == category_code,
        col(Report.created_at) >= since,
        col(Report.created_at) <= at,
        Report.status != Status.REJECTED.value,
        col(Report.lat).between(lat - dlat, lat + dlat),
        col(Report.lon).between(lon - dlon, lon + dlon),
    )
    if exclude_id is not None:
        query = query.where(Report.id != exclude_id)
    best: tuple[float, datetime, Report] | None = None
    for other in session.exec(query).all():
        assert other.lat is not None and other.lon is not None
        distance = haversine_m(lat, lon, other.lat, other.lon)
        if distance > metres:
            continue
        if best is None or (distance, other.created_at) < (best[0], best[1]):
            best = (distance, other.created_at, other)
    if best is None:
        return None
    root_id = best[2].problem_id
    root = session.get(Report, root_id)
    return root or best[2]


def file_report(
    session: Session,
    settings: Settings,
    data: ReportInput,
    *,
    require_street: bool = True,
    now: datetime | None = None,
) -> Report:
    """File a report: validate it, resolve the street, encrypt the contact, link a duplicate."""
    now = now or utcnow()
    category = get_category(session, data.category_code, "category")
    description = (data.description or "").strip()
    if len(description) > 2000:
        raise ServiceError(
            N_("The description is too long (2000 characters at most)."), field="description"
        )
    facility = get_facility(session, data.facility_code) if data.facility_code else None
    lat, lon = data.lat, data.lon
    if (lat is None) != (lon is None):
        raise ServiceError(N_("Give both latitude and longitude."), field="lat")
    if lat is not None and lon is not None:
        if not (-90 <= lat <= 90):
            raise ServiceError(N_("The latitude must lie between -90 and 90."), field="lat")
        if not (-180 <= lon <= 180):
            raise ServiceError(N_("The longitude must lie between -180 and 180."), field="long")
    if facility is not None and lat is None:
        lat, lon = facility.lat, facility.lon
    street_code: str | None = None
    source = ""
    if facility is not None and facility.street_code:
        street_code, source = facility.street_code, "facility"
    if street_code is None and lat is not None and lon is not None:
        found = street_at(session, lat, lon)
        if found:
            street_code, source = found, "boundary"
    if street_code is None and data.street_code.strip():
        street_code, source = _street(session, data.street_code).code, "chosen"
    if street_code is None and require_street:
        raise ServiceError(
            N_("Choose the street or township where the problem is."), field="street_code"
        )
    if lat is None and street_code is None:
        raise ServiceError(N_("Give the location of the problem."), field="lat")
    if not description and facility is None:
        raise ServiceError(N_("Describe the problem."), field="description")
    vault = Vault(settings)
    phone_enc = name_enc = phone_hash = None
    if data.phone.strip():
        phone = normalise_phone(data.phone)
        phone_enc, phone_hash = vault.encrypt(phone), vault.keyed_hash(phone)
    name = (data.name or "").strip()[:80]
    if name:
        name_enc = vault.encrypt(name)
    code = new_tracking_code()
    while session.exec(select(Report.id).where(Report.tracking_code == code)).first():
        code = new_tracking_code()
    report = Report(
        tracking_code=code,
        category_code=category.code,
        description=description,
        lat=lat,
        lon=lon,
        address=(data.address or "").strip()[:200],
        street_code=street_code,
        street_source=source,
        facility_id=facility.id if facility else None,
        source=data.source,
        media_url=(data.media_url or "").strip()[:500],
        reporter_phone_enc=phone_enc,
        reporter_name_enc=name_enc,
        reporter_hash=phone_hash,
        created_at=now,
        updated_at=now,
    )
    if lat is not None and lon is not None:
        earlier = find_duplicate_problem(session, settings, category.code, lat, lon, now)
        if earlier is not None:
            report.duplicate_of_id = earlier.id
            report.duplicate_auto = True
            report.status = Status.DUPLICATE.value
    session.add(report)
    session.flush()
    return report


# ---------------------------------------------------------------- access


def scope_of(session: Session, user: Any) -> set[str] | None:
    """Streets ``user`` may see (None: all)."""
    return streets_in_scope(session, user.unit_code, user.role)


def get_report(session: Session, report_id: int) -> Report:
    """A report by id; 404 otherwise."""
    report = session.get(Report, report_id)
    if report is None:
        raise NotFoundError(N_("Report %(id)s does not exist."), field="report_id", id=report_id)
    return report


def report_for(session: Session, user: Any, report_id: int) -> Report:
    """A report ``user`` may see; 403 outside an official's scope."""
    report = get_report(session, report_id)
    scope = scope_of(session, user)
    if scope is not None and report.street_code not in scope:
        raise ForbiddenError(
            N_("Report %(id)s is outside your area."), field="report_id", id=report_id
        )
    return report


def by_tracking_code(session: Session, text: str) -> Report:
    """The report of a typed tracking code; 404 naming ``code`` otherwise."""
    code = normalise_tracking_code(text)
    report = (
        session.exec(select(Report).where(Report.tracking_code == code)).first()
        if len(code) == CODE_LENGTH
        else None
    )
    if report is None:
        raise NotFoundError(
            N_("No report has the tracking code %(code)s."), field="code", code=text.strip()[:20]
        )
    return report


def list_reports(
    session: Session,
    user: Any,
    *,
    status: str | None = None,
    category: str | None = None,
    street: str | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[Report]:
    """Reports visible to ``user``, newest first."""
    query = select(Report).order_by(col(Report.created_at).desc(), col(Report.id).desc())
    scope = scope_of(session, user)
    if scope is not None:
        query = query.where(col(Report.street_code).in_(sorted(scope)))
    if status:
        query = query.where(Report.status == status)
    if category:
        query = query.where(Report.category_code == category)
    if street:
        query = query.where(Report.street_code == street)
    return list(session.exec(query.offset(offset).limit(limit)).all())


def count_by_status(session: Session, user: Any) -> dict[str, int]:
    """Reports per status visible to ``user``."""
    query = select(Report.status, func.count()).group_by(Report.status)
    scope = scope_of(session, user)
    if scope is not None:
        query = query.where(col(Report.street_code).in_(sorted(scope)))
    return {s: int(n) for s, n in session.exec(query).all()}


def problem_reports(session: Session, report: Report) -> list[Report]:
    """Every report of the same problem (the first one and its duplicates), oldest first."""
    root = report.problem_id
    return list(
        session.exec(
            select(Report)
            .where((Report.id == root) | (Report.duplicate_of_id == root))
            .order_by(col(Report.created_at), col(Report.id))
        ).all()
    )


def verifications_of(session: Session, report_id: int) -> list[Verification]:
    """The verification history of a report, oldest first."""
    return list(
        session.exec(
            select(Verification)
            .where(Verification.report_id == report_id)
            .order_by(col(Verification.created_at), col(Verification.id))
        ).all()
    )


def reward_of(session: Session, report_id: int) -> Reward | None:
    """The reward of a report, if any."""
    return session.exec(select(Reward).where(Reward.report_id == report_id)).first()


def payout_of(session: Session, reward_id: int) -> Payout | None:
    """The payout of a reward, if any."""
    return session.exec(select(Payout).where(Payout.reward_id == reward_id)).first()


# ---------------------------------------------------------------- triage and verification


def _lock_report(session: Session, report_id: int) -> Report:
    query = select(Report).where(Report.id == report_id).with_for_update()
    report = session.exec(query.execution_options(populate_existing=True)).first()
    if report is None:
        raise NotFoundError(N_("Report %(id)s does not exist."), field="report_id", id=report_id)
    return report


def triage(
    session: Session,
    report: Report,
    official_id: int,
    *,
    severity: str,
    category_code: str | None = None,
    street_code: str | None = None,
) -> Report:
    """Accept a new report into the verification queue, setting its severity (and correcting
    category or street)."""
    if report.status not in (Status.NEW.value, Status.TRIAGED.value):
        raise ConflictError(
            N_("Only new reports can be triaged; this one is %(status)s."),
            field="status",
            status=report.status,
        )
    if severity not in SEVERITIES:
        raise ServiceError(N_("Unknown severity %(value)s."), field="severity", value=severity)
    if category_code and category_code != report.category_code:
        report.category_code = get_category(session, category_code, "category").code
    if street_code and street_code != report.street_code:
        report.street_code = _street(session, street_code).code
        report.street_source = "chosen"
    report.severity = severity
    report.status = Status.TRIAGED.value
    report.triaged_at = report.updated_at = utcnow()
    report.triaged_by = official_id
    session.add(report)
    session.flush()
    return report


def verify(
    session: Session,
    report: Report,
    official_id: int,
    outcome: str,
    *,
    severity: str | None = None,
    duplicate_of: str | int | None = None,
    note: str = "",
) -> Verification:
    """Record a verification: 属实 (``true``), 不属实 (``false``) or 重复 (``duplicate`` of an
    earlier report, given by id or tracking code)."""
    if outcome not in OUTCOMES:
        raise ServiceError(N_("Unknown outcome %(value)s."), field="outcome", value=outcome)
    assert report.id is not None
    report = _lock_report(session, report.id)
    assert report.id is not None
    if reward_of(session, report.id) is not None:
        raise ConflictError(
            N_("This report already has a reward; its verification cannot change."),
            field="outcome",
        )
    target: Report | None = None
    if outcome == Outcome.TRUE.value:
        severity = severity or report.severity
        if not severity:
            category = session.get(Category, report.category_code)
            severity = category.severities[0] if category and category.severities else "minor"
        if severity not in SEVERITIES:
            raise ServiceError(N_("Unknown severity %(value)s."), field="severity", value=severity)
        report.severity = severity
        report.status = Status.CONFIRMED.value
    elif outcome == Outcome.FALSE.value:
        report.status = Status.REJECTED.value
    else:
        target = _duplicate_target(session, report, duplicate_of)
        link_duplicate(session, report, target)
    report.verified_at = report.updated_at = utcnow()
    session.add(report)
    record = Verification(
        report_id=report.id,
        outcome=outcome,
        severity=report.severity if outcome == Outcome.TRUE.value else None,
        duplicate_of_id=report.duplicate_of_id if outcome == Outcome.DUPLICATE.value else None,
        note=(note or "").strip()[:1000],
        official_id=official_id,
    )
    session.add(record)
    session.flush()
    return record


def _duplicate_target(session: Session, report: Report, given: str | int | None) -> Report:
    if given is None or str(given).strip() == "":
        if report.duplicate_of_id:
            return get_report(session, report.duplicate_of_id)
        raise ServiceError(
            N_("Name the earlier report (number or tracking code)."), field="duplicate_of"
        )
    text = str(given).strip()
    target: Report | None
    if is_id(text):
        target = session.get(Report, int(text))
    else:
        code = normalise_tracking_code(text)
        target = session.exec(select(Report).where(Report.tracking_code == code)).first()
    if target is None:
        raise ServiceError(
            N_("No report %(value)s to link to."), field="duplicate_of", value=text[:20]
        )
    return target


def link_duplicate(session: Session, report: Report, target: Report) -> Report:
    """Mark ``report`` a duplicate of ``target``'s problem (its duplicates follow it)."""
    assert report.id is not None and target.id is not None
    root = session.get(Report, target.problem_id) or target
    if root.id == report.id or target.id == report.id:
        raise ServiceError(N_("A report cannot duplicate itself."), field="duplicate_of")
    if reward_of(session, report.id) is not None:
        raise ConflictError(
            N_("This report already has a reward; its verification cannot change."),
            field="duplicate_of",
        )
    followers = session.exec(select(Report).where(Report.duplicate_of_id == report.id)).all()
    for follower in followers:
        follower.duplicate_of_id = root.id
        session.add(follower)
    for reward in session.exec(select(Reward).where(Reward.problem_id == report.id)).all():
        reward.problem_id = root.id  # conflicts surface as the unique constraint below
        session.add(reward)
    report.duplicate_of_id = root.id
    report.duplicate_auto = False
    report.status = Status.DUPLICATE.value
    report.updated_at = utcnow()
    session.add(report)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise ConflictError(
            N_("The earlier report's problem already has a reward."), field="duplicate_of"
        ) from exc
    return report


def unlink_duplicate(session: Session, report: Report) -> Report:
    """Undo a duplicate link (automatic or by hand): the report is its own problem again and
    goes back to the queue (new, or triaged when it had been triaged)."""
    assert report.id is not None
    report = _lock_report(session, report.id)
    if report.duplicate_of_id is None:
        raise ConflictError(N_("This report is not linked to another one."), field="duplicate_of")
    if reward_of(session, report.id) is not None:
        raise ConflictError(
            N_("This report already has a reward; its verification cannot change."),
            field="duplicate_of",
        )
    report.duplicate_of_id = None
    report.duplicate_auto = False
    report.status = Status.TRIAGED.value if report.triaged_at else Status.NEW.value
    report.updated_at = utcnow()
    session.add(report)
    session.flush()
    return report


# ---------------------------------------------------------------- rewards


def is_staff_phone(session: Session, phone_hash: str | None) -> bool:
    """True when the keyed hash belongs to a staff phone."""
    if not phone_hash:
        return False
    return (
        session.exec(select(StaffPhone.id).where(StaffPhone.phone_hash == phone_hash)).first()
        is not None
    )


def add_staff_phone(
    session: Session,
    settings: Settings,
    phone: str,
    *,
    label: str = "",
    user_id: int | None = None,
    created_by: int | None = None,
) -> StaffPhone:
    """Register a staff member's phone (stored as a keyed hash only): their reports earn nothing."""
    number = normalise_phone(phone)
    vault = Vault(settings)
    digest = vault.keyed_hash(number)
    existing = session.exec(select(StaffPhone).where(StaffPhone.phone_hash == digest)).first()
    if existing is not None:
        raise ConflictError(N_("This phone is already registered as staff."), field="phone")
    row = StaffPhone(
        phone_hash=digest,
        phone_masked=mask_phone(number),
        label=(label or "").strip()[:80],
        user_id=user_id,
        created_by=created_by,
    )
    session.add(row)
    session.flush()
    return row


def remove_staff_phone(session: Session, staff_phone_id: int) -> None:
    """Forget a staff phone."""
    row = session.get(StaffPhone, staff_phone_id)
    if row is None:
        raise NotFoundError(
            N_("Staff phone %(id)s does not exist."), field="staff_phone_id", id=staff_phone_id
        )
    session.delete(row)
    session.flush()


def staff_phones(session: Session) -> list[StaffPhone]:
    """Registered staff phones."""
    return list(session.exec(select(StaffPhone).order_by(col(StaffPhone.created_at))).all())


def month_of(at: datetime, tz: str) -> str:
    """``YYYY-MM`` of a timestamp in the city's time zone."""
    return to_local(at, tz).strftime("%Y-%m")


def awarded_in_month(session: Session, reporter_hash: str, month: str) -> int:
    """Yuan awarded to a reporter in a month (every reward approved at least once)."""
    total = session.exec(
        select(func.coalesce(func.sum(Reward.amount), 0)).where(
            Reward.reporter_hash == reporter_hash, Reward.month == month
        )
    ).one()
    return int(total or 0)


@dataclass
class Eligibility:
    """Whether a report may be rewarded now, the amount and why not."""

    eligible: bool
    reason: str = ""
    tariff_amount: int = 0
    amount: int = 0
    major: bool = False
    params: dict[str, Any] = field(default_factory=dict)


def eligibility(
    session: Session, settings: Settings, report: Report, now: datetime | None = None
) -> Eligibility:
    """Whether ``report`` may earn a reward (first valid report of its problem, contact left,
    not staff, tariff published, monthly cap not reached) and the amount."""
    assert report.id is not None
    now = now or utcnow()
    if report.status != Status.CONFIRMED.value:
        return Eligibility(False, N_("Only reports verified as true earn a reward."))
    if not report.reporter_hash:
        return Eligibility(False, N_("The reporter left no phone number: no reward can be paid."))
    if is_staff_phone(session, report.reporter_hash):
        return Eligibility(False, N_("The reporter is a member of staff: staff earn no reward."))
    earlier = [
        r
        for r in problem_reports(session, report)
        if r.id != report.id
        and r.status == Status.CONFIRMED.value
        and (r.created_at, r.id or 0) < (report.created_at, report.id)
    ]
    if earlier:
        return Eligibility(
            False, N_("An earlier valid report of this problem earns the reward, not this one.")
        )
    if session.exec(select(Reward.id).where(Reward.problem_id == report.problem_id)).first():
        return Eligibility(False, N_("This problem has already been rewarded."))
    entry = session.get(TariffEntry, (report.category_code, report.severity or ""))
    if entry is None:
        return Eligibility(False, N_("No tariff is published for this category and severity."))
    month = month_of(now, settings.timezone)
    remaining = settings.report_monthly_cap - awarded_in_month(session, report.reporter_hash, month)
    if remaining <= 0:
        return Eligibility(
            False,
            N_("The reporter has reached the monthly cap of %(cap)s yuan."),
            params={"cap": settings.report_monthly_cap},
        )
    amount = min(entry.amount, remaining)
    return Eligibility(
        True,
        tariff_amount=entry.amount,
        amount=amount,
        major=amount > settings.report_major_threshold,
    )


def _lock_reward(session: Session, reward_id: int) -> Reward:
    query = select(Reward).where(Reward.id == reward_id).with_for_update()
    reward = session.exec(query.execution_options(populate_existing=True)).first()
    if reward is None:
        raise NotFoundError(N_("Reward %(id)s does not exist."), field="reward_id", id=reward_id)
    return reward


def _serialize_reporter(session: Session, report_id: int) -> None:
    """On PostgreSQL, approvals for one reporter run one at a time: the monthly cap sums the
    rewards of all their reports, which no row lock covers. The lock is taken before the
    report's row lock, always in this order, and released at commit."""
    if session.get_bind().dialect.name != "postgresql":
        return
    reporter = session.exec(select(Report.reporter_hash).where(Report.id == report_id)).first()
    if reporter:
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"reward:{reporter}"}
        )


def approve_reward(
    session: Session,
    settings: Settings,
    report_id: int,
    officer_id: int,
    *,
    now: datetime | None = None,
) -> Reward:
    """A reward officer approves the reward of a report.

    The first approval creates the reward (approved, or awaiting a second officer when above
    the major threshold); a second approval by a different officer completes a major reward.
    Anything else is a 409 conflict: a reward is never created or approved twice.
    """
    now = now or utcnow()
    _serialize_reporter(session, report_id)
    report = _lock_report(session, report_id)
    existing = reward_of(session, report_id)
    if existing is not None:
        assert existing.id is not None
        reward = _lock_reward(session, existing.id)
        if reward.status != RewardStatus.AWAITING_SECOND.value:
            raise ConflictError(N_("This reward is already approved."), field="reward")
        if reward.approved_by == officer_id:
            raise ForbiddenError(
                N_("A second, different reward officer must approve this major reward."),
                field="reward",
            )
        reward.status = RewardStatus.APPROVED.value
        reward.second_by = officer_id
        reward.second_at = now
        session.add(reward)
        session.flush()
        return reward
    if report.reporter_hash and session.get_bind().dialect.name == "postgresql":
        # Serialise approvals for one reporter, so concurrent rewards respect the monthly cap.
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
            {"key": f"report-reward:{report.reporter_hash}"},
        )
    check = eligibility(session, settings, report, now)
    if not check.eligible:
        raise ServiceError(check.reason, field="reward", status_code=409, **check.params)
    assert report.reporter_hash is not None and report.severity is not None
    reward = Reward(
        report_id=report_id,
        problem_id=report.problem_id,
        category_code=report.category_code,
        severity=report.severity,
        tariff_amount=check.tariff_amount,
        amount=check.amount,
        month=month_of(now, settings.timezone),
        reporter_hash=report.reporter_hash,
        status=(RewardStatus.AWAITING_SECOND.value if check.major else RewardStatus.APPROVED.value),
        major=check.major,
        approved_by=officer_id,
        approved_at=now,
    )
    try:
        with session.begin_nested():
            session.add(reward)
            session.flush()
    except IntegrityError as exc:
        raise ConflictError(N_("This reward is already approved."), field="reward") from exc
    return reward


def pay_reward(
    session: Session,
    reward_id: int,
    officer_id: int,
    *,
    reference: str = "",
    now: datetime | None = None,
) -> Payout:
    """Record the payment of an approved reward (exactly once)."""
    reward = _lock_reward(session, reward_id)
    if reward.status == RewardStatus.PAID.value:
        raise ConflictError(N_("This reward is already paid."), field="reward")
    if reward.status != RewardStatus.APPROVED.value:
        raise ConflictError(
            N_("This reward still needs a second officer's approval."), field="reward"
        )
    payout = Payout(
        reward_id=reward_id,
        amount=reward.amount,
        reference=(reference or "").strip()[:80],
        paid_by=officer_id,
        paid_at=now or utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(payout)
            session.flush()
    except IntegrityError as exc:
        raise ConflictError(N_("This reward is already paid."), field="reward") from exc
    reward.status = RewardStatus.PAID.value
    session.add(reward)
    session.flush()
    return payout


# ---------------------------------------------------------------- ledger


@dataclass
class LedgerRow:
    """One reward in the payout ledger."""

    reward: Reward
    report: Report
    payout: Payout | None
    approved_by: str
    second_by: str
    paid_by: str


def ledger(
    session: Session, *, status: str | None = None, month: str | None = None
) -> list[LedgerRow]:
    """Rewards with their report and payout, newest first."""
    from participation.accounts.models import User

    query = (
        select(Reward, Report)
        .join(Report, col(Report.id) == col(Reward.report_id))
        .order_by(col(Reward.approved_at).desc(), col(Reward.id).desc())
    )
    if status:
        query = query.where(Reward.status == status)
    if month:
        query = query.where(Reward.month == month)
    rows = session.exec(query).all()
    ids = [r.id for r, _ in rows]
    payouts = {
        p.reward_id: p
        for p in session.exec(select(Payout).where(col(Payout.reward_id).in_(ids))).all()
    }
    user_ids = {r.approved_by for r, _ in rows} | {r.second_by for r, _ in rows if r.second_by}
    user_ids |= {p.paid_by for p in payouts.values()}
    names = dict(
        session.exec(
            select(User.id, User.display_name).where(col(User.id).in_(sorted(user_ids)))
        ).all()
    )
    out = []
    for reward, report in rows:
        payout = payouts.get(reward.id or 0)
        out.append(
            LedgerRow(
                reward=reward,
                report=report,
                payout=payout,
                approved_by=names.get(reward.approved_by, ""),
                second_by=names.get(reward.second_by, "") if reward.second_by else "",
                paid_by=names.get(payout.paid_by, "") if payout else "",
            )
        )
    return out


# ---------------------------------------------------------------- reporter contact


@dataclass
class Contact:
    """A reporter's contact: masked always, plain only for reward officers (audited)."""

    phone_masked: str
    name_masked: str
    phone: str | None = None
    name: str | None = None


def _mask_name(name: str) -> str:
    return name[:1] + "*" * max(1, len(name) - 1) if name else ""


def contact_of(report: Report, vault: Vault, *, plain: bool) -> Contact | None:
    """The contact of a report (None when the reporter left none)."""
    if not report.reporter_phone_enc and not report.reporter_name_enc:
        return None
    phone = vault.decrypt(report.reporter_phone_enc) if report.reporter_phone_enc else ""
    name = vault.decrypt(report.reporter_name_enc) if report.reporter_name_enc else ""
    return Contact(
        phone_masked=mask_phone(phone) if phone else "",
        name_masked=_mask_name(name),
        phone=phone if plain else None,
        name=name if plain else None,
    )


def may_read_contact(role: str) -> bool:
    """Only reward officers read a reporter's phone and name in plain."""
    return role == Role.REWARD_OFFICER.value


# ---------------------------------------------------------------- facilities


def add_facility(
    session: Session,
    *,
    code: str,
    kind: str,
    lat: float,
    lon: float,
    name: str = "",
    street_code: str | None = None,
    categories_: Sequence[str] | None = None,
) -> Facility:
    """Register a facility with its service code."""
    code = (code or "").strip().upper()
    if not re.fullmatch(r"[A-Z0-9\-]{3,32}", code):
        raise ServiceError(
            N_("A service code has 3 to 32 letters, digits or dashes."), field="code"
        )
    if kind not in FACILITY_KINDS:
        raise ServiceError(N_("Unknown facility kind %(value)s."), field="kind", value=kind)
    if session.exec(select(Facility.id).where(Facility.code == code)).first():
        raise ConflictError(N_("The service code %(code)s is taken."), field="code", code=code)
    if not (-90 <= lat <= 90) or not (-180 <= lon <= 180):
        raise ServiceError(N_("The coordinates are out of range."), field="lat")
    street = _street(session, street_code).code if street_code else street_at(session, lat, lon)
    likely = list(categories_ or FACILITY_CATEGORIES[kind])
    for c in likely:
        get_category(session, c, "categories")
    facility = Facility(
        code=code,
        kind=kind,
        name=(name or "").strip()[:120],
        lat=lat,
        lon=lon,
        street_code=street,
        categories=likely,
    )
    session.add(facility)
    session.flush()
    return facility


def facilities(
    session: Session, user: Any | None = None, kind: str | None = None
) -> list[Facility]:
    """Active facilities (in ``user``'s scope when given), by code."""
    query = select(Facility).where(col(Facility.active)).order_by(col(Facility.code))
    if kind:
        query = query.where(Facility.kind == kind)
    if user is not None:
        scope = scope_of(session, user)
        if scope is not None:
            query = query.where(col(Facility.street_code).in_(sorted(scope)))
    return list(session.exec(query).all())
