"""Demo data of the volunteers domain: volunteers and teams of Lanshan district, a month of
supervisory visits with findings and photos, and the problems they opened in every state —
open, assigned, rectified (with proof photos), verified, reopened, and overdue ones.

Runs after the base demo (accounts ``volunteer1``, ``lanshan``, ``yinqueshan``). Photos are
small PNGs drawn with Pillow and stored like uploads (disk or S3, per the settings).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from io import BytesIO
from typing import Any

import numpy as np
from PIL import Image, ImageDraw
from sqlmodel import Session, col, select

from participation.accounts.models import User
from participation.accounts.roles import Role
from participation.core.crypto import Vault
from participation.core.timeutil import utcnow
from participation.core.web import CurrentUser
from participation.geography.models import Level, Unit
from participation.media import service as media
from participation.volunteers import service
from participation.volunteers.models import (
    Problem,
    ProblemEvent,
    Volunteer,
    VolunteerStatus,
)

COUNTY = "371302"  # 兰山区
DAYS = 30
NAMES = ("王丽", "张伟", "刘洋", "陈静", "杨帆", "赵敏", "黄磊", "周婷", "吴强", "徐颖")
NOTES = ("道路整体整洁", "早高峰人流较多", "雨后路面有积水", "商户配合较好", "夜间照明不足")
FINDINGS = {
    "exposed_garbage": ("路边垃圾堆放未清运", "绿化带内有生活垃圾"),
    "street_vending": ("流动摊贩占用人行道", "店外摆摊经营"),
    "parking": ("非机动车乱停放堵塞盲道", "车辆占用消防通道"),
    "broken_facility": ("路灯不亮", "井盖破损", "护栏缺失"),
    "illegal_construction": ("楼顶搭建彩钢棚", "沿街违规搭建雨棚"),
    "illegal_advertising": ("电线杆上小广告", "违规悬挂横幅"),
    "greening": ("绿地被踩踏裸露", "树木枯死未补植"),
}


def _actor(user: User) -> CurrentUser:
    assert user.id is not None
    return CurrentUser(user.id, user.username, user.display_name, user.role, user.unit_code)


def _picture(rng: np.random.Generator, clean: bool) -> bytes:
    """A small PNG: a street scene sketch, with litter unless ``clean``."""
    img = Image.new("RGB", (160, 120), (200, 215, 230))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 80, 160, 120), fill=(120, 120, 125))
    for x in range(10, 160, 40):
        h = int(rng.integers(30, 60))
        draw.rectangle(
            (x, 80 - h, x + 28, 80), fill=tuple(int(c) for c in rng.integers(90, 200, 3))
        )
    if not clean:
        for _ in range(int(rng.integers(3, 7))):
            x, y = int(rng.integers(10, 150)), int(rng.integers(85, 115))
            draw.ellipse((x, y, x + 8, y + 6), fill=(int(rng.integers(150, 255)), 60, 40))
    else:
        draw.text((6, 4), "OK", fill=(20, 120, 40))
    out = BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def _set_last_event_time(session: Session, problem_id: int, when: datetime) -> None:
    event = session.exec(
        select(ProblemEvent)
        .where(ProblemEvent.problem_id == problem_id)
        .order_by(col(ProblemEvent.id).desc())
    ).first()
    if event is not None:
        event.at = when
        session.add(event)


def build_demo(session: Session, ctx: Any) -> None:
    """Create the volunteers, teams, assignments, a month of visits and their problems."""
    rng: np.random.Generator = ctx.rng
    settings = ctx.settings
    service.ensure_defaults(session)
    users = {u.username: u for u in session.exec(select(User))}
    if "lanshan" not in users or "yinqueshan" not in users:
        ctx.echo("  volunteers: base demo accounts missing; skipped")
        return
    county = _actor(users["lanshan"])
    street_official = _actor(users["yinqueshan"])
    streets = list(
        session.exec(
            select(Unit.code)
            .where(Unit.parent_code == COUNTY, Unit.level == Level.STREET.value)
            .order_by(col(Unit.code))
        )
    )[:6]
    vault = Vault(settings)

    # volunteer1 (an account of the base demo) gets its volunteer record
    volunteers: list[Volunteer] = []
    if "volunteer1" in users:
        v1 = users["volunteer1"]
        phone = "13905390001"
        volunteers.append(
            Volunteer(
                user_id=v1.id,
                username=v1.username,
                name=v1.display_name,
                phone_enc=vault.encrypt(phone),
                phone_hash=vault.keyed_hash(phone),
                street_code=v1.unit_code or streets[0],
                status=VolunteerStatus.ACTIVE.value,
                decided_at=utcnow() - timedelta(days=60),
                decided_by=street_official.id,
            )
        )
        session.add(volunteers[0])
        session.flush()
    password = "demo-pass-2026"
    for i, name in enumerate(NAMES[:7]):
        street = streets[i % len(streets)]
        v = service.apply(
            session,
            settings,
            name=name,
            phone=f"1390539{1000 + i:04d}",
            street_code=street,
            username=f"volunteer{i + 2}",
            password=password,
        )
        service.decide(session, county, v.id or 0, approve=True)
        ctx.accounts.append((v.username, password, Role.VOLUNTEER.value, street))
        volunteers.append(v)
    for i, name in enumerate(NAMES[7:]):
        v = service.apply(
            session,
            settings,
            name=name,
            phone=f"1370539{2000 + i:04d}",
            street_code=streets[i % len(streets)],
            username=f"applicant{i + 1}",
            password=password,
            note="退休教师，周末有空" if i == 0 else "",
        )
        if i == 2:
            service.decide(session, county, v.id or 0, approve=False)

    team_a = service.create_team(session, county, "兰山区市民检查团第一组", COUNTY)
    team_b = service.create_team(session, street_official, "银雀山街道志愿者小组", "371302002")
    for i, v in enumerate(volunteers):
        service.set_team(session, county, v.id or 0, (team_a if i % 2 else team_b).id)
    standard = service.standards(session)[0]
    today = date.today()
    month_start = today - timedelta(days=DAYS)
    for i, street in enumerate(streets):
        service.create_assignment(
            session,
            county,
            unit_code=street,
            period_start=month_start,
            period_end=today + timedelta(days=30),
            team_id=(team_a if i % 2 else team_b).id,
            standard_id=standard.id,
            note="每周至少巡查两次",
        )

    accounts = {u.id: u for u in session.exec(select(User).where(User.role == "volunteer"))}
    now = utcnow()
    visits = problems = 0
    for day in range(DAYS, 0, -1):
        for _ in range(int(rng.integers(1, 4))):
            v = volunteers[int(rng.integers(0, len(volunteers)))]
            actor = _actor(accounts[v.user_id])
            start = now - timedelta(days=day, hours=float(rng.uniform(0, 8)))
            visit = service.start_visit(session, actor, standard_id=standard.id, started_at=start)
            street = (
                v.street_code if rng.random() < 0.7 else streets[int(rng.integers(0, len(streets)))]
            )
            results = {
                item["code"]: (
                    "fail" if rng.random() < 0.12 else ("na" if rng.random() < 0.05 else "pass")
                )
                for item in standard.items
            }
            service.update_visit(
                session,
                actor,
                visit.id or 0,
                lat=35.06 + float(rng.normal(0, 0.01)),
                lon=118.34 + float(rng.normal(0, 0.01)),
                location_source="gps",
                street_code=street,
                notes=str(rng.choice(NOTES)),
                results=results,
            )
            for item in standard.items:
                if results[item["code"]] != "fail":
                    continue
                photo = media.store_photo(
                    session,
                    settings,
                    _picture(rng, clean=False),
                    owner_kind=media.PENDING,
                    user_id=actor.id,
                )
                texts = FINDINGS.get(item["category"], ("发现问题",))
                service.add_finding(
                    session,
                    actor,
                    visit.id or 0,
                    category=item["category"],
                    item_code=item["code"],
                    description=str(rng.choice(texts)),
                    photo_keys=[photo.key],
                )
            ended = start + timedelta(minutes=float(rng.uniform(40, 150)))
            visit_row, opened = service.submit_visit(session, actor, visit.id or 0, ended_at=ended)
            visit_row.submitted_at = ended
            session.add(visit_row)
            visits += 1
            for problem in opened:
                _age(session, settings, rng, problem, ended, street_official, county, now)
                problems += 1
        session.flush()
    # a draft in progress for volunteer1
    if volunteers and volunteers[0].user_id in accounts:
        actor = _actor(accounts[volunteers[0].user_id])
        draft = service.start_visit(session, actor, standard_id=standard.id)
        service.update_visit(
            session,
            actor,
            draft.id or 0,
            street_code=volunteers[0].street_code,
            results={i["code"]: "pass" for i in standard.items[:3]},
        )
    states: dict[str, int] = {}
    for p in session.exec(select(Problem)):
        states[p.status] = states.get(p.status, 0) + 1
    ctx.echo(
        f"  volunteers: {len(volunteers)} volunteers, 2 teams, {visits} visits over {DAYS} days, "
        f"{problems} problems ({', '.join(f'{k} {n}' for k, n in sorted(states.items()))})"
    )


def _age(
    session: Session,
    settings: Any,
    rng: np.random.Generator,
    problem: Problem,
    opened: datetime,
    street_official: CurrentUser,
    county: CurrentUser,
    now: datetime,
) -> None:
    """Move a freshly opened problem along as the streets would have over the month."""
    assert problem.id is not None
    cat_days = (problem.deadline - problem.created_at).total_seconds() / 86400
    problem.created_at = opened
    problem.updated_at = opened
    problem.deadline = opened + timedelta(days=cat_days)
    _set_last_event_time(session, problem.id, opened)
    age_days = (now - opened).total_seconds() / 86400
    roll = float(rng.random())
    if age_days < 4 and roll < 0.6:
        return  # just opened
    assigned_at = opened + timedelta(hours=float(rng.uniform(1, 20)))
    officer = street_official if problem.street_code == street_official.unit_code else county
    service.transition(session, settings, officer, problem.id, "assign", note="已交办责任单位")
    problem.updated_at = assigned_at
    _set_last_event_time(session, problem.id, assigned_at)
    if roll < 0.15:
        return  # assigned, in progress (possibly overdue)
    late = rng.random() < 0.2
    span = cat_days * (float(rng.uniform(1.1, 1.8)) if late else float(rng.uniform(0.2, 0.9)))
    rectified_at = assigned_at + timedelta(days=span)
    if rectified_at >= now:
        return
    service.transition(
        session,
        settings,
        officer,
        problem.id,
        "rectify",
        note="已整改到位",
        photo_data=_picture(rng, clean=True),
    )
    problem.rectified_at = rectified_at
    problem.updated_at = rectified_at
    _set_last_event_time(session, problem.id, rectified_at)
    if roll < 0.3:
        return  # rectified, awaiting verification
    checked_at = rectified_at + timedelta(hours=float(rng.uniform(4, 48)))
    if checked_at >= now:
        return
    if roll < 0.4:
        service.transition(session, settings, county, problem.id, "reopen", note="复查仍未整改到位")
        problem.updated_at = checked_at
        _set_last_event_time(session, problem.id, checked_at)
        return
    service.transition(session, settings, county, problem.id, "verify", note="复查合格")
    problem.verified_at = checked_at
    problem.updated_at = checked_at
    _set_last_event_time(session, problem.id, checked_at)
    session.add(problem)
