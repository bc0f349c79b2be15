"""Dashboard data: the city overview, a unit's page and fieldwork progress (no HTTP here).

The overview shows the latest stored assessment; when none exists yet it computes a
provisional one (not stored) under the default scheme for the year of the latest closed wave.
Every function takes the viewer's scope (``streets_in_scope``: None = everything) and returns only
what that scope may see; ranks stay city-wide.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlmodel import Session, col, func, select

from participation.core.errors import ForbiddenError, NotFoundError
from participation.core.i18n import N_
from participation.geography.models import Level, Unit, UnitBoundary
from participation.scoring import service as scoring
from participation.scoring.compute import compute
from participation.scoring.config import GRADE_LABELS, SchemeConfig, linyi_config, parse_config
from participation.scoring.models import Scheme, SchemeVersion
from participation.surveys.models import Response, SampleCase, Wave, WaveResult, WaveStatus


@dataclass
class Scope:
    """What a viewer may see: street codes (None = all) and the unit codes around them."""

    streets: set[str] | None
    units: set[str] | None

    def street_visible(self, code: str) -> bool:
        """May the viewer see this street?"""
        return self.streets is None or code in self.streets

    def county_visible(self, code: str) -> bool:
        """May the viewer see this county (a county official's own county)?"""
        return self.units is None or code in self.units


def scope_for(session: Session, unit_code: str | None, role: str) -> Scope:
    """The scope of a viewer."""
    from participation.accounts.service import streets_in_scope, units_in_scope

    return Scope(
        streets_in_scope(session, unit_code, role), units_in_scope(session, unit_code, role)
    )


@dataclass
class TrendPoint:
    """One wave's estimate of a unit."""

    wave_id: int
    wave: str
    source: str
    period_end: date
    mean: float | None
    ci_low: float | None
    ci_high: float | None
    n: int


@dataclass
class Overview:
    """Everything the city overview shows."""

    label: str
    provisional: bool
    assessment_id: int | None
    scheme: str
    version: int | None
    config: SchemeConfig
    streets: list[dict[str, Any]]
    counties: list[dict[str, Any]]
    city: dict[str, Any] | None
    totals: dict[str, int]
    grade_counts: dict[str, dict[str, int]]
    trend: list[TrendPoint]
    lists: dict[str, list[str]]
    scenarios: list[str]
    method: dict[str, Any]
    boundaries: dict[str, Any] | None = None
    names: dict[str, str] = field(default_factory=dict)


def _usable_waves(session: Session) -> list[Wave]:
    return list(
        session.exec(
            select(Wave)
            .where(col(Wave.status).in_(scoring.USABLE_WAVES))
            .order_by(Wave.period_end, Wave.id)
        )
    )


def city_trend(session: Session, waves: list[Wave] | None = None) -> list[TrendPoint]:
    """The city's estimate per wave: its city-level result, else the mean of its streets'."""
    waves = waves if waves is not None else _usable_waves(session)
    return _level_trend(session, waves, Level.CITY.value, None)


def _level_trend(
    session: Session, waves: list[Wave], level: str, unit_code: str | None
) -> list[TrendPoint]:
    """Per wave: the unit's own result at ``level``, else the mean of its streets' results
    (SE² = Σ SEᵢ² / k², streets' samples independent)."""
    if not waves:
        return []
    ids = [w.id for w in waves]
    own_query = select(WaveResult).where(
        col(WaveResult.wave_id).in_(ids), WaveResult.level == level
    )
    if unit_code is not None:
        own_query = own_query.where(WaveResult.unit_code == unit_code)
    own = {r.wave_id: r for r in session.exec(own_query)}
    agg_query = (
        select(
            WaveResult.wave_id,
            func.avg(WaveResult.mean),
            func.sum(WaveResult.se * WaveResult.se),
            func.count(col(WaveResult.mean)),
            func.sum(WaveResult.n),
        )
        .where(col(WaveResult.wave_id).in_(ids), WaveResult.level == Level.STREET.value)
        .group_by(WaveResult.wave_id)
    )
    if unit_code is not None:
        agg_query = agg_query.join(Unit, col(Unit.code) == WaveResult.unit_code).where(
            Unit.parent_code == unit_code
        )
    street_rows = {row[0]: row[1:] for row in session.exec(agg_query).all()}
    out: list[TrendPoint] = []
    for w in waves:
        assert w.id is not None
        row = own.get(w.id)
        if row is not None and row.mean is not None:
            out.append(
                TrendPoint(
                    w.id, w.name, w.source, w.period_end, row.mean, row.ci_low, row.ci_high, row.n
                )
            )
            continue
        agg = street_rows.get(w.id)
        if agg is None or agg[0] is None or not agg[2]:
            continue
        mean, se2, count, n = agg
        se = (float(se2 or 0.0)) ** 0.5 / count
        out.append(
            TrendPoint(
                w.id,
                w.name,
                w.source,
                w.period_end,
                float(mean),
                float(mean) - 1.96 * se,
                float(mean) + 1.96 * se,
                int(n or 0),
            )
        )
    return out


def _provisional(session: Session, waves: list[Wave]) -> tuple[dict[str, Any], str, SchemeConfig]:
    """A provisional assessment (not stored) for the year of the latest wave."""
    version = scoring.default_version(session)
    config = parse_config(version.config) if version is not None else linyi_config()
    year = waves[-1].period_end.year if waves else date.today().year
    start, end = date(year, 1, 1), date(year, 12, 31)
    inputs = scoring.gather(session, config, start, end)
    outcome = compute(inputs.units, inputs.observations, config)
    return outcome.to_json(), str(year), config


def boundaries(session: Session, codes: set[str]) -> dict[str, Any] | None:
    """A GeoJSON FeatureCollection of the boundaries of ``codes`` (None when none is loaded)."""
    rows = session.exec(
        select(UnitBoundary).where(col(UnitBoundary.unit_code).in_(sorted(codes)))
    ).all()
    if not rows:
        return None
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": r.unit_code,
                "properties": {"code": r.unit_code},
                "geometry": json.loads(r.geometry),
            }
            for r in rows
        ],
    }


def overview(session: Session, scope: Scope) -> Overview | None:
    """The city overview for ``scope``; None when there is nothing to show yet."""
    assessment = scoring.latest_assessment(session)
    waves = _usable_waves(session)
    if assessment is not None:
        results = assessment.results
        version = session.get(SchemeVersion, assessment.scheme_version_id)
        scheme = session.get(Scheme, version.scheme_id) if version else None
        config = parse_config(version.config) if version else linyi_config()
        label, provisional, assessment_id = assessment.label, False, assessment.id
        scheme_name = scheme.name if scheme else ""
        version_no = version.version if version else None
    else:
        if not waves:
            return None
        results, label, config = _provisional(session, waves)
        if not results["streets"] and not results["counties"]:
            return None
        default = scoring.default_version(session)
        scheme = session.get(Scheme, default.scheme_id) if default else None
        provisional, assessment_id = True, None
        scheme_name = scheme.name if scheme else ""
        version_no = default.version if default else None
    streets = [u for u in results["streets"] if scope.street_visible(u["code"])]
    counties = [u for u in results["counties"] if scope.county_visible(u["code"])]
    grade_counts = {
        "street": dict(Counter(u["grade"] for u in streets)),
        "county": dict(Counter(u["grade"] for u in counties)),
    }
    visible = {u["code"] for u in streets} | {u["code"] for u in counties}
    lists = {k: [c for c in codes if c in visible] for k, codes in results.get("lists", {}).items()}
    names = {u["code"]: u["name"] for u in [*streets, *counties]}
    trend = city_trend(session, waves)
    return Overview(
        label=label,
        provisional=provisional,
        assessment_id=assessment_id,
        scheme=scheme_name,
        version=version_no,
        config=config,
        streets=streets,
        counties=counties,
        city=results.get("city"),
        totals={"street": len(results["streets"]), "county": len(results["counties"])},
        grade_counts=grade_counts,
        trend=trend,
        lists=lists,
        scenarios=list(results.get("scenarios", {})),
        method=results.get("method", {}),
        boundaries=boundaries(session, {u["code"] for u in counties} | {u["code"] for u in streets})
        if visible
        else None,
        names=names,
    )


GRADE_ORDER: tuple[str, ...] = ("excellent", "good", "pass", "fail")


def grade_label(grade: str) -> str:
    """The msgid of a grade."""
    return GRADE_LABELS.get(grade, grade)


# --- a unit's page -------------------------------------------------------------------------


@dataclass
class UnitPage:
    """Everything a unit's page shows."""

    unit: Unit
    county: Unit | None
    trend: list[TrendPoint]
    county_trend: list[TrendPoint]
    city_trend: list[TrendPoint]
    dimensions: list[tuple[str, float | None, float | None, float | None]]
    dimension_wave: str | None
    assessed: dict[str, Any] | None
    assessment_label: str | None
    city_score: float | None
    county_score: float | None
    panels: dict[str, Any]


def unit_trend(session: Session, code: str, waves: list[Wave]) -> list[TrendPoint]:
    """A unit's wave results, in period order."""
    by_id = {w.id: w for w in waves}
    rows = session.exec(
        select(WaveResult).where(
            WaveResult.unit_code == code, col(WaveResult.wave_id).in_(list(by_id))
        )
    ).all()
    points = [
        TrendPoint(
            r.wave_id,
            by_id[r.wave_id].name,
            by_id[r.wave_id].source,
            by_id[r.wave_id].period_end,
            r.mean,
            r.ci_low,
            r.ci_high,
            r.n,
        )
        for r in rows
    ]
    return sorted(points, key=lambda p: (p.period_end, p.wave_id))


def _dimensions(
    session: Session, code: str, waves: list[Wave]
) -> tuple[list[tuple[str, float | None, float | None, float | None]], str | None]:
    """(dimension, unit mean, unit SE, city mean) of the latest city wave with dimensions."""
    for wave in reversed(waves):
        row = session.exec(
            select(WaveResult).where(WaveResult.wave_id == wave.id, WaveResult.unit_code == code)
        ).first()
        if row is None or not row.dimensions:
            continue
        others = session.exec(
            select(WaveResult.dimensions).where(
                WaveResult.wave_id == wave.id, WaveResult.level == row.level
            )
        ).all()
        sums: dict[str, list[float]] = {}
        for dims in others:
            for name, stats in (dims or {}).items():
                if isinstance(stats, dict) and stats.get("mean") is not None:
                    sums.setdefault(name, []).append(float(stats["mean"]))
        out = []
        for name, stats in row.dimensions.items():
            values = sums.get(name, [])
            out.append(
                (
                    name,
                    stats.get("mean") if isinstance(stats, dict) else None,
                    stats.get("se") if isinstance(stats, dict) else None,
                    sum(values) / len(values) if values else None,
                )
            )
        return out, wave.name
    return [], None


def platform_panels(session: Session, code: str, start: date, end: date) -> dict[str, Any]:
    """Rectification and verified-report figures of a street for the period, when available."""
    panels: dict[str, Any] = {"rectification": None, "reports": None}
    try:
        from participation.volunteers.service import rectification_rates
    except ImportError:
        rectification_rates = None  # type: ignore[assignment]
    try:
        from participation.reports.service import verified_report_counts
    except ImportError:
        verified_report_counts = None  # type: ignore[assignment]
    if rectification_rates is not None:
        stats = rectification_rates(session, start, end).get(code)
        if stats is not None:
            panels["rectification"] = {
                "rate": getattr(stats, "rate", None),
                "on_time_rate": getattr(stats, "on_time_rate", None),
                "cases": getattr(stats, "cases", None),
            }
        else:
            panels["rectification"] = {}
    if verified_report_counts is not None:
        panels["reports"] = {"verified": verified_report_counts(session, start, end).get(code, 0)}
    return panels


def unit_page(session: Session, scope: Scope, code: str) -> UnitPage:
    """A unit's page, if the viewer's scope admits it (else 403)."""
    unit = session.get(Unit, code)
    if unit is None or unit.level not in (Level.STREET.value, Level.COUNTY.value):
        raise NotFoundError(N_("No street or county %(code)s."), field="code", code=code)
    allowed = (
        scope.street_visible(code)
        if unit.level == Level.STREET.value
        else scope.county_visible(code)
    )
    if not allowed:
        raise ForbiddenError(N_("Unit %(code)s is outside your scope."), field="code", code=code)
    county = session.get(Unit, unit.parent_code) if unit.level == Level.STREET.value else None
    waves = _usable_waves(session)
    trend = unit_trend(session, code, waves)
    county_trend = _level_trend(session, waves, Level.COUNTY.value, county.code) if county else []
    dims, dim_wave = _dimensions(session, code, waves)
    assessment = scoring.latest_assessment(session)
    assessed = None
    city_score = county_score = None
    label = None
    if assessment is not None:
        label = assessment.label
        results = assessment.results
        key = "streets" if unit.level == Level.STREET.value else "counties"
        assessed = next((u for u in results.get(key, []) if u["code"] == code), None)
        city_score = (results.get("city") or {}).get("score")
        if county is not None:
            county_score = next(
                (u["score"] for u in results.get("counties", []) if u["code"] == county.code), None
            )
    year = waves[-1].period_end.year if waves else date.today().year
    panels = (
        platform_panels(session, code, date(year, 1, 1), date(year, 12, 31))
        if unit.level == Level.STREET.value
        else {"rectification": None, "reports": None}
    )
    return UnitPage(
        unit=unit,
        county=county,
        trend=trend,
        county_trend=county_trend,
        city_trend=city_trend(session, waves),
        dimensions=dims,
        dimension_wave=dim_wave,
        assessed=assessed,
        assessment_label=label,
        city_score=city_score,
        county_score=county_score,
        panels=panels,
    )


# --- fieldwork -----------------------------------------------------------------------------


@dataclass
class FieldworkRow:
    """Progress of one street in a wave."""

    code: str
    name: str
    target: int
    cases: int
    released: int
    completes: int
    refusals: int
    progress: float | None
    response_rate: float | None
    rr3: float | None = None
    coop3: float | None = None


FINAL_NONRESPONSE = ("refused", "ineligible", "exhausted", "screened_out", "partial")


def fieldwork_waves(session: Session) -> list[Wave]:
    """Waves that have or had fieldwork, newest first."""
    return list(
        session.exec(
            select(Wave)
            .where(col(Wave.status) != WaveStatus.DRAFT.value)
            .order_by(col(Wave.period_end).desc(), col(Wave.id).desc())
        )
    )


def fieldwork(
    session: Session, scope: Scope, wave_id: int | None
) -> tuple[Wave | None, list[FieldworkRow]]:
    """Per street of a wave: target, cases, completes, a simple response rate and the AAPOR
    RR3 and COOP3 of the fieldwork domain (``participation.fieldwork.service.wave_rates``).

    Simple response rate = completes / (completes + final non-responses among the cases).
    """
    from participation.fieldwork.service import street_targets, wave_rates

    waves = fieldwork_waves(session)
    wave = next((w for w in waves if w.id == wave_id), None) if wave_id else None
    if wave is None and waves:
        wave = next((w for w in waves if w.status == WaveStatus.FIELDING.value), waves[0])
    if wave is None:
        return None, []
    case_rows = session.exec(
        select(
            SampleCase.street_code,
            SampleCase.status,
            col(SampleCase.released),
            func.count(),
        )
        .where(SampleCase.wave_id == wave.id)
        .group_by(SampleCase.street_code, SampleCase.status, col(SampleCase.released))
    ).all()
    completes = dict(
        session.exec(
            select(Response.street_code, func.count())
            .where(Response.wave_id == wave.id, col(Response.complete).is_(True))
            .group_by(Response.street_code)
        ).all()
    )
    stats: dict[str, dict[str, int]] = {}
    for street, status, released, count in case_rows:
        s = stats.setdefault(street, {"cases": 0, "released": 0, "final_nr": 0, "refused": 0})
        s["cases"] += count
        if released:
            s["released"] += count
        if status in FINAL_NONRESPONSE:
            s["final_nr"] += count
        if status == "refused":
            s["refused"] += count
    assert wave.id is not None
    targets = street_targets(wave)
    aapor = {r.key: r.rates for r in wave_rates(session, wave.id).streets}
    streets = session.exec(
        select(Unit).where(Unit.level == Level.STREET.value).order_by(Unit.code)
    ).all()
    rows: list[FieldworkRow] = []
    for u in streets:
        if not scope.street_visible(u.code):
            continue
        s = stats.get(u.code, {"cases": 0, "released": 0, "final_nr": 0, "refused": 0})
        done = int(completes.get(u.code, 0))
        target = targets.get(u.code, wave.target_per_street)
        rates = aapor.get(u.code, {})
        resolved = done + s["final_nr"]
        rows.append(
            FieldworkRow(
                code=u.code,
                name=u.name,
                target=target,
                cases=s["cases"],
                released=s["released"],
                completes=done,
                refusals=s["refused"],
                progress=done / target if target else None,
                response_rate=done / resolved if resolved else None,
                rr3=rates.get("RR3"),
                coop3=rates.get("COOP3"),
            )
        )
    return wave, rows
