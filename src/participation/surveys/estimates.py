"""Weighted estimates of a closed wave for every street, county and the city (``WaveResult``).

Method (recorded in ``WaveResult.method``):

1. Respondents: complete responses of the wave; open-link responses only when the wave's
   settings say ``include_open_link`` (they are a non-probability sample).
2. Design (base) weights from the allocation: ``N_h / n_h`` in street ``h`` (adult population
   over completed interviews). With telephone frames on file for the street, a respondent's
   weight is first the dual-frame weight (``allocation.dual_frame_weight``, single-frame
   multiplicity: ``1/(π_mobile + π_landline)`` for those reachable by both, from the question
   ``other_phone``), then scaled so the street's weights sum to ``N_h``.
3. Raking (iterative proportional fitting) to the population margins: street totals and the
   city's sex × age-group cells (``PopulationCell``); respondents without sex or age keep
   their weight in that margin.
4. Estimates: weighted mean of the 0–100 score and weighted share of satisfied respondents, for
   each domain (street, county = all its streets, city). Variance by Taylor linearization of
   the ratio estimator under a design stratified by street (respondents as with-replacement
   units), which ignores the variance reduction of raking (conservative). 95 % intervals:
   mean ± 1.96·SE (clipped to 0–100); for the rate a logit interval (Wilson with the
   effective sample size when the rate is 0 or 1).

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

from participation.core.errors import ConflictError
from participation.core.i18n import N_
from participation.geography.models import Level, PopulationCell, Unit
from participation.surveys.allocation import dual_frame_weight
from participation.surveys.models import FrameNumber, Mode, Response, WaveResult, WaveStatus
from participation.surveys.service import form_of, get_questionnaire, get_wave, street_populations

Z = 1.959963984540054
METHOD = (
    "base N_h/n_h (dual-frame multiplicity); rake(street, sex×age); stratified by street; "
    "Taylor linearization; logit CI"
)


def rake(
    weights: np.ndarray,
    margins: list[tuple[np.ndarray, dict[int, float]]],
    max_iter: int = 100,
    tol: float = 1e-8,
) -> np.ndarray:
    """Iterative proportional fitting: ``margins`` are (category codes per unit, target total
    per category); units whose category has no target keep their weight in that margin."""
    w = weights.astype(float).copy()
    for _ in range(max_iter):
        change = 0.0
        for codes, targets in margins:
            sums = np.bincount(codes, weights=w, minlength=max(targets, default=0) + 1)
            factors = np.ones_like(sums)
            for category, target in targets.items():
                if sums[category] > 0:
                    factors[category] = target / sums[category]
            change = max(change, float(np.max(np.abs(factors - 1))))
            w *= factors[codes]
        if change < tol:
            break
    return w


def domain_mean(
    y: np.ndarray, w: np.ndarray, strata: np.ndarray, in_domain: np.ndarray
) -> tuple[float | None, float | None, int]:
    """Weighted mean of ``y`` over a domain with its linearized SE (stratified, with
    replacement); ``y`` may hold NaN for units without a value."""
    valid = in_domain & ~np.isnan(y)
    n = int(valid.sum())
    if n == 0:
        return None, None, 0
    total_w = float(w[valid].sum())
    mean = float((w[valid] * y[valid]).sum() / total_w)
    z = np.zeros_like(w)
    z[valid] = w[valid] * (y[valid] - mean) / total_w
    n_h = np.bincount(strata)
    s1 = np.bincount(strata, weights=z, minlength=n_h.size)
    s2 = np.bincount(strata, weights=z * z, minlength=n_h.size)
    usable = n_h > 1
    var = float(
        (n_h[usable] / (n_h[usable] - 1) * (s2[usable] - s1[usable] ** 2 / n_h[usable])).sum()
    )
    var = max(var, 0.0)
    return mean, (math.sqrt(var) if n > 1 else None), n


def rate_interval(p: float, se: float | None, n_eff: float) -> tuple[float | None, float | None]:
    """95 % interval of a proportion: logit, or Wilson (effective n) at 0 or 1."""
    if se is None:
        return None, None
    if 0 < p < 1 and se > 0:
        logit = math.log(p / (1 - p))
        half = Z * se / (p * (1 - p))
        return 1 / (1 + math.exp(-(logit - half))), 1 / (1 + math.exp(-(logit + half)))
    n = max(n_eff, 1.0)
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


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
    # targets scaled to the population of the streets that have respondents
    covered = sum(float(populations.get(c) or 0) for c in street_codes)
    everyone = sum(cells.values()) or 1.0
    known_share = float(base[cell_codes != unknown].sum() / base.sum())
    cell_targets = {cell_index[k]: cells[k] * covered / everyone * known_share for k in cell_keys}
    street_targets = {h: float(base[strata == h].sum()) for h in range(len(street_codes))}
    weights = rake(base, [(strata, street_targets), (cell_codes, cell_targets)])

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

    # 4: domains
    domains: list[tuple[str, str, np.ndarray]] = []
    for code in street_codes:
        domains.append((code, Level.STREET.value, strata == street_index[code]))
    by_county: dict[str, list[str]] = defaultdict(list)
    for code in street_codes:
        parent = units[code].parent_code if code in units else None
        if parent:
            by_county[parent].append(code)
    street_arr = np.array(streets)
    for county, members in sorted(by_county.items()):
        domains.append((county, Level.COUNTY.value, np.isin(street_arr, members)))
    cities = {units[c].parent_code for c in by_county if c in units and units[c].parent_code}
    for city in sorted(c for c in cities if c):
        city_streets = [
            s for c, ss in by_county.items() if units[c].parent_code == city for s in ss
        ]
        domains.append((city, Level.CITY.value, np.isin(street_arr, city_streets)))

    results: list[WaveResult] = []
    for code, level, mask in domains:
        mean, se, _n = domain_mean(score, weights, strata, mask)
        p, p_se, _ = domain_mean(satisfied, weights, strata, mask)
        w_dom = weights[mask & ~np.isnan(satisfied)]
        n_eff = float(w_dom.sum() ** 2 / (w_dom**2).sum()) if w_dom.size else 0.0
        p_low, p_high = rate_interval(p, p_se, n_eff) if p is not None else (None, None)
        dimensions: dict[str, Any] = {}
        for j, name in enumerate(dims):
            d_mean, d_se, d_n = domain_mean(dim_values[:, j], weights, strata, mask)
            if d_mean is not None:
                dimensions[name] = {"mean": round(d_mean, 3), "se": d_se, "n": d_n}
        results.append(
            WaveResult(
                wave_id=wave_id,
                unit_code=code,
                level=level,
                n=int(mask.sum()),
                mean=mean,
                se=se,
                ci_low=None if mean is None or se is None else max(0.0, mean - Z * se),
                ci_high=None if mean is None or se is None else min(100.0, mean + Z * se),
                p_satisfied=p,
                p_se=p_se,
                p_ci_low=p_low,
                p_ci_high=p_high,
                dimensions=dimensions,
                method=METHOD,
            )
        )
    session.add_all(results)
    session.flush()
    return len(results)
