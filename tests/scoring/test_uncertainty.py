"""Scoring's uncertainty verdicts come from the statistical engine (participation.analysis)."""

import math

import numpy as np

from participation.analysis import compare, ranks
from participation.scoring import uncertainty

SCORES = [83.8, 93.4, 70.8, 63.8, 88.4, 77.0]
SES = [math.sqrt(3.56)] * 5 + [math.sqrt(13.28)]


def test_rank_intervals_are_marginal_rank_confidence_sets():
    sets = ranks.rank_confidence_sets(
        SCORES, se=SES, stepdown=True, replications=uncertainty.REPLICATIONS, seed=uncertainty.SEED
    )
    expected = list(zip(sets.lower, sets.upper, strict=True))
    assert uncertainty.rank_intervals(SCORES, SES, 0.95) == expected
    # Reproducible (fixed seed) and every interval contains the point rank.
    assert uncertainty.rank_intervals(list(SCORES), list(SES), 0.95) == expected
    point = ranks.point_ranks(SCORES)
    assert all(lo <= r <= hi for (lo, hi), r in zip(expected, point, strict=True))
    assert uncertainty.rank_intervals([], [], 0.95) == []


def test_plausible_bottom_is_the_tau_worst_set():
    members = ranks.tau_worst(
        SCORES, se=SES, tau=2, stepdown=True, replications=1000, seed=uncertainty.SEED
    ).members
    assert uncertainty.plausible_bottom(SCORES, SES, 2, 0.95) == set(members) == {2, 3, 5}
    assert uncertainty.plausible_bottom(SCORES, SES, 0, 0.95) == set()
    assert uncertainty.plausible_bottom(SCORES, SES, 6, 0.95) == set(range(6))


def test_below_mean_uses_holm_and_the_weights_of_the_mean():
    weights = [3000, 1000, 2000, 1500, 2500, 500]
    w = np.asarray(weights) / sum(weights)
    mean = float(w @ SCORES)
    verdicts = uncertainty.below_mean_significant(SCORES, SES, mean, 0.95, weights)
    result = compare.compare_with_mean(SCORES, se=SES, weights=weights)
    assert verdicts == [u.significant and u.difference < 0 for u in result.units]
    se = np.asarray(SES)
    var0 = (1 - w[0]) ** 2 * se[0] ** 2 + np.sum((w * se)[1:] ** 2)
    assert math.isclose(result.units[0].se, math.sqrt(var0), rel_tol=1e-12)
    # Zero weights (no populations on file) fall back to equal weights.
    equal = uncertainty.below_mean_significant(SCORES, SES, float(np.mean(SCORES)), 0.95, [0] * 6)
    assert equal == [False, False, True, True, False, False]
