"""Replicate weights against R survey: JKn (means, domain covariance, raked per replicate) and
the bootstrap with R's own replicate matrix; our bootstrap's variance is close to the
linearized one."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from participation.analysis.estimates import domain_estimates
from participation.analysis.replicate import (
    ReplicateWeights,
    bootstrap_weights,
    jkn_weights,
    rake_replicates,
    replicate_domain_means,
    replicate_variance,
)
from participation.analysis.variance import Design, DesignError
from tests.analysis.support import DATA, close, reference, table
from tests.analysis.test_r_reference import raking_margins


def strat() -> tuple[dict, Design]:
    t = table("apistrat.csv")
    return t, Design(t["pw"], strata=t["stype"])


def test_jkn_matches_r() -> None:
    ref = reference()["replicate"]["jkn"]
    t, design = strat()
    rep = jkn_weights(design)
    assert rep.n_replicates == 200 and rep.scale == 1.0
    assert close(np.sort(rep.rscales), np.sort(ref["rscales"]), 1e-12)
    est, se, _ = replicate_domain_means(rep, t["api00"])
    assert close(est, [ref["mean_api00"]["estimate"]], 1e-10)
    assert close(se, [ref["mean_api00"]["se"]], 1e-8)
    dom = (t["awards"] == "Yes").astype(int)
    est, se, cov = replicate_domain_means(rep, t["api00"], dom, 2)
    assert close(est, ref["by_awards"]["estimate"], 1e-10)
    assert close(cov, ref["by_awards"]["cov"], 1e-8)
    raked = rake_replicates(rep, raking_margins(), tol=1e-12)
    est, se, _ = replicate_domain_means(raked, t["api00"])
    assert close(est, [ref["raked_mean_api00"]["estimate"]], 1e-9)
    assert close(se, [ref["raked_mean_api00"]["se"]], 1e-6)


def r_bootstrap() -> ReplicateWeights:
    ref = reference()["replicate"]["bootstrap"]
    t = table("apistrat.csv")
    with (DATA / "apistrat_bootstrap_weights.csv").open() as fh:
        rows = list(csv.reader(fh))[1:]
    reps = np.array(rows, dtype=float)
    return ReplicateWeights(t["pw"], reps, ref["scale"], np.asarray(ref["rscales"], float))


def test_bootstrap_with_r_replicates() -> None:
    ref = reference()["replicate"]["bootstrap"]
    t = table("apistrat.csv")
    rep = r_bootstrap()
    est, se, _ = replicate_domain_means(rep, t["api00"])
    assert close(se, [ref["mean_api00"]["se"]], 1e-8)
    raked = rake_replicates(rep, raking_margins(), tol=1e-12)
    est, se, _ = replicate_domain_means(raked, t["api00"])
    assert close(est, [ref["raked_mean_api00"]["estimate"]], 1e-9)
    assert close(se, [ref["raked_mean_api00"]["se"]], 1e-6)

    # the generic path (any statistic) gives the same
    def mean(w: np.ndarray) -> float:
        return float(np.sum(w * t["api00"]) / np.sum(w))

    _full, cov = replicate_variance(rep, mean)
    assert close(np.sqrt(cov[0, 0]), ref["mean_api00"]["se"], 1e-8)


def test_our_bootstrap_scale_as_r() -> None:
    t, design = strat()
    rng = np.random.default_rng(1)
    for method in ("r", "rao-wu"):
        rep = bootstrap_weights(design, replicates=400, rng=rng, method=method)
        _, se, _ = replicate_domain_means(rep, t["api00"])
        linear = domain_estimates(design, t["api00"]).se[0, 0]
        assert se[0] == pytest.approx(linear, rel=0.12)
    r = bootstrap_weights(design, 60, np.random.default_rng(2))
    assert r.scale == pytest.approx(reference()["replicate"]["bootstrap"]["scale"])
    # every replicate keeps each stratum's PSU count (R: n_h draws)
    mult = r.replicates / design.weights[:, None]
    for h in np.unique(t["stype"]):
        assert np.allclose(mult[t["stype"] == h].sum(axis=0), np.sum(t["stype"] == h))


def test_replicates_need_two_psus() -> None:
    with pytest.raises(DesignError):
        jkn_weights(Design(np.ones(3), strata=np.array([0, 0, 1]), lonely_psu="remove"))
