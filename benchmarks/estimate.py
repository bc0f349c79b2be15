"""Benchmark: rake 1,000,000 respondents in 500 streets to street totals and sex × age cells,
then per-street mean scores and proportions satisfied with SEs and CIs (calibration-aware
linearization, logit intervals with each street's degrees of freedom).

    .venv/bin/python benchmarks/estimate.py [--n 1000000] [--streets 500] [--runs 3]
                                            [--r] [--r-n 100000] [--svy]

Prints the engine's time (best of ``--runs``) and peak memory (tracemalloc peak of the timed
job and the process's maximum resident set size). With ``--r`` the same job runs in R survey
(``calibrate(calfun = "raking")``, ``svyby(svymean)``, ``svyciprop`` per street) on a random
subsample of ``--r-n`` respondents (R needs a dense n × 513 model matrix: the full million
would need ~4 GiB); the engine is timed on the same subsample and the ratio printed, clearly
labelled. With ``--svy`` the Python package ``svy`` is tried the same way when installed.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from participation.analysis.estimates import score_estimates
from participation.analysis.variance import Calibration, Design
from participation.analysis.weights import Margin, rake

AGES = ["18-29", "30-39", "40-49", "50-59", "60-69", "70+"]


def generate(n: int, streets: int, seed: int = 2026) -> dict[str, np.ndarray]:
    """Synthetic respondents: unequal street sample sizes, women and the old over-represented,
    scores 0/60/80/100 with 5 % blanks."""
    rng = np.random.default_rng(seed)
    size = rng.uniform(0.5, 1.5, streets)
    street = np.sort(rng.choice(streets, size=n, p=size / size.sum()))
    street[:streets] = np.arange(streets)  # every street sampled
    population = rng.integers(20_000, 120_000, streets).astype(float)
    n_h = np.bincount(street, minlength=streets)
    base = population[street] / n_h[street]
    sex = (rng.random(n) < 0.56).astype(np.intp)
    age = rng.choice(6, size=n, p=[0.10, 0.13, 0.17, 0.20, 0.22, 0.18]).astype(np.intp)
    quality = rng.normal(0, 0.5, streets)[street] + 0.1 * age - 0.2 * sex
    latent = quality + rng.logistic(size=n)
    score = np.select([latent < -1.5, latent < -0.5, latent < 0.8], [0.0, 60.0, 80.0], 100.0)
    score[rng.random(n) < 0.05] = np.nan
    cell = sex * 6 + age
    cell_share = np.outer([0.49, 0.51], [0.20, 0.19, 0.18, 0.17, 0.14, 0.12]).ravel()
    return {
        "street": street,
        "cell": cell,
        "base": base,
        "score": score,
        "street_totals": population,
        "cell_totals": cell_share * population.sum(),
    }


def run_engine(data: dict[str, np.ndarray], streets: int) -> dict[str, np.ndarray]:
    """The timed job: rake, design, per-street and overall estimates with CIs."""
    margins = [
        Margin("street", data["street"], [str(s) for s in range(streets)], data["street_totals"]),
        Margin(
            "sex_age",
            data["cell"],
            [f"{s}:{a}" for s in ("male", "female") for a in AGES],
            data["cell_totals"],
        ),
    ]
    raked = rake(data["base"], margins)
    design = Design(
        raked.weights, strata=data["street"], calibration=Calibration.from_rake(data["base"], raked)
    )
    per_street = score_estimates(design, data["score"], 80.0, data["street"], streets)
    overall = score_estimates(design, data["score"], 80.0)
    return {"street": per_street, "overall": overall, "raked": raked}


def subsample(data: dict[str, np.ndarray], n: int, streets: int, seed: int = 7) -> dict:
    rng = np.random.default_rng(seed)
    keep = np.sort(rng.choice(data["street"].size, size=n, replace=False))
    keep = np.union1d(keep, np.searchsorted(data["street"], np.arange(streets)))
    out = {k: v[keep] for k, v in data.items() if k in ("street", "cell", "base", "score")}
    out["street_totals"] = data["street_totals"]
    out["cell_totals"] = data["cell_totals"]
    return out


def best_of(runs: int, fn, *args) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn(*args)
        best = min(best, time.perf_counter() - start)
    return best, result


R_SCRIPT = r"""
suppressMessages({library(survey); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1], colClasses = c(street = "character", cell = "character"))
m <- read.csv(args[2], colClasses = c(variable = "character", level = "character"))
d$street <- factor(d$street, levels = m$level[m$variable == "street"])
d$cell <- factor(d$cell, levels = m$level[m$variable == "cell"])
pop <- c(`(Intercept)` = sum(m$total[m$variable == "street"]))
for (v in c("street", "cell")) {
  lv <- m$level[m$variable == v]
  pop <- c(pop, setNames(m$total[m$variable == v][-1], paste0(v, lv[-1])))
}
d$sat <- as.numeric(d$score >= 80)
t0 <- Sys.time()
des <- svydesign(ids = ~1, strata = ~street, weights = ~base, data = d)
cal <- calibrate(des, ~street + cell, population = pop, calfun = "raking")
by <- svyby(~score, ~street, cal, svymean, na.rm = TRUE)
ci <- confint(by)
props <- lapply(levels(d$street), function(s)
  svyciprop(~sat, subset(cal, street == s), method = "logit", na.rm = TRUE))
overall <- svymean(~score, cal, na.rm = TRUE)
elapsed <- as.numeric(difftime(Sys.time(), t0, units = "secs"))
cat(toJSON(list(seconds = elapsed, mean = unname(coef(by)), se = unname(SE(by)),
                p = sapply(props, as.numeric)), digits = NA, auto_unbox = TRUE))
"""


def run_r(data: dict, streets: int) -> dict | None:
    if shutil.which("Rscript") is None:
        print("R: Rscript not found, skipped")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        resp, marg, script = Path(tmp, "r.csv"), Path(tmp, "m.csv"), Path(tmp, "bench.R")
        with resp.open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["street", "cell", "base", "score"])
            for s, c, b, y in zip(
                data["street"], data["cell"], data["base"], data["score"], strict=True
            ):
                w.writerow([s, c, repr(float(b)), "" if np.isnan(y) else int(y)])
        with marg.open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["variable", "level", "total"])
            for s in range(streets):
                w.writerow(["street", s, repr(float(data["street_totals"][s]))])
            for c, t in enumerate(data["cell_totals"]):
                w.writerow(["cell", c, repr(float(t))])
        script.write_text(R_SCRIPT)
        proc = subprocess.run(
            ["Rscript", str(script), str(resp), str(marg)],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            print("R failed:", proc.stderr[-2000:])
            return None
        return json.loads(proc.stdout)


def run_svy(data: dict, streets: int) -> float | None:
    try:
        import polars as pl
        import svy
    except ImportError:
        print("svy: not installed, skipped")
        return None
    frame = pl.DataFrame(
        {
            "street": data["street"].astype(str),
            "cell": data["cell"].astype(str),
            "base": data["base"],
            "score": data["score"],
            "sat": np.where(np.isnan(data["score"]), np.nan, (data["score"] >= 80) * 1.0),
        },
        nan_to_null=True,
    ).with_columns(pl.col("sat").cast(pl.Int8))
    controls = {
        "street": {str(s): float(t) for s, t in enumerate(data["street_totals"])},
        "cell": {str(c): float(t) for c, t in enumerate(data["cell_totals"])},
    }
    start = time.perf_counter()
    try:
        sample = svy.Sample(data=frame, design=svy.Design(stratum="street", wgt="base", wr=True))
        sample = sample.weighting.rake(controls=controls, tol=1e-10, max_iter=1000)
        sample.estimation.mean(y="score", by="street", drop_nulls=True)
        sample.estimation.prop(y="sat", by="street", ci_method="logit", drop_nulls=True)
    except Exception as exc:  # the svy API changes between versions: report, don't guess
        print(f"svy: failed ({type(exc).__name__}: {exc}); not timed")
        return None
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--streets", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--r", action="store_true", help="also time R survey (subsample)")
    parser.add_argument("--r-n", type=int, default=100_000, help="R subsample size")
    parser.add_argument("--svy", action="store_true", help="also time the Python package svy")
    args = parser.parse_args()

    data = generate(args.n, args.streets)
    run_engine(subsample(data, 10_000, args.streets), args.streets)  # warm-up (imports)
    tracemalloc.start()
    seconds, result = best_of(args.runs, run_engine, data, args.streets)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # time again without tracemalloc's overhead
    seconds, result = best_of(args.runs, run_engine, data, args.streets)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    st = result["street"]
    print(f"engine: {args.n:,} respondents, {args.streets} streets, margins street + sex×age")
    print(
        f"  rake + per-street means, proportions, SEs, CIs: {seconds:.3f} s (best of {args.runs})"
    )
    print(f"  raking: {result['raked'].iterations} iterations, converged")
    print(f"  peak memory: {peak / 2**20:.0f} MiB traced, {rss:.0f} MiB max RSS (process)")
    print(f"  street 0: mean {st.mean[0]:.3f} ± {st.se[0]:.3f}, p {st.p_satisfied[0]:.4f}")

    if args.r or args.svy:
        sub = subsample(data, args.r_n, args.streets)
        n_sub = sub["street"].size
        py_sub, mine = best_of(args.runs, run_engine, sub, args.streets)
        print(f"subsample of {n_sub:,} respondents (same job):")
        print(f"  engine: {py_sub:.3f} s")
        if args.r:
            r = run_r(sub, args.streets)
            if r is not None:
                r["seconds"] = float(np.ravel(r["seconds"])[0])
                diff = np.nanmax(np.abs(np.asarray(r["mean"]) - mine["street"].mean))
                print(
                    f"  R survey: {r['seconds']:.2f} s  → engine is {r['seconds'] / py_sub:.0f}× "
                    f"faster (max |Δ mean| vs R: {diff:.2e})"
                )
        if args.svy:
            s = run_svy(sub, args.streets)
            if s is not None:
                print(f"  svy: {s:.2f} s  → engine is {s / py_sub:.1f}× faster")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
