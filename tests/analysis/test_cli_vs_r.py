"""``participation estimate`` against R survey on fresh random data sets (runs R: marked ``r``,
skipped without Rscript): other domain and stratum columns, no weight column, margins without
the stratum, every proportion interval."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from participation.analysis.cli import estimate_command
from tests.analysis.support import HERE
from tests.analysis.test_r_reference import compare

pytestmark = [
    pytest.mark.r,
    pytest.mark.skipif(shutil.which("Rscript") is None, reason="needs Rscript with survey"),
]

AGES = ["18-34", "35-59", "60+"]


def make_data(tmp: Path, seed: int, weights: bool) -> tuple[Path, dict[str, dict[str, float]]]:
    rng = np.random.default_rng(seed)
    streets = [f"37130{k:04d}" for k in range(7)]
    county = {s: ("371302" if k < 4 else "371311") for k, s in enumerate(streets)}
    rows = []
    for k, s in enumerate(streets):
        for _ in range(int(rng.integers(12, 60))):
            sex = "female" if rng.random() < 0.6 else "male"
            age = AGES[int(rng.choice(3, p=[0.2, 0.4, 0.4]))]
            score = [100, 80, 60, 0][int(rng.choice(4, p=[0.35, 0.3, 0.2, 0.15]))]
            rows.append(
                {
                    "street": s,
                    "county": county[s],
                    "sex": sex,
                    "age": age,
                    "weight": f"{rng.uniform(50, 150) * (1 + k / 5):.4f}",
                    "score": "" if rng.random() < 0.08 else str(score),
                    "note": "x",
                }
            )
    fields = list(rows[0]) if weights else [f for f in rows[0] if f != "weight"]
    path = tmp / "responses.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    total = 50000.0
    counts = {s: sum(r["street"] == s for r in rows) for s in streets}
    n = len(rows)
    margins = {
        "street": {s: total * (0.6 * counts[s] / n + 0.4 / len(streets)) for s in streets},
        "county": {"371302": total * 0.55, "371311": total * 0.45},
        "sex": {"male": total * 0.49, "female": total * 0.51},
        "age": {"18-34": total * 0.3, "35-59": total * 0.4, "60+": total * 0.3},
    }
    return path, margins


def write_margins(tmp: Path, margins: dict, variables: list[str]) -> Path:
    path = tmp / "margins.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["variable", "level", "total"])
        for v in variables:
            for level, value in margins[v].items():
                w.writerow([v, level, repr(value)])
    return path


def r_estimate(responses: Path, margins: Path, **kw: object) -> dict:
    args = ", ".join(f'{k} = "{v}"' if isinstance(v, str) else f"{k} = {v}" for k, v in kw.items())
    script = responses.parent / "run.R"
    script.write_text(
        f'source("{HERE / "r" / "estimate.R"}")\n'
        "suppressMessages(library(jsonlite))\n"
        f'r <- estimate_like_cli("{responses}", "{margins}", {args})\n'
        "cat(toJSON(r, digits = NA, auto_unbox = TRUE))\n"
    )
    proc = subprocess.run(
        ["Rscript", str(script)], capture_output=True, text=True, timeout=180, check=True
    )
    return json.loads(proc.stdout)


CASES = [
    # seed, weights, margin variables, by, stratum, satisfied_at, method
    (1, True, ["street", "sex", "age"], "county", "street", 80, "logit"),
    (2, False, ["sex", "age"], "street", "street", 80, "korn-graubard"),
    (3, True, ["county", "sex"], "street", "county", 60, "wilson"),
    (4, True, ["street", "age"], "sex", "street", 100, "logit"),
]


@pytest.mark.parametrize(("seed", "weights", "variables", "by", "stratum", "at", "method"), CASES)
def test_cli_equals_r(tmp_path, seed, weights, variables, by, stratum, at, method) -> None:
    responses, population = make_data(tmp_path, seed, weights)
    margins = write_margins(tmp_path, population, variables)
    result = CliRunner().invoke(
        estimate_command,
        [
            str(responses),
            "--margins",
            str(margins),
            "--by",
            by,
            "--stratum",
            stratum,
            "--satisfied-at",
            str(at),
            "--proportion-ci",
            method,
        ],
    )
    assert result.exit_code == 0, result.output
    expected = r_estimate(
        responses,
        margins,
        by=by,
        stratum=stratum,
        weight="weight",
        score="score",
        satisfied_at=at,
        method=method,
    )
    compare(json.loads(result.output), expected)
