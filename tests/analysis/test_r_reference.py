"""The engine against R survey: api data (stratified, one- and two-stage cluster), raking and
bounded calibration, domains with their covariance, every proportion interval, the satisfaction
data set through ``participation estimate``. Reference values: tests/analysis/r/reference.R
(committed in tests/analysis/reference/reference.json; R is not needed to run these tests)."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner

from participation.analysis.cli import estimate_command
from participation.analysis.estimates import domain_estimates, proportion_interval
from participation.analysis.variance import Calibration, Design
from participation.analysis.weights import Margin, calibrate_bounded, rake
from tests.analysis.support import DATA, HERE, close, reference, table

EST = 1e-8  # relative, estimates
SE = 1e-6  # relative, standard errors and interval limits


def codes(values: np.ndarray) -> tuple[np.ndarray, list[str]]:
    levels, inverse = np.unique(values.astype(str), return_inverse=True)
    return inverse.ravel(), [str(v) for v in levels]


def check(result, expected: dict, k: int | slice = slice(None), j: int = 0) -> None:
    assert close(result.estimate[j][k], expected["estimate"], EST)
    assert close(result.se[j][k], expected["se"], SE)


def strat_design(fpc: bool = False) -> Design:
    t = table("apistrat.csv")
    return Design(t["pw"], strata=t["stype"], fpc=t["fpc"] if fpc else None)


def test_apistrat_mean_total_fpc() -> None:
    ref = reference()["apistrat"]
    t = table("apistrat.csv")
    for fpc, suffix in ((False, ""), (True, "_fpc")):
        d = strat_design(fpc)
        check(domain_estimates(d, t["api00"]), ref["mean_api00" + suffix])
        check(domain_estimates(d, t["enroll"], kind="total"), ref["total_enroll" + suffix])


def test_apistrat_domains_with_covariance() -> None:
    ref = reference()["apistrat"]
    t = table("apistrat.csv")
    d = strat_design()
    dom, levels = codes(t["awards"])
    by = domain_estimates(d, t["api00"], dom, len(levels), covmat=True)
    check(by, ref["by_awards"])
    assert close(by.cov, ref["by_awards"]["cov"], SE)
    assert by.df.tolist() == [float(np.sum(dom == k)) - 3 for k in range(2)]
    dom, levels = codes(t["comp.imp"])
    tot = domain_estimates(d, t["enroll"], dom, len(levels), kind="total", covmat=True)
    check(tot, ref["by_cname_total"])
    assert close(tot.cov, ref["by_cname_total"]["cov"], SE)


def test_cluster_designs() -> None:
    ref = reference()
    t = table("apiclus1.csv")
    d1 = Design(t["pw"], psu=t["dnum"], fpc=t["fpc"])
    check(domain_estimates(d1, t["api00"]), ref["apiclus1"]["mean_api00"])
    check(domain_estimates(d1, t["enroll"], kind="total"), ref["apiclus1"]["total_enroll"])
    wr = Design(t["pw"], psu=t["dnum"])
    check(domain_estimates(wr, t["api00"]), ref["apiclus1"]["mean_api00_wr"])
    dom, levels = codes(t["stype"])
    by = domain_estimates(d1, t["api00"], dom, len(levels), covmat=True)
    check(by, ref["apiclus1"]["by_stype"])
    assert close(by.cov, ref["apiclus1"]["by_stype"]["cov"], SE)
    assert domain_estimates(d1, t["api00"]).df[0] == ref["apiclus1"]["degf"]

    t2 = table("apiclus2.csv")
    d2 = Design(t2["pw"], psu=t2["dnum"])  # two stages, with replacement: ultimate clusters
    check(domain_estimates(d2, t2["api00"]), ref["apiclus2"]["mean_api00"])
    check(domain_estimates(d2, t2["enroll"]), ref["apiclus2"]["mean_enroll_narm"])  # NA skipped
    dom, levels = codes(t2["stype"])
    by = domain_estimates(d2, t2["api00"], dom, len(levels), covmat=True)
    check(by, ref["apiclus2"]["by_stype"])
    assert close(by.cov, ref["apiclus2"]["by_stype"]["cov"], SE)
    assert domain_estimates(d2, t2["api00"]).df[0] == ref["apiclus2"]["degf"]


def raking_margins(with_comp_imp: bool = False) -> list[Margin]:
    ref = reference()["raking"]
    t = table("apistrat.csv")
    out = []
    names = ["stype", "sch.wide"] + (["comp.imp"] if with_comp_imp else [])
    for name in names:
        population = ref["comp_imp"] if name == "comp.imp" else ref["population"][name]
        c, levels = codes(t[name])
        out.append(Margin(name, c, levels, np.array([population[lv] for lv in levels], float)))
    return out


def raked_design() -> Design:
    t = table("apistrat.csv")
    result = rake(t["pw"], raking_margins())
    return Design(
        result.weights, strata=t["stype"], calibration=Calibration.from_rake(t["pw"], result)
    )


def test_raking_weights_and_calibrated_se() -> None:
    ref = reference()["raking"]
    t = table("apistrat.csv")
    d = raked_design()
    assert close(d.weights, ref["weights"], EST)
    check(domain_estimates(d, t["api00"]), ref["mean_api00"])
    check(domain_estimates(d, t["enroll"], kind="total"), ref["total_enroll"])
    dom, _levels = codes(t["awards"])
    by = domain_estimates(d, t["api00"], dom, 2, covmat=True)
    check(by, ref["by_awards"])
    assert close(by.cov, ref["by_awards"]["cov"], SE)
    dom, _levels = codes(t["comp.imp"])
    tot = domain_estimates(d, t["enroll"], dom, 2, kind="total", covmat=True)
    check(tot, ref["by_cname_total"])
    assert close(tot.cov, ref["by_cname_total"]["cov"], SE)
    # calibration matters: the uncalibrated SE of the same weights is different
    plain = Design(d.weights, strata=t["stype"])
    assert not close(domain_estimates(plain, t["api00"]).se[0], ref["mean_api00"]["se"], 1e-3)


def test_bounded_calibration_matches_r() -> None:
    ref = reference()["raking"]
    t = table("apistrat.csv")
    result = calibrate_bounded(t["pw"], raking_margins(True), 0.5, 1.5)
    assert close(result.weights, ref["bounded_weights"], 1e-7)
    assert result.g.max() <= 1.5 + 1e-12 and result.g.min() >= 0.5
    d = Design(
        result.weights, strata=t["stype"], calibration=Calibration.from_rake(t["pw"], result)
    )
    check(domain_estimates(d, t["api00"]), ref["bounded_mean_api00"])


@pytest.mark.parametrize("method", ["logit", "beta", "mean", "asin", "xlogit"])
def test_proportion_intervals(method: str) -> None:
    ref = reference()["raking"]["proportions"][method]
    t = table("apistrat.csv")
    d = raked_design()
    high = (t["api00"] > 700).astype(float)
    overall = domain_estimates(d, high)
    dom = np.where(t["awards"] == "Yes", 0, -1)
    sub = domain_estimates(d, high, dom, 1)
    for est, key in ((overall, "overall"), (sub, "awards_yes")):
        r = ref[key]
        assert close(est.estimate[0], [r["p"]], EST)
        assert close(est.se[0], np.ravel(r["se"]), SE)
        low, upp = proportion_interval(est.estimate[0], est.se[0], method, df=est.df, n_rows=d.n)
        assert close(np.r_[low, upp], r["ci"], SE)
    assert sub.df[0] == ref["awards_yes"]["degf"]


@pytest.mark.parametrize("method", ["logit", "wilson", "korn-graubard"])
def test_satisfaction_cli_matches_r(method: str, tmp_path) -> None:
    expected = reference()["satisfaction"][method]
    out = tmp_path / "out.json"
    result = CliRunner().invoke(
        estimate_command,
        [
            str(DATA / "satisfaction.csv"),
            "--margins",
            str(DATA / "satisfaction_margins.csv"),
            "--proportion-ci",
            method,
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    compare(json.loads(out.read_text()), expected)


def test_satisfaction_cli_by_sex_matches_r() -> None:
    expected = reference()["satisfaction_by_sex"]
    result = CliRunner().invoke(
        estimate_command,
        [
            str(DATA / "satisfaction.csv"),
            "--margins",
            str(DATA / "satisfaction_margins.csv"),
            "--by",
            "sex",
            "--satisfied-at",
            "60",
        ],
    )
    assert result.exit_code == 0, result.output
    compare(json.loads(result.output), expected)


def compare(actual: dict, expected: dict) -> None:
    records = [(actual["overall"], expected["overall"])]
    assert [d["domain"] for d in actual["domains"]] == [d["domain"] for d in expected["domains"]]
    records += list(zip(actual["domains"], expected["domains"], strict=True))
    for a, e in records:
        assert a["n"] == e["n"]
        for key in ("mean", "p_satisfied"):
            assert close(a[key], e[key], EST), key
        for key in ("se", "ci_low", "ci_high", "p_se", "p_ci_low", "p_ci_high"):
            assert close(a[key], e[key], SE), key
    w, ew = actual["weights"], expected["weights"]
    assert w["n"] == ew["n"] and w["converged"] is True
    for key in ("n_eff", "deff", "min", "max", "sum"):
        assert close(w[key], ew[key], EST), key


@pytest.mark.r
@pytest.mark.skipif(shutil.which("Rscript") is None, reason="needs Rscript with survey")
def test_r_scripts_reproduce_the_reference(tmp_path) -> None:
    """Rerun the R estimate on the satisfaction data and compare with the CLI."""
    script = tmp_path / "run.R"
    script.write_text(
        f'source("{HERE / "r" / "estimate.R"}")\n'
        "suppressMessages(library(jsonlite))\n"
        f'r <- estimate_like_cli("{DATA / "satisfaction.csv"}", '
        f'"{DATA / "satisfaction_margins.csv"}")\n'
        "cat(toJSON(r, digits = NA, auto_unbox = TRUE))\n"
    )
    proc = subprocess.run(
        ["Rscript", str(script)], capture_output=True, text=True, timeout=120, check=True
    )
    result = CliRunner().invoke(
        estimate_command,
        [str(DATA / "satisfaction.csv"), "--margins", str(DATA / "satisfaction_margins.csv")],
    )
    assert result.exit_code == 0, result.output
    compare(json.loads(result.output), json.loads(proc.stdout))


def test_calibrated_cluster_design() -> None:
    # raking a one-stage cluster sample (apiclus1, PSUs = districts): residuals summed by PSU
    ref = reference()["apiclus1"]["raked"]
    pop = reference()["raking"]["population"]
    t = table("apiclus1.csv")
    margins = []
    for name in ("stype", "sch.wide"):
        c, levels = codes(t[name])
        margins.append(Margin(name, c, levels, np.array([pop[name][lv] for lv in levels], float)))
    result = rake(t["pw"], margins)
    assert close(result.weights, ref["weights"], EST)
    d = Design(result.weights, psu=t["dnum"], calibration=Calibration.from_rake(t["pw"], result))
    check(domain_estimates(d, t["api00"]), ref["mean_api00"])
    dom, _ = codes(t["awards"])
    by = domain_estimates(d, t["api00"], dom, 2, covmat=True)
    check(by, ref["by_awards"])
    assert close(by.cov, ref["by_awards"]["cov"], SE)
