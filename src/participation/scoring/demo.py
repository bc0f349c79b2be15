"""Scoring demo data: Linyi's scheme, the 2026 assessment and a published bulletin.

Runs after the surveys demo (six closed city waves of 2026 and one provincial wave with their
results). Without waves it prints a message and adds nothing.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session, col, func, select

from participation.accounts.models import User
from participation.scoring import service
from participation.scoring.config import linyi_config
from participation.surveys.models import Wave

YEAR = 2026


def build_demo(session: Session, ctx: Any) -> None:
    """Create Linyi's scheme (60% provincial + 40% city), the 2026 assessment and its bulletin."""
    waves = session.exec(
        select(func.count()).select_from(Wave).where(col(Wave.status).in_(service.USABLE_WAVES))
    ).one()
    if not waves:
        ctx.echo("  scoring: no closed survey wave (surveys demo absent); skipped")
        return
    city_user = session.exec(select(User).where(User.username == "city")).first()
    user_id = city_user.id if city_user else None
    version = service.create_scheme(
        session,
        code="linyi",
        name="临沂市城市管理满意度考核方案",
        name_en="Linyi city-management satisfaction assessment",
        config=linyi_config().model_dump(mode="json"),
        user_id=user_id,
    )
    assert version.id is not None
    # The bimonthly rankings of the year (city survey alone until the provincial one exists),
    # then the annual assessment, so escalation sees the earlier periods.
    city_waves = session.exec(
        select(Wave)
        .where(Wave.source == "city", col(Wave.status).in_(service.USABLE_WAVES))
        .order_by(Wave.period_end)
    ).all()
    for wave in city_waves:
        if wave.period_end.year == YEAR:
            service.assess(
                session, version.id, wave.name, wave.period_start, wave.period_end, user_id
            )
    annual = service.assess(
        session, version.id, f"{YEAR}年度考核", date(YEAR, 1, 1), date(YEAR, 12, 31), user_id
    )
    assert annual.id is not None
    bulletin = service.create_bulletin(
        session,
        annual.id,
        f"{YEAR}年度临沂市城市管理满意度测评结果通报",
        f"Linyi city-management satisfaction: {YEAR} assessment",
        "按照《临沂市城市管理满意度考核方案》，县区得分为省级测评60%与市级测评40%之和。",
        user_id,
    )
    assert bulletin.id is not None
    approver = city_user.role if city_user else "administrator"
    scope = city_user.unit_code if city_user else None
    service.approve_bulletin(session, bulletin.id, user_id, approver, scope)
    service.publish_bulletin(session, bulletin.id, approver, scope)
    lists = annual.results["lists"]
    ctx.echo(
        f"  scoring: scheme linyi v1, {len(city_waves) + 1} assessments, published bulletin "
        f"{bulletin.id}; talks: {len(lists['county_talks'])} counties, "
        f"{len(lists['street_talks'])} streets"
    )
