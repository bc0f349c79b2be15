"""Coverage simulation: repeated stratified samples from a known synthetic population, raked
to street totals and the city's sex and age margins; the 95 % intervals of the street means
(calibration-aware linearization, as R survey) must cover the true street means in 93.5–96.5 %
of the replications."""

from __future__ import annotations

import numpy as np
import pytest

from participation.analysis.estimates import domain_estimates, mean_interval
from participation.analysis.variance import Calibration, Design
from participation.analysis.weights import Margin, rake

STREETS = 40
PER_STREET = 2000
SAMPLE = 80
REPLICATIONS = 300


def population(rng: np.random.Generator) -> dict[str, np.ndarray]:
    street = np.repeat(np.arange(STREETS), PER_STREET)
    old_share = rng.uniform(0.15, 0.45, STREETS)[street]
    u = rng.random(street.size)
    age = np.where(u < old_share, 2, np.where(u < old_share + 0.35, 1, 0))
    sex = (rng.random(street.size) < 0.5).astype(int)
    level = rng.normal(0.0, 0.6, STREETS)[street] + 0.5 * (age == 2) - 0.3 * sex
    latent = level + rng.logistic(size=street.size)
    score = np.select([latent < -1.2, latent < -0.2, latent < 1.0], [0.0, 60.0, 80.0], 100.0)
    return {"street": street, "sex": sex, "age": age, "score": score}


@pytest.mark.slow
def test_street_intervals_cover_the_truth() -> None:
    rng = np.random.default_rng(20260301)
    pop = population(rng)
    truth = np.bincount(pop["street"], weights=pop["score"]) / PER_STREET
    sex_totals = np.bincount(pop["sex"], minlength=2).astype(float)
    age_totals = np.bincount(pop["age"], minlength=3).astype(float)
    street_totals = np.full(STREETS, float(PER_STREET))
    offsets = (np.arange(STREETS) * PER_STREET)[:, None]
    covered = 0
    total = 0
    for _ in range(REPLICATIONS):
        keys = rng.random((STREETS, PER_STREET))
        picked = (np.argpartition(keys, SAMPLE, axis=1)[:, :SAMPLE] + offsets).ravel()
        street = pop["street"][picked]
        base = np.full(picked.size, PER_STREET / SAMPLE)
        margins = [
            Margin("street", street, [str(s) for s in range(STREETS)], street_totals),
            Margin("sex", pop["sex"][picked], ["m", "f"], sex_totals),
            Margin("age", pop["age"][picked], ["18-39", "40-59", "60+"], age_totals),
        ]
        raked = rake(base, margins)
        design = Design(
            raked.weights, strata=street, calibration=Calibration.from_rake(base, raked)
        )
        est = domain_estimates(design, pop["score"][picked], street, STREETS)
        low, high = mean_interval(est.estimate[0], est.se[0])
        covered += int(np.sum((low <= truth) & (truth <= high)))
        total += STREETS
    rate = covered / total
    assert 0.935 <= rate <= 0.965, rate
