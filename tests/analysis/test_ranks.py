"""Rank confidence sets against a base-R reference on shared draws, and their properties."""

import json
import time
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

from participation.analysis import ranks

HERE = Path(__file__).parent / "r"
REF = json.loads((HERE / "ranks_reference.json").read_text())
DRAWS = np.loadtxt(HERE / "ranks_draws.csv", delimiter=",", skiprows=1)
THETA = np.asarray(REF["theta"])
SE = np.asarray(REF["se"])
FULL = np.asarray(REF["Sigma_full"])


def _cov(case):
    return {"cov": FULL} if case["cov"][0] == "full" else {"se": SE}


CASES = [c for c in REF["cases"] if c["cstype"][0] != "subset"]
SUBSETS = [c for c in REF["cases"] if c["cstype"][0] == "subset"]


def _id(case):
    return f"{case['cov'][0]}-{case['cstype'][0]}-{'stepdown' if case['stepdown'][0] else 'single'}"


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_marginal_and_simultaneous_sets_match_the_r_reference(case):
    common = dict(draws=DRAWS, cstype=case["cstype"][0], stepdown=case["stepdown"][0], **_cov(case))
    marginal = ranks.rank_confidence_sets(THETA, simultaneous=False, **common)
    assert list(marginal.lower) == case["marginal"]["L"]
    assert list(marginal.upper) == case["marginal"]["U"]
    assert_allclose(marginal.critical_values, case["marginal"]["crit"], rtol=1e-10)
    simul = ranks.rank_confidence_sets(THETA, simultaneous=True, **common)
    assert list(simul.lower) == case["simultaneous"]["L"]
    assert list(simul.upper) == case["simultaneous"]["U"]
    assert_allclose(simul.critical_values[0], case["simultaneous"]["crit"][0], rtol=1e-10)
    assert simul.replications == DRAWS.shape[0] and marginal.rank == tuple(range(1, 11))
    # Simultaneous sets contain the marginal ones.
    assert all(s <= m for s, m in zip(simul.lower, marginal.lower, strict=True))
    assert all(s >= m for s, m in zip(simul.upper, marginal.upper, strict=True))


@pytest.mark.parametrize("case", SUBSETS, ids=lambda c: f"{c['cov'][0]}-{c['stepdown'][0]}")
def test_subsets_and_tau_sets_match_the_r_reference(case):
    stepdown = case["stepdown"][0]
    sub = ranks.rank_confidence_sets(
        THETA, coverage=0.90, simultaneous=True, indices=case["subset"], draws=DRAWS,
        stepdown=stepdown, **_cov(case),
    )  # fmt: skip
    assert list(sub.lower) == case["subset_result"]["L"]
    assert list(sub.upper) == case["subset_result"]["U"]
    assert sub.indices == tuple(case["subset"])
    tau = case["tau"][0]
    best = ranks.tau_best(THETA, tau=tau, draws=DRAWS, stepdown=stepdown, **_cov(case))
    worst = ranks.tau_worst(THETA, tau=tau, draws=DRAWS, stepdown=stepdown, **_cov(case))
    assert list(best.members) == case["tau_best"]
    assert list(worst.members) == case["tau_worst"]
    # The point-estimate τ best/worst are always inside.
    assert {0, 1, 2} <= set(best.members) and {7, 8, 9} <= set(worst.members)


def test_direction_and_point_ranks():
    assert ranks.point_ranks([3.0, 5.0, 5.0, 1.0]) == [3, 1, 1, 4]
    assert ranks.point_ranks([3.0, 5.0, 5.0, 1.0], larger_is_better=False) == [2, 3, 3, 1]
    up = ranks.rank_confidence_sets(THETA, se=SE, draws=DRAWS)
    down = ranks.rank_confidence_sets(-THETA, se=SE, draws=DRAWS, larger_is_better=False)
    assert up.lower == down.lower and up.upper == down.upper
    worst = ranks.tau_worst(THETA, se=SE, tau=3, draws=DRAWS)
    best_of_negated = ranks.tau_best(-THETA, se=SE, tau=3, draws=DRAWS)
    assert worst.members == best_of_negated.members


def test_huge_separation_gives_singletons_and_equal_noisy_estimates_the_full_range():
    x = np.arange(20, dtype=float) * 100
    sets = ranks.rank_confidence_sets(x, se=np.ones(20), seed=1, simultaneous=True)
    assert sets.lower == sets.upper == tuple(range(20, 0, -1))
    flat = ranks.rank_confidence_sets(np.full(12, 70.0), se=np.full(12, 5.0), seed=2)
    assert set(flat.lower) == {1} and set(flat.upper) == {12}
    assert ranks.tau_worst(np.full(12, 70.0), se=np.full(12, 5.0), tau=2, seed=3).members == tuple(
        range(12)
    )


def test_exactly_known_differences_and_a_single_unit():
    # Two administrative scores without sampling error: ordered by their values, ties not.
    sets = ranks.rank_confidence_sets([90.0, 80.0, 80.0], se=[0.0, 0.0, 0.0], seed=1)
    assert sets.lower == (1, 2, 2) and sets.upper == (1, 3, 3)
    one = ranks.rank_confidence_sets([75.0], se=[2.0], seed=1)
    assert one.lower == one.upper == (1,)


def test_seed_reproducibility_and_rng():
    a = ranks.rank_confidence_sets(THETA, se=SE, seed=11)
    b = ranks.rank_confidence_sets(THETA, se=SE, seed=11)
    c = ranks.rank_confidence_sets(THETA, se=SE, rng=np.random.default_rng(11))
    assert a == b and a.critical_values == c.critical_values


def test_marginal_coverage_is_at_least_nominal():
    """Simulated coverage of 95 % marginal sets (fixed seed): true ranks covered ≥ 95 %."""
    rng = np.random.default_rng(2024)
    k = 12
    theta = np.linspace(60, 80, k)
    se = rng.uniform(1.5, 4.0, k)
    true_rank = np.array(ranks.point_ranks(theta))
    covered = np.zeros(k)
    simul_covered = 0
    reps = 300
    for _ in range(reps):
        est = theta + se * rng.standard_normal(k)
        m = ranks.rank_confidence_sets(est, se=se, replications=400, rng=rng)
        inside = (np.array(m.lower) <= true_rank) & (true_rank <= np.array(m.upper))
        covered += inside
        s = ranks.rank_confidence_sets(
            est, se=se, replications=400, rng=rng, simultaneous=True, stepdown=True
        )
        simul_covered += np.all((np.array(s.lower) <= true_rank) & (true_rank <= np.array(s.upper)))
    # Per unit ≥ 0.95 up to simulation error (the sets are conservative by construction).
    assert covered.min() / reps >= 0.93
    assert covered.mean() / reps >= 0.95
    assert simul_covered / reps >= 0.93


def test_bad_input():
    with pytest.raises(ValueError, match="coverage"):
        ranks.rank_confidence_sets(THETA, se=SE, coverage=1.2)
    with pytest.raises(ValueError, match="10×10"):
        ranks.rank_confidence_sets(THETA, cov=np.eye(3))
    with pytest.raises(ValueError, match="indices"):
        ranks.rank_confidence_sets(THETA, se=SE, indices=[10])
    with pytest.raises(ValueError, match="tau"):
        ranks.tau_worst(THETA, se=SE, tau=0)
    with pytest.raises(ValueError, match="draws"):
        ranks.rank_confidence_sets(THETA, se=SE, draws=np.zeros((5, 3)))
    with pytest.raises(ValueError, match="cstype"):
        ranks.rank_confidence_sets(THETA, se=SE, cstype="both")  # type: ignore[arg-type]


def test_500_units_are_fast():
    rng = np.random.default_rng(5)
    x = rng.normal(75, 5, 500)
    se = rng.uniform(1, 4, 500)
    ranks.rank_confidence_sets(x[:50], se=se[:50], seed=1)  # warm up
    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        ranks.rank_confidence_sets(x, se=se, seed=1, replications=1000)
        best = min(best, time.perf_counter() - start)
    # < 0.5 s on an idle 2-core machine (measured ~0.25 s); generous under a shared load.
    assert best < 1.5
