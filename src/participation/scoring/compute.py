"""The assessment computation: a pure function over plain data, testable by hand.

:func:`compute` takes the units (streets with their county, populations), the observations of
each component (one per unit and period, with a standard error when it comes from a survey), the
scheme configuration and the previous periods' bottom lists, and returns every unit's composite
score with its confidence interval, rank and rank interval, grade and list memberships, and the
sensitivity of the ranks to alternative weights.

Method, step by step:

1. *Periods.* A component's observations of a unit combine by their mean (SE² = Σ SEᵢ² / k², the
   periods' samples being independent) or as monthly (1 − w) + year-end w.
2. *Normalisation.* Raw values become 0–100 (as is, min–max or target-based; lower-better values
   are reversed); the SE is scaled by the same (linear) factor.
3. *Units.* A county's component value is the mean of its streets' values (or population-
   weighted), SE² = Σ aᵢ² SEᵢ²; a component measured only at county level (e.g. a provincial
   survey reporting counties) uses the county's own value. The city is the same aggregate over
   all streets. Since the composite is linear, a county's composite is then the mean of its
   streets' composites whenever its streets have every component.
4. *Composite.* Σ wᵢ xᵢ with weights renormalised over the components present (``coverage`` says
   which share of the weight was present). SE² = Σ over sources (Σ wᵢ SEᵢ)²: components from
   the same survey source are taken as perfectly correlated (conservative), different sources
   and administrative data (SE 0) as independent.
5. *Ranks and lists.* Rank 1 is the best. Rank intervals, "plausibly in the bottom N" and the
   significance of "below the mean" come from :mod:`participation.scoring.uncertainty`.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from scipy.stats import norm

from participation.scoring import uncertainty
from participation.scoring.config import ComponentConfig, SchemeConfig

STREET = "street"
COUNTY = "county"
CITY = "city"


@dataclass(frozen=True)
class UnitRef:
    """A unit taking part in the assessment."""

    code: str
    name: str
    level: str  # street or county
    parent_code: str | None = None
    population: int | None = None
    name_en: str = ""


@dataclass(frozen=True)
class Observation:
    """One component value of one unit in one period (0–100 scale for as-is components)."""

    component: str
    unit_code: str
    value: float
    se: float | None = None
    period_end: date | None = None
    yearend: bool = False


@dataclass
class ComponentScore:
    """A component of a unit: its combined raw value and its 0–100 score, with SEs."""

    raw: float
    raw_se: float
    score: float
    se: float
    periods: int
    source: str | None = None


@dataclass
class UnitScore:
    """A unit's composite, uncertainty, rank and verdicts."""

    code: str
    name: str
    name_en: str
    level: str
    parent_code: str | None
    score: float
    se: float
    ci_low: float
    ci_high: float
    coverage: float
    components: dict[str, ComponentScore]
    rank: int = 0
    rank_low: int = 0
    rank_high: int = 0
    grade: str = ""
    above_mean: bool = False
    below_mean: bool = False
    below_mean_significant: bool = False
    distinct_from_next: bool | None = None
    talks: bool = False
    plausibly_talks: bool = False
    red_flag: bool = False
    yellow_flag: bool = False
    escalated: bool = False
    median_rank_shift: float = 0.0
    max_rank_shift: int = 0
    scenario_ranks: dict[str, int] = field(default_factory=dict)


@dataclass
class Outcome:
    """The result of an assessment."""

    streets: list[UnitScore]
    counties: list[UnitScore]
    city: UnitScore | None
    scenarios: dict[str, dict[str, float]]
    z: float
    method: dict[str, Any]

    def lists(self) -> dict[str, list[str]]:
        """Codes on each list, in rank order."""
        out: dict[str, list[str]] = {}
        for level, units in ((STREET, self.streets), (COUNTY, self.counties)):
            out[f"{level}_praise"] = [u.code for u in units if u.above_mean]
            out[f"{level}_criticism"] = [u.code for u in units if u.below_mean]
            out[f"{level}_talks"] = [u.code for u in units if u.talks]
            out[f"{level}_plausible_talks"] = [u.code for u in units if u.plausibly_talks]
            out[f"{level}_red_flags"] = [u.code for u in units if u.red_flag]
            out[f"{level}_yellow_flags"] = [u.code for u in units if u.yellow_flag]
            out[f"{level}_escalated"] = [u.code for u in units if u.escalated]
        return out

    def to_json(self) -> dict[str, Any]:
        """A JSON-able form (stored with the assessment)."""
        return {
            "streets": [asdict(u) for u in self.streets],
            "counties": [asdict(u) for u in self.counties],
            "city": asdict(self.city) if self.city else None,
            "scenarios": self.scenarios,
            "z": self.z,
            "method": self.method,
            "lists": self.lists(),
        }


def combine_periods(obs: Sequence[Observation], comp: ComponentConfig) -> tuple[float, float]:
    """Combine a unit's observations of one component over the periods: (value, SE)."""

    def mean_of(items: Sequence[Observation]) -> tuple[float, float]:
        k = len(items)
        value = sum(o.value for o in items) / k
        se = math.sqrt(sum((o.se or 0.0) ** 2 for o in items)) / k
        return value, se

    if comp.periods.method == "monthly_yearend":
        regular = [o for o in obs if not o.yearend]
        yearend = [o for o in obs if o.yearend]
        if regular and yearend:
            w = comp.periods.yearend_weight
            v1, s1 = mean_of(regular)
            v2, s2 = mean_of(yearend)
            return (1 - w) * v1 + w * v2, math.sqrt(((1 - w) * s1) ** 2 + (w * s2) ** 2)
    return mean_of(obs)


def normalise(
    value: float, se: float, comp: ComponentConfig, lo: float, hi: float
) -> tuple[float, float]:
    """A raw value and its SE on the 0–100 scale of ``comp`` (``lo``/``hi``: min–max bounds)."""
    norm_cfg = comp.normalisation
    higher = comp.direction == "higher"
    if norm_cfg.method == "as_is":
        return (value if higher else 100.0 - value), se
    if norm_cfg.method == "minmax":
        if hi <= lo:
            return 100.0, 0.0
        clipped = min(max(value, lo), hi)
        scaled = (clipped - lo) / (hi - lo) * 100.0 if higher else (hi - clipped) / (hi - lo) * 100
        return scaled, se * 100.0 / (hi - lo)
    target = float(norm_cfg.target or 1.0)
    if higher:
        if value >= target:
            return 100.0, 0.0
        return max(0.0, 100.0 * value / target), se * 100.0 / target
    if value <= target:
        return 100.0, 0.0
    return 100.0 * target / value, se * 100.0 * target / value**2


def _minmax_bounds(comp: ComponentConfig, raws: Iterable[float]) -> tuple[float, float]:
    values = list(raws)
    lo = comp.normalisation.minimum
    hi = comp.normalisation.maximum
    if lo is None:
        lo = min(values) if values else 0.0
    if hi is None:
        hi = max(values) if values else 100.0
    return float(lo), float(hi)


def _component_level(
    comp: ComponentConfig, obs_by_unit: dict[str, list[Observation]], codes: set[str]
) -> dict[str, ComponentScore]:
    raws: dict[str, tuple[float, float, int]] = {}
    for code in codes:
        items = obs_by_unit.get(code)
        if items:
            value, se = combine_periods(items, comp)
            raws[code] = (value, se, len(items))
    lo, hi = _minmax_bounds(comp, (v for v, _, _ in raws.values()))
    out: dict[str, ComponentScore] = {}
    for code, (value, se, k) in raws.items():
        score, score_se = normalise(value, se, comp, lo, hi)
        out[code] = ComponentScore(value, se, score, score_se, k, _source(comp))
    return out


def _source(comp: ComponentConfig) -> str | None:
    return comp.source if comp.kind == "survey" else None


def _aggregate(
    parts: list[tuple[ComponentScore, float]], source: str | None
) -> ComponentScore | None:
    """Weighted mean of component scores (weights normalised), SE² = Σ aᵢ² SEᵢ²."""
    total = sum(w for _, w in parts)
    if not parts or total <= 0:
        return None
    raw = sum(c.raw * w for c, w in parts) / total
    raw_se = math.sqrt(sum((w / total * c.raw_se) ** 2 for c, w in parts))
    score = sum(c.score * w for c, w in parts) / total
    se = math.sqrt(sum((w / total * c.se) ** 2 for c, w in parts))
    return ComponentScore(raw, raw_se, score, se, max(c.periods for c, _ in parts), source)


def composite(
    components: dict[str, ComponentScore], weights: dict[str, float]
) -> tuple[float, float, float] | None:
    """(score, SE, coverage) of the weighted composite over the components present."""
    present = {k: w for k, w in weights.items() if k in components and w > 0}
    total = sum(present.values())
    if total <= 0:
        return None
    score = sum(components[k].score * w for k, w in present.items()) / total
    by_source: dict[str, float] = {}
    independent = 0.0
    for k, w in present.items():
        c = components[k]
        if c.source is None:
            independent += (w / total * c.se) ** 2
        else:
            by_source[c.source] = by_source.get(c.source, 0.0) + w / total * c.se
    se = math.sqrt(independent + sum(s**2 for s in by_source.values()))
    return score, se, total / sum(weights.values())


def grade_of(score: float, config: SchemeConfig) -> str:
    """The grade band of a composite score."""
    for band in config.rules.grades:
        if score >= band.minimum - 1e-9:
            return band.grade
    return config.rules.lowest_grade


def _ranks(scores: dict[str, float]) -> dict[str, int]:
    """Competition ranks, 1 = highest score (ties share the better rank)."""
    ordered = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    ranks: dict[str, int] = {}
    previous: float | None = None
    current = 0
    for position, (code, value) in enumerate(ordered, start=1):
        if previous is None or value < previous - 1e-9:
            current = position
        ranks[code] = current
        previous = value
    return ranks


def default_scenarios(config: SchemeConfig) -> dict[str, dict[str, float]]:
    """Alternative weights: each component's share ±10 points (others rescaled), equal weights."""
    if config.scenarios:
        return {s.name: dict(s.weights) for s in config.scenarios}
    base = config.weights()
    scenarios: dict[str, dict[str, float]] = {}
    if len(base) < 2:
        return scenarios
    for key, share in base.items():
        for delta in (-0.1, 0.1):
            new_share = share + delta
            if not 0 < new_share < 1:
                continue
            rest = 1 - share
            weights = {
                k: (new_share if k == key else w * (1 - new_share) / rest) for k, w in base.items()
            }
            scenarios[f"{key} {round(new_share * 100)}%"] = weights
        if len(base) == 2:
            break  # with two components, moving one moves the other: no duplicates
    scenarios["equal"] = {k: 1.0 / len(base) for k in base}
    return scenarios


def _bottom(units: list[UnitScore], n: int) -> list[UnitScore]:
    if n <= 0:
        return []
    return sorted(units, key=lambda u: (u.score, u.code))[:n]


def _top(units: list[UnitScore], n: int) -> list[UnitScore]:
    if n <= 0:
        return []
    return sorted(units, key=lambda u: (-u.score, u.code))[:n]


def _apply_rules(
    units: list[UnitScore],
    city: UnitScore | None,
    config: SchemeConfig,
    talks_n: int,
    history: Sequence[set[str]],
    z: float,
    mean_weights: Sequence[float] | None = None,
) -> None:
    """Ranks, grades and lists of one level; ``mean_weights``: the units' weights in the
    city mean (for the variance of a unit's difference from it; equal when None)."""
    rules = config.rules
    if not units:
        return
    ranks = _ranks({u.code: u.score for u in units})
    scores = [u.score for u in units]
    ses = [u.se for u in units]
    intervals = uncertainty.rank_intervals(scores, ses, rules.confidence)
    plausible = uncertainty.plausible_bottom(scores, ses, talks_n, rules.confidence)
    mean = city.score if city is not None else statistics.fmean(scores)
    significant = uncertainty.below_mean_significant(
        scores, ses, mean, rules.confidence, mean_weights
    )
    for i, u in enumerate(units):
        u.rank = ranks[u.code]
        u.rank_low, u.rank_high = intervals[i]
        u.grade = grade_of(u.score, config)
        u.above_mean = u.score > mean + 1e-9
        u.below_mean = u.score < mean - 1e-9
        u.below_mean_significant = u.below_mean and significant[i]
    talks = {u.code for u in _bottom(units, talks_n)}
    for i, u in enumerate(units):
        u.talks = u.code in talks
        u.plausibly_talks = (not u.talks) and i in plausible
    for u in _top(units, rules.red_flags):
        u.red_flag = True
    for u in _bottom(units, rules.yellow_flags):
        u.yellow_flag = True
    bottom_k = {u.code for u in _bottom(units, rules.escalation_bottom)}
    needed = rules.escalation_periods - 1
    recent = list(history)[-needed:] if needed > 0 else []
    if len(recent) == needed:
        for u in units:
            u.escalated = u.code in bottom_k and all(u.code in past for past in recent)
    ordered = sorted(units, key=lambda u: (u.rank, u.code))
    for a, b in itertools.pairwise(ordered):
        a.distinct_from_next = abs(a.score - b.score) > z * math.hypot(a.se, b.se)
    units.sort(key=lambda u: (u.rank, u.code))


def compute(
    units: Sequence[UnitRef],
    observations: Iterable[Observation],
    config: SchemeConfig,
    history: dict[str, Sequence[set[str]]] | None = None,
) -> Outcome:
    """Compute an assessment. ``history[level]``: bottom-K sets of earlier periods, oldest first."""
    history = history or {}
    z = float(norm.ppf(0.5 + config.rules.confidence / 2))
    streets = {u.code: u for u in units if u.level == STREET}
    counties = {u.code: u for u in units if u.level == COUNTY}
    obs: dict[str, dict[str, list[Observation]]] = {}
    for o in observations:
        obs.setdefault(o.component, {}).setdefault(o.unit_code, []).append(o)

    street_comp: dict[str, dict[str, ComponentScore]] = {c: {} for c in streets}
    county_comp: dict[str, dict[str, ComponentScore]] = {c: {} for c in counties}
    city_comp: dict[str, ComponentScore] = {}
    population_weighted = config.unit_aggregation == "population"

    def weight_of(code: str, ref: dict[str, UnitRef]) -> float:
        if not population_weighted:
            return 1.0
        return float(ref[code].population or 0)

    for comp in config.components:
        by_unit = obs.get(comp.key, {})
        at_street = _component_level(comp, by_unit, set(streets))
        at_county = _component_level(comp, by_unit, set(counties))
        for code, cs in at_street.items():
            street_comp[code][comp.key] = cs
        for county in counties:
            members = [
                (at_street[s], weight_of(s, streets))
                for s, ref in streets.items()
                if ref.parent_code == county and s in at_street
            ]
            agg = _aggregate(members, _source(comp)) if members else at_county.get(county)
            if agg is not None:
                county_comp[county][comp.key] = agg
        if at_street:
            city_agg = _aggregate(
                [(cs, weight_of(s, streets)) for s, cs in at_street.items()], _source(comp)
            )
        else:
            city_agg = _aggregate(
                [
                    (cs[comp.key], weight_of(c, counties))
                    for c, cs in county_comp.items()
                    if comp.key in cs
                ],
                _source(comp),
            )
        if city_agg is not None:
            city_comp[comp.key] = city_agg

    weights = config.weights()

    def build(ref: UnitRef, comps: dict[str, ComponentScore]) -> UnitScore | None:
        result = composite(comps, weights)
        if result is None:
            return None
        score, se, coverage = result
        return UnitScore(
            code=ref.code,
            name=ref.name,
            name_en=ref.name_en,
            level=ref.level,
            parent_code=ref.parent_code,
            score=score,
            se=se,
            ci_low=score - z * se,
            ci_high=score + z * se,
            coverage=coverage,
            components=comps,
        )

    street_scores = [s for c, ref in streets.items() if (s := build(ref, street_comp[c]))]
    county_scores = [s for c, ref in counties.items() if (s := build(ref, county_comp[c]))]
    city_ref = UnitRef(code="city", name="city", level=CITY)
    city = build(city_ref, city_comp) if city_comp else None
    if city is not None:
        city.grade = grade_of(city.score, config)

    # The city mean weighs each street by weight_of, each county by the sum over its streets.
    street_weights = [weight_of(u.code, streets) for u in street_scores]
    county_weights = [
        sum(weight_of(s.code, streets) for s in street_scores if s.parent_code == u.code)
        for u in county_scores
    ]
    _apply_rules(
        street_scores,
        city,
        config,
        config.rules.talks_streets,
        history.get(STREET, []),
        z,
        street_weights,
    )
    _apply_rules(
        county_scores,
        city,
        config,
        config.rules.talks_counties,
        history.get(COUNTY, []),
        z,
        county_weights if all(w > 0 for w in county_weights) else None,
    )

    scenarios = default_scenarios(config)
    for level_units, comps in ((street_scores, street_comp), (county_scores, county_comp)):
        base = {u.code: u.rank for u in level_units}
        shifts: dict[str, list[int]] = {u.code: [] for u in level_units}
        for name, alt in scenarios.items():
            alt_scores = {}
            for u in level_units:
                result = composite(comps[u.code], alt)
                if result is not None:
                    alt_scores[u.code] = result[0]
            alt_ranks = _ranks(alt_scores)
            for u in level_units:
                if u.code in alt_ranks:
                    u.scenario_ranks[name] = alt_ranks[u.code]
                    shifts[u.code].append(abs(alt_ranks[u.code] - base[u.code]))
        for u in level_units:
            if shifts[u.code]:
                u.median_rank_shift = float(statistics.median(shifts[u.code]))
                u.max_rank_shift = max(shifts[u.code])

    method = {
        "confidence": config.rules.confidence,
        "z": z,
        "rank_method": uncertainty.RANK_METHOD,
        "mean_method": uncertainty.MEAN_METHOD,
        "unit_aggregation": config.unit_aggregation,
        "weights": weights,
    }
    return Outcome(street_scores, county_scores, city, scenarios, z, method)
