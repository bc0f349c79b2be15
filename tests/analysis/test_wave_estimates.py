"""The surveys domain's wave estimates run on the analysis engine: raked weights that hit the
street and sex × age margins, calibration-aware standard errors, logit intervals with the
domain's degrees of freedom, and an explicit method when raking is impossible."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest
from sqlmodel import Session, select

from participation.analysis.estimates import domain_estimates, proportion_interval
from participation.analysis.variance import Design
from participation.geography.models import PopulationCell
from participation.surveys.estimates import METHOD, _rake, compute_wave_results
from participation.surveys.models import Questionnaire, Response, WaveResult
from participation.surveys.service import form_of, street_populations, transition_wave
from participation.surveys.websurvey import build_response
from tests.surveys.helpers import STREET, fielding_wave, full_answers

OTHER = "371302001"
SEXES = ("female", "male")
AGES = ("18-29", "30-44", "45-59", "60+")
ITEMS = (
    "street_cleaning",
    "waste_collection",
    "street_vending",
    "signs_ads",
    "parking_order",
    "road_condition",
    "street_lighting",
    "parks",
    "street_trees",
    "enforcement_conduct",
)


def add(session: Session, wave_id: int, street: str, answers: list[dict]) -> None:
    q = session.exec(select(Questionnaire)).first()
    assert q is not None
    form = form_of(q)
    for a in answers:
        session.add(build_response(form, a, wave_id=wave_id, street_code=street, mode="phone"))
    session.commit()


def answers_for(rng: np.random.Generator, k: int) -> list[dict]:
    out = []
    for i in range(k):
        sex, age = SEXES[i % 2], AGES[(i // 2) % 4]
        good = rng.random() < 0.5
        items = {k: str(int(rng.integers(1, 3) if good else rng.integers(2, 5))) for k in ITEMS}
        out.append(full_answers(sex=sex, age_group=age, **items))
    return out


def test_wave_results_use_the_engine(session: Session, linyi: None) -> None:
    wave = fielding_wave(session)
    assert wave.id is not None
    rng = np.random.default_rng(4)
    add(session, wave.id, STREET, answers_for(rng, 24))
    add(session, wave.id, OTHER, answers_for(rng, 16))
    transition_wave(session, wave.id, "closed", "administrator")
    compute_wave_results(session, wave.id)
    session.commit()
    results = {r.unit_code: r for r in session.exec(select(WaveResult))}
    street = results[STREET]
    assert street.method == METHOD
    assert street.n == 24 and results["371302"].n == 40

    # recompute with the engine from the stored base weights and the population cells
    responses = list(session.exec(select(Response).order_by(Response.id)))
    codes = sorted({r.street_code for r in responses})
    strata = np.array([codes.index(r.street_code) for r in responses])
    base = np.array([r.base_weight for r in responses], dtype=float)
    score = np.array([np.nan if r.score is None else r.score for r in responses], dtype=float)
    populations = street_populations(session)
    cells: dict = defaultdict(float)
    for c in session.exec(select(PopulationCell)):
        if c.unit_code in populations:
            cells[(c.sex, c.age_group)] += c.population
    keys = sorted(cells)
    cell_codes = np.array([keys.index((r.sex, r.age_group)) for r in responses])
    weights, calibration, method = _rake(
        base, strata, len(codes), cell_codes, cells, keys, populations, codes
    )
    assert method == METHOD and calibration is not None
    design = Design(weights, strata=strata, calibration=calibration)
    est = domain_estimates(design, score, strata, len(codes))
    k = codes.index(STREET)
    assert street.mean == pytest.approx(est.estimate[0, k], rel=1e-9)
    assert street.se == pytest.approx(est.se[0, k], rel=1e-9)
    # the calibration residuals matter: without them the SE differs
    plain = domain_estimates(Design(weights, strata=strata), score, strata, len(codes))
    assert plain.se[0, k] != pytest.approx(street.se, rel=1e-6)
    # logit interval with the street's degrees of freedom (24 respondents - 1 stratum)
    assert street.p_satisfied is not None and 0 < street.p_satisfied < 1
    low, high = proportion_interval(street.p_satisfied, street.p_se, "logit", df=23)
    assert street.p_ci_low == pytest.approx(float(low), rel=1e-9)
    assert street.p_ci_high == pytest.approx(float(high), rel=1e-9)
    # the weights hit the street totals
    assert np.bincount(strata, weights=weights) == pytest.approx(np.bincount(strata, weights=base))


def test_impossible_raking_is_said(session: Session, linyi: None) -> None:
    wave = fielding_wave(session)
    assert wave.id is not None
    # street A only women, street B only men: street and sex margins cannot both hold
    add(session, wave.id, STREET, [full_answers(sex="female", age_group="30-44")] * 3)
    add(session, wave.id, OTHER, [full_answers(sex="male", age_group="30-44")] * 2)
    transition_wave(session, wave.id, "closed", "administrator")
    compute_wave_results(session, wave.id)
    session.commit()
    methods = {r.method for r in session.exec(select(WaveResult))}
    assert len(methods) == 1
    method = methods.pop()
    assert method == METHOD or "raking impossible" in method
