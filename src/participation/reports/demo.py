"""Demo data of the reports domain: facilities with city service codes in three streets of
兰山区, and a month of residents' reports in every state — new, triaged, true, not true,
duplicates (linked automatically and by hand) — with rewards awaiting a second approval,
approved and paid, and a member of staff's report that earns nothing.

Uses the demo accounts ``yinqueshan``/``lanshan`` (officials), ``reward`` and ``reward2``
(reward officers) created by :mod:`participation.demo`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from participation.accounts.models import User
from participation.core.timeutil import utcnow
from participation.reports import service
from participation.reports.models import Report

# street code, centre (lat, lon)
STREETS = {
    "371302001": (35.0690, 118.3420),  # 兰山街道
    "371302002": (35.0605, 118.3430),  # 银雀山街道
    "371302003": (35.0520, 118.3560),  # 金雀山街道
}
KIND_PREFIX = {"street_lamp": "LD", "public_toilet": "GC", "billboard": "GG", "bin": "LJ"}
KIND_ZH = {"street_lamp": "路灯", "public_toilet": "公厕", "billboard": "广告牌", "bin": "垃圾桶"}
DESCRIPTIONS = {
    "illegal_construction": "小区楼顶新搭建彩钢板房，未见规划许可公示。",
    "street_vending": "早高峰有流动摊贩占用人行道经营早点。",
    "exposed_garbage": "路边绿化带内堆放生活垃圾，已有异味。",
    "illegal_dumping": "夜间有车辆在空地倾倒建筑渣土。",
    "broken_facility": "人行道护栏断裂，存在安全隐患。",
    "street_lamp_out": "路灯连续几晚不亮，夜间行人不便。",
    "toilet_unclean": "公厕地面湿滑，洗手台无水。",
    "illegal_billboard": "临街店铺私设大型广告牌，固定不牢。",
    "overflowing_bin": "垃圾桶已满，垃圾散落在地面。",
}
PHONES = ["13805391001", "13905391002", "15005391003", "15805391004", "18605391005"]
STAFF_PHONE = "13705391999"


def _user_id(session: Session, username: str) -> int:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None or user.id is None:
        raise RuntimeError(f"demo account {username} is missing")
    return user.id


def build_demo(session: Session, ctx: Any) -> None:
    """Facilities, reports in every state, duplicates, rewards and payouts."""
    settings = ctx.settings
    rng = ctx.rng
    service.ensure_catalogue(session)
    official = _user_id(session, "yinqueshan")
    county = _user_id(session, "lanshan")
    reward, reward2 = _user_id(session, "reward"), _user_id(session, "reward2")

    street_names = service.street_names(session, STREETS)
    facilities = []
    for street, (lat, lon) in STREETS.items():
        for kind, prefix in KIND_PREFIX.items():
            for n in range(1, 4):
                facilities.append(
                    service.add_facility(
                        session,
                        code=f"{prefix}-{street[-3:]}-{n:03d}",
                        kind=kind,
                        lat=round(lat + float(rng.normal(0, 0.004)), 6),
                        lon=round(lon + float(rng.normal(0, 0.004)), 6),
                        name=f"{street_names.get(street, street)}{KIND_ZH[kind]}{n}号",
                        street_code=street,
                    )
                )
    service.add_staff_phone(session, settings, STAFF_PHONE, label="城管执法队员（演示）")

    now = utcnow()
    start = now - timedelta(days=30)
    made: list[Report] = []

    def file(
        at: Any,
        category: str,
        street: str,
        *,
        phone: str = "",
        facility: Any = None,
        offset: tuple[float, float] | None = None,
    ) -> Report:
        lat, lon = STREETS[street]
        if offset is None:
            offset = (float(rng.normal(0, 0.006)), float(rng.normal(0, 0.006)))
        report = service.file_report(
            session,
            settings,
            service.ReportInput(
                category_code=category,
                description=DESCRIPTIONS[category],
                lat=None if facility else round(lat + offset[0], 6),
                lon=None if facility else round(lon + offset[1], 6),
                street_code=street,
                facility_code=facility.code if facility else "",
                phone=phone,
                name="市民" if phone else "",
            ),
            now=at,
        )
        made.append(report)
        return report

    categories = list(DESCRIPTIONS)
    streets = list(STREETS)
    # Thirty days of ordinary reports.
    for day in range(28):
        for _ in range(int(rng.integers(1, 3))):
            at = start + timedelta(days=day, hours=float(rng.uniform(7, 21)))
            category = categories[int(rng.integers(len(categories)))]
            phone = PHONES[int(rng.integers(len(PHONES)))] if rng.random() < 0.7 else ""
            file(at, category, streets[int(rng.integers(len(streets)))], phone=phone)
    # A problem reported three times: the later two are linked automatically.
    first = file(
        now - timedelta(days=6),
        "illegal_dumping",
        "371302002",
        phone=PHONES[0],
        offset=(0.001, 0.001),
    )
    file(
        now - timedelta(days=6, minutes=-10),
        "illegal_dumping",
        "371302002",
        phone=PHONES[1],
        offset=(0.0012, 0.0011),
    )
    file(now - timedelta(days=5), "illegal_dumping", "371302002", offset=(0.0009, 0.0013))
    # Facility reports through their service codes.
    for facility in facilities[::5]:
        file(
            now - timedelta(days=float(rng.uniform(0.5, 10))),
            facility.categories[0],
            facility.street_code,
            phone=PHONES[int(rng.integers(len(PHONES)))],
            facility=facility,
        )
    # A report by a member of staff (no reward) and a major case (four eyes).
    staff = file(
        now - timedelta(days=3),
        "street_vending",
        "371302003",
        phone=STAFF_PHONE,
        offset=(0.02, 0.02),
    )
    major = file(
        now - timedelta(days=4),
        "illegal_construction",
        "371302001",
        phone=PHONES[2],
        offset=(0.015, -0.01),
    )
    major_paid = file(
        now - timedelta(days=20),
        "illegal_construction",
        "371302003",
        phone=PHONES[3],
        offset=(-0.015, 0.01),
    )
    # Fresh reports, still waiting for triage or verification.
    for hours, category, street in (
        (2, "street_lamp_out", "371302001"),
        (4, "exposed_garbage", "371302003"),
        (6, "toilet_unclean", "371302002"),
        (18, "broken_facility", "371302001"),
        (20, "street_vending", "371302002"),
    ):
        file(now - timedelta(hours=hours), category, street, phone=PHONES[4], offset=(0.03, -0.03))
    session.flush()

    def settle(report: Report, hours: float) -> datetime:
        """When an official acted on ``report``: some hours after filing, never in the future."""
        return min(now - timedelta(minutes=30), report.created_at + timedelta(hours=hours))

    def decide(report: Report, user_id: int, outcome: str, **kw: Any) -> None:
        record = service.verify(session, report, user_id, outcome, **kw)
        when = settle(report, float(rng.uniform(3, 30)))
        record.created_at = report.verified_at = report.updated_at = when
        session.add(record)
        session.add(report)

    # Verify most of what is older than a day; leave the newest new or triaged.
    decided = 0
    for report in sorted(made, key=lambda r: r.created_at):
        if report.status == "duplicate":
            continue
        age = now - report.created_at
        category = service.get_category(session, report.category_code)
        severity = category.severities[0]
        if report in (major, major_paid):
            decide(report, county, "true", severity="major", note="现场核查属实，已立案。")
            continue
        if report is staff or report is first:
            decide(report, official, "true", severity=severity)
            continue
        if age < timedelta(hours=12):
            continue
        if age < timedelta(days=1):
            service.triage(session, report, official, severity=severity)
            report.triaged_at = report.updated_at = settle(report, 2)
            continue
        roll = rng.random()
        if roll < 0.72:
            decide(report, official, "true", severity=severity, note="现场核查属实。")
        else:
            decide(report, official, "false", note="现场未发现所述问题。")
        decided += 1
    # One hand-made duplicate link.
    later = [r for r in made if r.status == "new" and r.category_code != "illegal_dumping"]
    if later:
        same = [
            r
            for r in made
            if r.status == "confirmed"
            and r.category_code == later[0].category_code
            and r.created_at < later[0].created_at
        ]
        earlier = same or [r for r in made if r.status == "confirmed"]
        if earlier:
            decide(
                later[0],
                official,
                "duplicate",
                duplicate_of=earlier[-1].tracking_code,
                note="与此前举报为同一问题。",
            )
    session.flush()

    # Rewards: approve every eligible report; pay those older than a week.
    rewarded = paid = 0
    for report in sorted(made, key=lambda r: r.created_at):
        if report.status != "confirmed":
            continue
        check = service.eligibility(session, settings, report, report.verified_at or now)
        if not check.eligible:
            continue
        at = min(now - timedelta(minutes=20), (report.verified_at or now) + timedelta(hours=2))
        item = service.approve_reward(session, settings, report.id or 0, reward, now=at)
        rewarded += 1
        if item.major:
            if report is major:
                continue  # left awaiting the second officer
            service.approve_reward(
                session, settings, report.id or 0, reward2, now=at + timedelta(minutes=40)
            )
        if now - report.created_at > timedelta(days=7) and item.id is not None:
            paid_at = min(now - timedelta(minutes=5), at + timedelta(days=2))
            service.pay_reward(session, item.id, reward2, reference=f"ZF{item.id:05d}", now=paid_at)
            paid += 1
    session.flush()
    ctx.echo(
        f"  reports: {len(facilities)} facilities with service codes, {len(made)} reports "
        f"({decided} verified), {rewarded} rewards ({paid} paid)"
    )
