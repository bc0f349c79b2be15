"""Weighted estimates of a closed wave for every street, county and the city (``WaveResult``).

The statistics are those of the analysis engine (``participation.analysis``); this module
gathers the wave's respondents and population figures from the database and stores the results.

Method (recorded in ``WaveResult.method``):

1. Respondents: complete responses of the wave; open-link responses only when the wave's
   settings say ``include_open_link`` (they are a non-probability sample).
2. Design (base) weights from the allocation: ``N_h / n_h`` in street ``h`` (adult population
   over completed interviews). With telephone frames on file for the street, a respondent's
   weight is first the dual-frame weight (``allocation.dual_frame_weight``, single-frame
   multiplicity: ``1/(π_mobile + π_landline)`` for those reachable by both, from the question
   ``other_phone``), then scaled so the street's weights sum to ``N_h``.
3. Raking (``analysis.weights.rake``) to two margins: the street totals and the city's
   sex × age-group cells (``PopulationCell``), scaled to the streets that have respondents.
   Respondents without sex or age form their own level, held at its base-weight total; the
   population of a cell without respondents is spread over the other cells (proportionally).
   When the two margins cannot both be met (tiny samples), the weights stay the base weights
   (which already hit the street totals) and the method says so: never a silent half-raking.
4. Estimates (``analysis.estimates``): weighted mean of the 0–100 score, of each dimension
   index and share of satisfied respondents, for every street, county (all its streets) and
   city, each level in one vectorised pass. Design stratified by street, respondents as
   with-replacement units; Taylor linearization with the calibration residuals of the raking
   (R ``survey``'s ``calibrate(calfun = "raking")``); a street with one respondent adds no
   variance. 95 % intervals: mean ± 1.96·SE (clipped to 0–100); for the rate a logit interval
   with the domain's degrees of freedom (R ``svyciprop``), Wilson with Kish's effective sample
   size when the rate is 0 or 1.

County results are design-based domain estimates; the mean-of-streets rule of the assessment
scheme is applied by the scoring domain.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np
from sqlalchemy import bindparam, delete, func
from sqlmodel import Session, col, select

from participation.analysis.estimates import domain_estimates, proportion_interval
from participation.analysis.variance import Calibration, Design, normal_quantile
from participation.analysis.weights import Margin, WeightingError
from participation.analysis.weights import rake as rake_weights
from participation.core.errors import ConflictError
from participation.core.i18n import N_
from participation.geography.models import Level, PopulationCell, Unit
from participation.surveys.allocation import dual_frame_weight
from participation.surveys.models import FrameNumber, Mode, Response, WaveResult, WaveStatus
from participation.surveys.service import form_of, get_questionnaire, get_wave, street_populations

Z = normal_quantile(0.95)
METHOD = (
    "base N_h/n_h (dual-frame multiplicity); rake(street, sex×age); stratified by street; "
    "Taylor linearization with raking residuals; logit CI"
)
METHOD_UNRAKED = (
    "base N_h/n_h (dual-frame multiplicity); sex×age raking impossible ({reason}); "
    "stratified by street; Taylor linearization; logit CI"
)


def rake(
    weights: np.ndarray,
    margins: list[tuple[np.ndarray, dict[int, float]]],
    max_iter: int = 1000,
    tol: float = 1e-10,
) -> np.ndarray:
    """Raking by the engine, for margins given as (category code per unit, target total per
    category); raises :class:`~participation.analysis.weights.WeightingError` when the margins
    cannot be met."""
    engine_margins = []
    for k, (codes, targets) in enumerate(margins):
        size = max(max(targets, default=-1), int(np.max(codes, initial=-1))) + 1
        totals = np.array([float(targets.get(c, 0.0)) for c in range(size)])
        engine_margins.append(Margin(f"margin{k}", codes, [str(c) for c in range(size)], totals))
    return rake_weights(weights, engine_margins, tol=tol, max_iter=max_iter).weights


def domain_mean(
    y: np.ndarray, w: np.ndarray, strata: np.ndarray, in_domain: np.ndarray
) -> tuple[float | None, float | None, int]:
    """Weighted mean of ``y`` over a domain with its linearized SE (stratified, with
    replacement, by the engine); ``y`` may hold NaN for units without a value."""
    design = Design(w, strata=strata, lonely_psu="remove")
    est = domain_estimates(design, y, np.where(in_domain, 0, -1), 1)
    n = int(est.n[0, 0])
    if n == 0:
        return None, None, 0
    se = float(est.se[0, 0])
    return float(est.estimate[0, 0]), (se if n > 1 else None), n


def rate_interval(
    p: float, se: float | None, n_eff: float, df: float = math.inf
) -> tuple[float | None, float | None]:
    """95 % interval of a proportion: logit (t with ``df``), or Wilson with the effective
    sample size ``n_eff`` at 0 or 1."""
    if se is None:
        return None, None
    if 0 < p < 1 and se > 0:
        low, high = proportion_interval(p, se, "logit", df=df)
    else:
        low, high = proportion_interval(p, se, "wilson", n_eff=max(n_eff, 1.0))
    return max(0.0, float(low)), min(1.0, float(high))


def _frame_probabilities(session: Session) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for street, frame, n in session.exec(
        select(FrameNumber.street_code, FrameNumber.frame_type, func.count()).group_by(
            FrameNumber.street_code, FrameNumber.frame_type
        )
    ):
        counts[street][frame] = int(n)
    return counts


def compute_wave_results(session: Session, wave_id: int) -> int:
    """Compute and store the street, county and city estimates of a closed or published wave;
    returns the number of units written."""
    wave = get_wave(session, wave_id)
    if wave.status not in (WaveStatus.CLOSED.value, WaveStatus.PUBLISHED.value):
        raise ConflictError(
            N_("Estimates are computed for closed waves; this wave is %(status)s."),
            field="wave_id",
            status=wave.status,
        )
    if wave.questionnaire_id is None:
        raise ConflictError(N_("This wave has no questionnaire."), field="wave_id")
    form = form_of(get_questionnaire(session, wave.questionnaire_id))
    modes = [Mode.PHONE.value, Mode.WEB.value, Mode.IMPORTED.value]
    if (wave.settings or {}).get("include_open_link"):
        modes.append(Mode.OPEN_LINK.value)
    rows = session.exec(
        select(
            Response.id,
            Response.street_code,
            Response.score,
            Response.satisfied,
            Response.sex,
            Response.age_group,
            Response.frame_type,
            Response.answers,
        )
        .where(Response.wave_id == wave_id)
        .where(col(Response.complete).is_(True))
        .where(col(Response.mode).in_(modes))
        .order_by(Response.id)
    ).all()
    units = {u.code: u for u in session.exec(select(Unit))}
    populations = street_populations(session)
    session.execute(delete(WaveResult).where(col(WaveResult.wave_id) == wave_id))
    if not rows:
        session.flush()
        return 0
    ids = [r[0] for r in rows]
    streets = [r[1] for r in rows]
    street_codes = sorted(set(streets))
    street_index = {code: i for i, code in enumerate(street_codes)}
    strata = np.array([street_index[s] for s in streets])
    score = np.array([np.nan if r[2] is None else float(r[2]) for r in rows])
    satisfied = np.array([np.nan if r[3] is None else float(bool(r[3])) for r in rows])

    # 1–2: base weights
    n_h = np.bincount(strata, minlength=len(street_codes)).astype(float)
    frames = _frame_probabilities(session)
    base = np.empty(len(rows))
    for code, h in street_index.items():
        members = np.flatnonzero(strata == h)
        N_h = float(populations.get(code) or n_h[h])
        sizes = frames.get(code, {})
        raw = np.ones(len(members))
        if sizes.get("mobile") and sizes.get("landline"):
            sampled = defaultdict(int)
            for i in members:
                sampled[rows[i][6] or "mobile"] += 1
            pi = {f: sampled.get(f, 0) / sizes[f] for f in ("mobile", "landline")}
            for k, i in enumerate(members):
                frame = rows[i][6] if rows[i][6] in ("mobile", "landline") else None
                if frame is None or pi[frame] <= 0:
                    continue
                overlap = str((rows[i][7] or {}).get("other_phone", "")) == "1"
                raw[k] = dual_frame_weight(frame, overlap, pi)
        base[members] = raw * N_h / raw.sum()

    # 3: raking to street totals and the city's sex × age cells
    cells = defaultdict(float)
    for sex, age, pop in session.exec(
        select(PopulationCell.sex, PopulationCell.age_group, PopulationCell.population).where(
            col(PopulationCell.unit_code).in_(list(populations))
        )
    ):
        cells[(sex, age)] += pop
    cell_keys = sorted(cells)
    cell_index = {k: i for i, k in enumerate(cell_keys)}
    unknown = len(cell_keys)
    cell_codes = np.array([cell_index.get((r[4], r[5]), unknown) for r in rows])
    weights, calibration, method = _rake(
        base, strata, len(street_codes), cell_codes, cells, cell_keys, populations, street_codes
    )

    table = Response.__table__  # type: ignore[attr-defined]
    session.execute(
        table.update().where(table.c.id == bindparam("rid")).values(base_weight=bindparam("bw")),
        [{"rid": i, "bw": float(b)} for i, b in zip(ids, base, strict=True)],
    )

    # dimension indices per respondent
    dims = list(form.dimensions)
    dim_values = np.full((len(rows), len(dims)), np.nan)
    for k, r in enumerate(rows):
        result = form.score(r[7] or {})
        for j, name in enumerate(dims):
            if name in result.dimensions:
                dim_values[k, j] = result.dimensions[name]

    # 4: domains, one vectorised pass per level (street, county, city)
    county_of = {c: units[c].parent_code for c in street_codes if c in units}
    city_of = {
        county: units[county].parent_code
        for county in set(county_of.values())
        if county and county in units
    }
    levels: list[tuple[str, list[str], np.ndarray]] = [(Level.STREET.value, street_codes, strata)]
    for level, mapping in (
        (Level.COUNTY.value, county_of),
        (Level.CITY.value, {s: city_of.get(c or "") for s, c in county_of.items()}),
    ):
        codes = sorted({v for v in mapping.values() if v})
        index = {c: i for i, c in enumerate(codes)}
        per_street = np.array([index.get(mapping.get(s) or "", -1) for s in street_codes])
        levels.append((level, codes, per_street[strata]))

    design = Design(weights, strata=strata, calibration=calibration, lonely_psu="remove")
    Y = np.column_stack([score, satisfied, dim_values])
    results: list[WaveResult] = []
    for level, codes, membership in levels:
        if not codes:
            continue
        est = domain_estimates(design, Y, membership, len(codes))
        sat_valid = (membership >= 0) & ~np.isnan(satisfied)
        w_sat = weights[sat_valid]
        kish_num = np.bincount(membership[sat_valid], weights=w_sat, minlength=len(codes)) ** 2
        kish_den = np.bincount(membership[sat_valid], weights=w_sat**2, minlength=len(codes))
        for k, code in enumerate(codes):
            mean, se = _value(est, 0, k)
            p, p_se = _value(est, 1, k)
            n_eff = float(kish_num[k] / kish_den[k]) if kish_den[k] > 0 else 0.0
            p_low, p_high = (
                rate_interval(p, p_se, n_eff, float(est.df[k])) if p is not None else (None, None)
            )
            dimensions: dict[str, Any] = {}
            for j, name in enumerate(dims):
                d_mean, d_se = _value(est, 2 + j, k)
                if d_mean is not None:
                    dimensions[name] = {
                        "mean": round(d_mean, 3),
                        "se": d_se,
                        "n": int(est.n[2 + j, k]),
                    }
            results.append(
                WaveResult(
                    wave_id=wave_id,
                    unit_code=code,
                    level=level,
                    n=int(est.n_rows[k]),
                    mean=mean,
                    se=se,
                    ci_low=None if mean is None or se is None else max(0.0, mean - Z * se),
                    ci_high=None if mean is None or se is None else min(100.0, mean + Z * se),
                    p_satisfied=p,
                    p_se=p_se,
                    p_ci_low=p_low,
                    p_ci_high=p_high,
                    dimensions=dimensions,
                    method=method,
                )
            )
    session.add_all(results)
    session.flush()
    return len(results)


def _value(est: Any, j: int, k: int) -> tuple[float | None, float | None]:
    """Estimate and SE of variable ``j`` in domain ``k`` (no SE from a single respondent)."""
    n = int(est.n[j, k])
    if n == 0:
        return None, None
    se = float(est.se[j, k])
    return float(est.estimate[j, k]), (se if n > 1 and math.isfinite(se) else None)


def _rake(
    base: np.ndarray,
    strata: np.ndarray,
    n_streets: int,
    cell_codes: np.ndarray,
    cells: dict[tuple[str, str], float],
    cell_keys: list[tuple[str, str]],
    populations: dict[str, Any],
    street_codes: list[str],
) -> tuple[np.ndarray, Calibration | None, str]:
    """Rake the base weights to the street totals and the sex × age cells (scaled to the
    streets with respondents); see the module docstring for unknown and empty cells."""
    unknown = len(cell_keys)
    street_totals = np.bincount(strata, weights=base, minlength=n_streets)
    covered = sum(float(populations.get(c) or 0) for c in street_codes)
    everyone = sum(cells.values()) or 1.0
    total = float(base.sum())
    unknown_total = float(base[cell_codes == unknown].sum())
    present = np.bincount(cell_codes, minlength=unknown + 1)[:unknown] > 0
    raw = np.array([cells[k] * covered / everyone for k in cell_keys]) * present
    margins = [Margin("street", strata, street_codes, street_totals)]
    if raw.sum() > 0:
        known = raw * (total - unknown_total) / raw.sum()
        levels = [f"{s}/{a}" for s, a in cell_keys] + ["unknown"]
        margins.append(Margin("sex×age", cell_codes, levels, np.append(known, unknown_total)))
    try:
        raked = rake_weights(base, margins)
    except WeightingError as exc:
        return base, None, METHOD_UNRAKED.format(reason=str(exc))[:200]
    return raked.weights, Calibration.from_rake(base, raked), METHOD
