"""Weights, variance and estimates of participation.analysis: errors, diagnostics, trimming,
bounded calibration, domains, the estimate CLI on bad input, scoring, purity."""

from __future__ import annotations

import ast
import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import participation.analysis
from participation.analysis.cli import estimate_command
from participation.analysis.estimates import domain_estimates, proportion_interval
from participation.analysis.scoring import (
    DEFAULT_SCALE,
    Scale,
    dimension_indices,
    satisfaction_rate,
    score_items,
)
from participation.analysis.variance import Calibration, Design, DesignError
from participation.analysis.weights import (
    Margin,
    WeightingError,
    calibrate_bounded,
    design_weights,
    poststratify,
    rake,
    trim_and_rake,
    weight_diagnostics,
)


def sample(n: int = 400, seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 4, n), rng.integers(0, 2, n), rng.integers(0, 3, n)


def margins(street, sex, age, total: float = 1000.0) -> list[Margin]:
    return [
        Margin("street", street, ["a", "b", "c", "d"], np.array([0.1, 0.2, 0.3, 0.4]) * total),
        Margin("sex", sex, ["m", "f"], np.array([0.49, 0.51]) * total),
        Margin("age", age, ["18-29", "30-59", "60+"], np.array([0.3, 0.45, 0.25]) * total),
    ]


def test_rake_hits_every_margin_and_reports() -> None:
    street, sex, age = sample()
    result = rake(np.ones(street.size), margins(street, sex, age))
    for m in margins(street, sex, age):
        assert np.bincount(m.codes, weights=result.weights) == pytest.approx(m.totals, rel=1e-10)
    assert result.converged and 1 <= result.iterations < 100
    d = result.diagnostics
    assert d.sum == pytest.approx(1000.0)
    assert d.n_eff == pytest.approx(d.sum**2 / np.sum(result.weights**2))
    assert d.deff == pytest.approx(1 + d.cv**2)
    assert d.min == result.weights.min() and d.max == result.weights.max()


def test_rake_errors_name_variable_and_level() -> None:
    street, sex, age = sample()
    bad = margins(street, sex, age)
    bad[1] = Margin("sex", sex, ["m", "f"], np.array([400.0, 500.0]))
    with pytest.raises(WeightingError, match="margin totals disagree") as info:
        rake(np.ones(street.size), bad)
    assert info.value.variable == "sex"
    # a population level with no respondents
    age2 = np.where(age == 2, 1, age)
    with pytest.raises(WeightingError, match="60\\+ has a population") as info:
        rake(np.ones(street.size), margins(street, sex, age2))
    assert (info.value.variable, info.value.level) == ("age", "60+")
    # respondents in a level without population
    zero = margins(street, sex, age)
    zero[0] = Margin("street", street, ["a", "b", "c", "d"], np.array([0.0, 300, 300, 400]))
    with pytest.raises(WeightingError, match="street: level a has respondents"):
        rake(np.ones(street.size), zero)
    # IPF stopped early: Newton's method finishes the job, still checked against the margins
    quick = rake(np.ones(street.size), margins(street, sex, age), max_iter=1, tol=1e-12)
    assert quick.converged and quick.max_error < 1e-10
    with pytest.raises(WeightingError, match="weight of respondent 3"):
        rake(np.r_[1.0, 1.0, 1.0, -1.0, np.ones(street.size - 4)], margins(street, sex, age))


def test_incompatible_margins_fail() -> None:
    # two margins that cannot both hold: street a contains only men
    street = np.array([0, 0, 1, 1, 1, 1])
    sex = np.array([0, 0, 0, 1, 0, 1])
    ms = [
        Margin("street", street, ["a", "b"], np.array([60.0, 40.0])),
        Margin("sex", sex, ["m", "f"], np.array([30.0, 70.0])),
    ]
    # non-convergence is an error, never a silent result
    with pytest.raises(WeightingError, match="did not converge"):
        rake(np.ones(6), ms, max_iter=200)


def test_design_weights_and_poststratify() -> None:
    strata = np.array([0, 0, 1, 1, 1])
    assert design_weights(strata, [100, 300]).tolist() == [50, 50, 100, 100, 100]
    with pytest.raises(WeightingError, match="no respondents"):
        design_weights(strata, [100, 300, 50])
    ps = poststratify(np.ones(5), np.array([0, 1, 1, 0, 1]), [20.0, 30.0])
    assert ps.weights.tolist() == pytest.approx([10, 10, 10, 10, 10])


def test_bounded_calibration_respects_bounds() -> None:
    street, sex, age = sample(600, seed=5)
    w = np.ones(street.size)
    free = rake(w, margins(street, sex, age))
    lo, hi = 0.85 * free.g.min() + 0.15, 0.9 * free.g.max()
    bounded = calibrate_bounded(w, margins(street, sex, age), lo, hi)
    assert bounded.g.min() >= lo - 1e-12 and bounded.g.max() <= hi + 1e-12
    assert bounded.g.max() == pytest.approx(hi)  # the bound binds
    for m in margins(street, sex, age):
        assert np.bincount(m.codes, weights=bounded.weights) == pytest.approx(m.totals)
    # unbounded calibration = raking
    same = calibrate_bounded(w, margins(street, sex, age))
    assert same.weights == pytest.approx(free.weights, rel=1e-9)
    with pytest.raises(WeightingError, match="bounds"):
        calibrate_bounded(w, margins(street, sex, age), 0.99, 1.01)


def test_trimming_caps_weights_and_keeps_margins() -> None:
    street, sex, age = sample(500, seed=8)
    w = np.where(np.arange(500) % 50 == 0, 40.0, 1.0)
    result = trim_and_rake(w, margins(street, sex, age), k=5.0)
    raked = rake(w, margins(street, sex, age))
    cap = 5.0 * np.median(raked.weights)
    assert result.weights.max() <= cap * (1 + 1e-8)
    assert result.trimmed > 0
    for m in margins(street, sex, age):
        assert np.bincount(m.codes, weights=result.weights) == pytest.approx(m.totals)
    assert result.weights.max() == pytest.approx(cap)
    with pytest.raises(WeightingError, match="trimming"):
        trim_and_rake(w, margins(street, sex, age), k=1.0)
    # street d needs an average weight above 3 × the median: impossible, and said so
    with pytest.raises(WeightingError, match="incompatible with the margins"):
        trim_and_rake(w, margins(street, sex, age), k=3.0)


def test_weight_diagnostics_equal_weights() -> None:
    d = weight_diagnostics(np.full(10, 2.0))
    assert (d.n, d.sum, d.n_eff, d.deff, d.cv) == (10, 20.0, 10.0, 1.0, 0.0)


def test_domain_is_not_a_stratum() -> None:
    # a domain estimate keeps the stratum structure: different from a design of the domain alone
    rng = np.random.default_rng(1)
    strata = np.repeat([0, 1], 50)
    y = rng.normal(size=100)
    dom = (rng.random(100) < 0.4).astype(int)
    d = Design(np.ones(100), strata=strata)
    full = domain_estimates(d, y, dom, 2)
    alone = domain_estimates(Design(np.ones(int(dom.sum())), strata=strata[dom == 1]), y[dom == 1])
    assert full.estimate[0, 1] == pytest.approx(alone.estimate[0, 0])
    assert full.se[0, 1] != pytest.approx(alone.se[0, 0], rel=1e-6)
    # NaN values: left out of the estimate, the unit stays in the design
    y2 = y.copy()
    y2[:5] = np.nan
    est = domain_estimates(d, y2)
    assert est.n[0, 0] == 95 and est.estimate[0, 0] == pytest.approx(np.mean(y[5:]))


def test_lonely_psu() -> None:
    with pytest.raises(DesignError, match="one PSU"):
        Design(np.ones(3), strata=np.array([0, 0, 1]))
    d = Design(np.ones(3), strata=np.array([0, 0, 1]), lonely_psu="remove")
    assert math.isfinite(domain_estimates(d, np.array([1.0, 2.0, 3.0])).se[0, 0])


def test_calibration_cov_matches_diag() -> None:
    street, sex, age = sample(300, seed=11)
    w = np.random.default_rng(2).uniform(1, 3, 300)
    r = rake(w, margins(street, sex, age))
    d = Design(r.weights, strata=street, calibration=Calibration.from_rake(w, r))
    y = np.random.default_rng(4).normal(70, 10, 300)
    a = domain_estimates(d, y, age, 3, covmat=True)
    b = domain_estimates(d, y, age, 3)
    assert np.sqrt(np.diag(a.cov)) == pytest.approx(b.se[0], rel=1e-10)
    assert np.all(np.linalg.eigvalsh(a.cov) > -1e-12)


def test_proportion_interval_edges() -> None:
    low, high = proportion_interval(np.array([0.0, 1.0]), np.array([0.0, 0.0]), "logit", df=10)
    assert low.tolist() == [0.0, 1.0] and high.tolist() == [0.0, 1.0]
    low, high = proportion_interval(0.3, 0.05, "wilson")
    assert 0 < low < 0.3 < high < 1
    with pytest.raises(ValueError, match="unknown interval"):
        proportion_interval(0.3, 0.05, "bogus")


# --- CLI ---------------------------------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


MARGINS = "variable,level,total\nsex,m,500\nsex,f,500\nstreet,371302001,600\nstreet,371302002,400\n"


def responses(rows: list[str], header: str = "street,sex,weight,score,extra") -> str:
    return header + "\n" + "\n".join(rows) + "\n"


GOOD = [
    "371302001,m,1,80,x",
    "371302001,f,1,100,x",
    "371302001,f,2,60,",
    "371302001,m,1,,y",
    "371302002,m,1,0,z",
    "371302002,f,1,80,z",
    "371302002,f,1,100,z",
]


def run(tmp_path: Path, rows: list[str], *args: str, header: str | None = None):
    resp = write(tmp_path / "r.csv", responses(rows, header or "street,sex,weight,score,extra"))
    marg = write(tmp_path / "m.csv", MARGINS)
    return CliRunner().invoke(estimate_command, [str(resp), "--margins", str(marg), *args])


def test_cli_output_shape(tmp_path: Path) -> None:
    result = run(tmp_path, GOOD)
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert set(out) == {"overall", "domains", "weights"}
    assert [d["domain"] for d in out["domains"]] == ["371302001", "371302002"]
    keys = {"n", "mean", "se", "ci_low", "ci_high", "p_satisfied", "p_se", "p_ci_low"}
    assert keys | {"p_ci_high"} == set(out["overall"])
    assert out["domains"][0]["n"] == 3 and out["overall"]["n"] == 6
    assert set(out["weights"]) == {
        "n",
        "n_eff",
        "deff",
        "iterations",
        "converged",
        "min",
        "max",
        "sum",
    }
    assert out["weights"]["sum"] == pytest.approx(1000) and out["weights"]["n"] == 7


@pytest.mark.parametrize(
    ("rows", "args", "message"),
    [
        (GOOD, ["--by", "county"], "unknown column 'county'"),
        (GOOD, ["--score", "mark"], "unknown column 'mark'"),
        (GOOD, ["--weight", "w"], "unknown column 'w'"),
        ([*GOOD, "371302002,x,1,80,z"], [], "row 8 (line 9), column 'sex': level 'x'"),
        ([*GOOD, "371302002,m,-1,80,z"], [], "row 8 (line 9), column 'weight'"),
        ([*GOOD, "371302002,m,1,good,z"], [], "row 8 (line 9), column 'score'"),
        ([*GOOD, "371302003,m,1,80,z"], [], "row 8 (line 9), column 'street'"),
        ([], [], "no respondents"),
    ],
)
def test_cli_bad_input(tmp_path: Path, rows, args, message: str) -> None:
    result = run(tmp_path, rows, *args)
    assert result.exit_code != 0
    assert message in result.output


def test_cli_empty_file_and_margin_errors(tmp_path: Path) -> None:
    empty = write(tmp_path / "e.csv", "")
    marg = write(tmp_path / "m.csv", MARGINS)
    result = CliRunner().invoke(estimate_command, [str(empty), "--margins", str(marg)])
    assert result.exit_code != 0 and "empty" in result.output
    resp = write(tmp_path / "r.csv", responses(GOOD))
    bad = write(tmp_path / "b.csv", MARGINS.replace("sex,f,500", "sex,f,400"))
    result = CliRunner().invoke(estimate_command, [str(resp), "--margins", str(bad)])
    assert result.exit_code != 0 and "margin totals disagree" in result.output
    unknown = write(tmp_path / "u.csv", MARGINS + "age,60+,1000\n")
    result = CliRunner().invoke(estimate_command, [str(resp), "--margins", str(unknown)])
    assert result.exit_code != 0 and "unknown column 'age'" in result.output


def test_cli_without_weight_column_and_out_file(tmp_path: Path) -> None:
    rows = [",".join(r.split(",")[:2] + r.split(",")[3:4]) for r in GOOD]
    resp = write(tmp_path / "r.csv", responses(rows, "street,sex,score"))
    marg = write(tmp_path / "m.csv", MARGINS)
    out = tmp_path / "o.json"
    result = CliRunner().invoke(
        estimate_command, [str(resp), "--margins", str(marg), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["weights"]["sum"] == pytest.approx(1000)


def test_cli_is_registered() -> None:
    from participation.cli import cli

    assert "estimate" in cli.commands


# --- scoring -----------------------------------------------------------------------------


def test_scoring() -> None:
    answers = [
        {"a": "满意", "b": "一般", "c": "不了解"},
        {"a": "不满意", "b": "基本满意", "c": "满意"},
        {"a": "不了解", "b": None, "c": "不了解"},
    ]
    scores = score_items(answers, ["a", "b", "c"])
    assert scores[0, :2].tolist() == [100, 60] and math.isnan(scores[0, 2])
    dims = dimension_indices(scores, ["a", "b", "c"], {"x": ["a", "b"], "y": ["c"]})
    assert dims["x"].tolist()[:2] == [80, 40] and math.isnan(dims["x"][2])
    assert dims["overall"][1] == pytest.approx((40 + 100) / 2)
    weighted = dimension_indices(scores, ["a", "b", "c"], {"x": ["a", "b"]}, {"a": 3})
    assert weighted["x"][0] == pytest.approx((300 + 60) / 4)
    flags, rate = satisfaction_rate(["满意", "一般", "不了解", "基本满意"])
    assert np.isnan(flags[2]) and rate == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="item 'a'"):
        score_items([{"a": "很好"}], ["a"])
    ten = Scale(points={str(k): k * 10.0 for k in range(11)}, satisfied=frozenset({"9", "10"}))
    assert ten.score("7") == 70 and DEFAULT_SCALE.score("不了解") != DEFAULT_SCALE.score("不了解")


# --- purity ------------------------------------------------------------------------------

ALLOWED = {"numpy", "scipy", "statsmodels", "click", "participation"}
FORBIDDEN = ("litestar", "sqlmodel", "sqlalchemy", "participation.core", "pydantic", "jinja2")


def test_analysis_is_pure() -> None:
    import sys

    root = Path(participation.analysis.__file__).parent
    stdlib = set(sys.stdlib_module_names)
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                assert not name.startswith(FORBIDDEN), f"{path.name} imports {name}"
                top = name.split(".")[0]
                assert top in stdlib or top in ALLOWED, f"{path.name} imports {name}"
                if top == "participation":
                    assert name.startswith("participation.analysis"), f"{path.name}: {name}"
                if top == "click":
                    assert path.name == "cli.py", f"{path.name} imports click"


def test_clustered_path_equals_fast_path() -> None:
    # PSUs given as one per respondent go through the sparse clustered code: same numbers
    street, sex, age = sample(300, seed=12)
    w = np.random.default_rng(3).uniform(1, 3, 300)
    r = rake(w, margins(street, sex, age))
    cal = Calibration.from_rake(w, r)
    y = np.random.default_rng(5).normal(70, 10, 300)
    fast = Design(r.weights, strata=street, calibration=cal)
    general = Design(r.weights, strata=street, psu=np.arange(300), calibration=cal)
    for covmat in (False, True):
        a = domain_estimates(fast, y, age, 3, covmat=covmat)
        b = domain_estimates(general, y, age, 3, covmat=covmat)
        assert a.se == pytest.approx(b.se, rel=1e-10)
        if covmat:
            assert a.cov == pytest.approx(b.cov, rel=1e-9, abs=1e-15)
