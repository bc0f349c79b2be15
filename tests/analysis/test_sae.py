"""Fay–Herriot EBLUP and MSE against the base-R reference (tests/analysis/r/sae_reference.R)."""

import json
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

from participation.analysis import sae

REF = json.loads((Path(__file__).parent / "r" / "sae_reference.json").read_text())
DATA = REF["data"]
Y = np.asarray(DATA["y"])
D = np.asarray(DATA["D"])
# jsonlite writes one-element vectors as scalars
HISTORY = [h if isinstance(h, list) else [h] for h in DATA["history"]]
EST, SE = 1e-8, 1e-6


def _check(fit, ref):
    assert fit.method == "fay-herriot-eblup"
    assert fit.iterations == ref["iterations"]
    assert_allclose(fit.sigma2_u, ref["A"], rtol=EST)
    assert_allclose(fit.sigma2_u_unbounded, ref["A_unbounded"], rtol=EST)
    assert_allclose(fit.beta, ref["beta"], rtol=EST)
    assert_allclose(fit.estimate, ref["eblup"], rtol=EST)
    assert_allclose(fit.synthetic, ref["synthetic"], rtol=EST)
    assert_allclose(fit.beta_se, ref["beta_se"], rtol=SE)
    assert_allclose(fit.mse, ref["mse"], rtol=SE)
    assert_allclose(fit.g1, ref["g1"], rtol=SE, atol=1e-12)
    assert_allclose(fit.g2, ref["g2"], rtol=SE)
    assert_allclose(fit.g3, ref["g3"], rtol=SE)
    assert_allclose(fit.loglike, ref["loglike"], rtol=EST)


def _county_x():
    return sae.design_matrix(len(Y), groups=DATA["county"])


@pytest.mark.parametrize("method", ["REML", "ML", "FH"])
def test_county_model_matches_reference(method):
    x, cols = _county_x()
    assert cols == ["(intercept)", "group[B]", "group[C]", "group[D]"]
    fit = sae.fay_herriot(Y, D, x, method=method, columns=cols)
    _check(fit, REF["county"][method])
    assert fit.variance_method == method and fit.columns == tuple(cols)
    assert not fit.truncated


def test_intercept_only_and_previous_waves_covariate():
    _check(sae.fay_herriot(Y, D), REF["intercept"]["REML"])
    x, cols = sae.design_matrix(len(Y), history=HISTORY)
    assert cols == ["(intercept)", "previous_mean", "no_history"]
    _check(sae.fay_herriot(Y, D, x), REF["previous"]["REML"])


def test_reml_fisher_scoring_reaches_the_restricted_likelihood_maximum():
    x, _ = _county_x()
    fit = sae.fay_herriot(Y, D, x, precision=1e-12)
    _check(fit, REF["tight_reml"]["fit"])
    assert_allclose(fit.sigma2_u, REF["tight_reml"]["optimize"], rtol=1e-6)


@pytest.mark.parametrize("method", ["REML", "FH"])
def test_variance_truncated_at_zero_gives_the_synthetic_estimates(method):
    y0, d0 = DATA["y0"], DATA["D0"]
    fit = sae.fay_herriot(y0, d0, method=method)
    _check(fit, REF["truncated"][method])
    assert fit.truncated and fit.sigma2_u == 0.0 and fit.sigma2_u_unbounded < 0
    assert set(fit.gamma) == {0.0}
    assert fit.estimate == fit.synthetic
    assert_allclose(fit.g1, 0.0, atol=1e-12)


def test_shrinkage_properties():
    x, _ = _county_x()
    fit = sae.fay_herriot(Y, D, x, labels=[f"S{i}" for i in range(len(Y))])
    gamma = np.asarray(fit.gamma)
    # Streets with few respondents (large D) borrow more from the model.
    order = np.argsort(D)
    assert np.all(np.diff(gamma[order]) <= 1e-15)
    # The model-based MSE is below the direct variance for every street.
    assert np.all(np.asarray(fit.mse) < D)
    rows = fit.as_rows()
    assert rows[0]["label"] == "S0" and rows[0]["estimate"] == fit.estimate[0]
    assert rows[0]["ci_low"] < rows[0]["estimate"] < rows[0]["ci_high"]


def test_bad_input_names_the_field():
    with pytest.raises(sae.FayHerriotError, match="variance") as err:
        sae.fay_herriot([70, 80, 75], [1, 0, 2])
    assert err.value.field == "variance"
    with pytest.raises(sae.FayHerriotError) as err:
        sae.fay_herriot([70, 80], [1, 2], np.ones((2, 2)))
    assert err.value.field == "x"
    with pytest.raises(sae.FayHerriotError) as err:
        sae.fay_herriot([70, float("nan")], [1, 2])
    assert err.value.field == "direct"
    with pytest.raises(sae.FayHerriotError) as err:
        sae.fay_herriot(Y, D, method="EB")  # type: ignore[arg-type]
    assert err.value.field == "method"
    with pytest.raises(sae.FayHerriotError, match="converge"):
        sae.fay_herriot(Y, D, max_iter=1, precision=1e-300)
    with pytest.raises(sae.FayHerriotError) as err:
        sae.design_matrix(3, covariates={"income": [1.0, 2.0]})
    assert err.value.field == "income"
