"""Comparisons against reference values from base R (tests/analysis/r/compare_reference.R)."""

import json
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose
from statsmodels.stats.multitest import multipletests

from participation.analysis import compare

REF = json.loads((Path(__file__).parent / "r" / "compare_reference.json").read_text())
EST, SE = 1e-8, 1e-6


def _check(result, ref):
    units = result.units
    assert_allclose(result.reference, ref["centre"], rtol=EST)
    assert_allclose([u.difference for u in units], ref["diff"], rtol=EST)
    assert_allclose([u.se for u in units], ref["se"], rtol=SE)
    assert_allclose([u.z for u in units], ref["z"], rtol=SE)
    assert_allclose([u.p_value for u in units], ref["p"], rtol=SE)
    assert_allclose([u.p_adjusted for u in units], ref["p_holm"], rtol=SE)


def test_each_unit_against_the_equal_weight_mean_of_independent_units():
    result = compare.compare_with_mean(REF["theta"], se=REF["se"])
    ref = REF["diag_equal_two_sided"]
    _check(result, ref)
    assert_allclose([u.ci_low for u in result.units], ref["ci_low"], rtol=SE)
    assert_allclose([u.ci_high for u in result.units], ref["ci_high"], rtol=SE)
    assert_allclose(result.reference_se, ref["mean_se"], rtol=SE)
    # The mean contains the unit: (1 − 1/n)² seᵢ² + Σⱼ≠ᵢ seⱼ²/n², smaller than seᵢ² + Var(x̄).
    se = np.asarray(REF["se"])
    n = se.size
    expected = np.sqrt((1 - 1 / n) ** 2 * se**2 + (np.sum(se**2) - se**2) / n**2)
    assert_allclose([u.se for u in result.units], expected, rtol=1e-12)


def test_weighted_mean_with_a_full_covariance_matrix():
    result = compare.compare_with_mean(REF["theta"], cov=REF["Sigma"], weights=REF["weights"])
    _check(result, REF["cov_weighted_two_sided"])
    assert_allclose(result.reference_se, REF["cov_weighted_two_sided"]["mean_se"], rtol=SE)
    less = compare.compare_with_mean(
        REF["theta"], cov=REF["Sigma"], weights=REF["weights"], alternative="less"
    )
    _check(less, REF["cov_weighted_less"])
    significant = [u.index for u in less.units if u.significant]
    assert significant == less.below()
    assert all(less.units[i].difference < 0 for i in significant)


def test_against_an_external_reference():
    ref = REF["external"]
    result = compare.compare_with_reference(
        REF["theta"], ref["reference"], se=REF["se"], reference_se=ref["reference_se"]
    )
    assert not result.includes_units
    assert_allclose([u.difference for u in result.units], ref["diff"], rtol=EST)
    assert_allclose([u.se for u in result.units], ref["se"], rtol=SE)
    assert_allclose([u.p_adjusted for u in result.units], ref["p_holm"], rtol=SE)


def test_holm_matches_r_and_statsmodels():
    p = REF["holm_input"]
    assert_allclose(compare.holm(p), REF["holm_output"], rtol=1e-12)
    rng = np.random.default_rng(7)
    for _ in range(20):
        p = rng.uniform(0, 0.2, size=rng.integers(1, 40))
        assert_allclose(compare.holm(p), multipletests(p, method="holm")[1], rtol=1e-12)
    assert compare.holm([]) == []
    with pytest.raises(ValueError, match="p-values"):
        compare.holm([0.1, 1.5])


def test_wave_differences():
    w = REF["waves"]
    out = compare.differences(
        w["before"], w["se_before"], w["after"], w["se_after"], w["cov"], confidence=0.90
    )
    assert_allclose([d.estimate for d in out], w["estimate"], rtol=EST)
    assert_allclose([d.se for d in out], w["se"], rtol=SE)
    assert_allclose([d.p_value for d in out], w["p"], rtol=SE)
    assert_allclose([d.ci_low for d in out], w["ci_low"], rtol=SE)
    assert_allclose([d.ci_high for d in out], w["ci_high"], rtol=SE)
    one = compare.difference(70.1, 2.2, 74.6, 2.0)
    assert one.estimate == pytest.approx(4.5)
    assert one.se == pytest.approx(np.hypot(2.2, 2.0))
    assert one.p_value == pytest.approx(out[0].p_value)
    same = compare.difference(80.0, 0.0, 80.0, 0.0)
    assert same.p_value == 1.0 and same.z == 0.0


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="covariance"):
        compare.difference(70, 1, 72, 1, covariance=5)
    with pytest.raises(ValueError, match="standard error"):
        compare.compare_with_mean([1, 2, 3], se=[1, 2])
    with pytest.raises(ValueError, match="weight"):
        compare.compare_with_mean([1, 2], se=[1, 1], weights=[0, 0])
    with pytest.raises(ValueError, match="3×3"):
        compare.compare_with_mean([1, 2, 3], cov=np.eye(2))
    with pytest.raises(ValueError, match="alternative"):
        compare.compare_with_mean([1, 2], se=[1, 1], alternative="both")  # type: ignore[arg-type]
