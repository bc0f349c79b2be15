"""``participation estimate``: weighted estimates from a CSV of responses, for analysts.

Design (what R ``survey`` does with the same data, see ``tests/analysis/r/estimate.R``):
``svydesign(ids = ~1, strata = ~<stratum>, weights = ~<weight>)`` — each respondent its own
PSU, strata sampled with replacement — then ``calibrate(..., calfun = "raking")`` to every
margin of MARGINS.csv (standard errors use the calibration residuals). A blank score leaves
the respondent out of that estimate only (``na.rm = TRUE``: the respondent still counts in the
raking, the strata and the degrees of freedom). Mean CIs are normal (``confint(svymean)``);
proportion CIs by ``--proportion-ci``: ``logit`` = ``svyciprop(..., method = "logit")`` with
the domain's degrees of freedom (``degf(subset(design, by == d))``), ``korn-graubard`` =
``svyciprop(..., method = "beta")``, ``wilson`` = Wilson's score interval with the effective
sample size ``p(1-p)/se²``. A stratum with a single respondent contributes no variance.
"""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
import numpy as np

from participation.analysis.estimates import score_estimates
from participation.analysis.variance import Calibration, Design
from participation.analysis.weights import Margin, WeightingError, rake

__all__ = ["EstimateInputError", "estimate_command", "run_estimate"]

NA_STRINGS = ("", "NA")


class EstimateInputError(ValueError):
    """Bad input; the message names the file, column and row."""


def _read_csv(path: Path, what: str) -> tuple[list[str], list[list[str]]]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise EstimateInputError(f"{what} {path}: cannot read ({exc.strerror})") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise EstimateInputError(f"{what} {path}: not UTF-8 text") from exc
    rows = list(csv.reader(io.StringIO(text)))
    while rows and not any(cell.strip() for cell in rows[-1]):
        rows.pop()
    if not rows:
        raise EstimateInputError(f"{what} {path}: the file is empty")
    header = [h.strip() for h in rows[0]]
    if len(set(header)) != len(header):
        dup = next(h for h in header if header.count(h) > 1)
        raise EstimateInputError(f"{what} {path}: column {dup!r} appears twice in the header")
    body = rows[1:]
    for i, row in enumerate(body, start=2):
        if len(row) != len(header) and any(cell.strip() for cell in row):
            raise EstimateInputError(
                f"{what} {path}: line {i} has {len(row)} fields, the header has {len(header)}"
            )
    body = [row for row in body if any(cell.strip() for cell in row)]
    return header, body


def _where(path: Path, index: int, column: str) -> str:
    # data row ``index`` (0-based) is on line index + 2 (header on line 1)
    return f"{path} row {index + 1} (line {index + 2}), column {column!r}"


def _numbers(
    values: Sequence[str], path: Path, column: str, *, blank_ok: bool, what: str
) -> np.ndarray:
    stripped = [v.strip() for v in values]
    blank = np.array([v in NA_STRINGS for v in stripped], dtype=bool)
    if blank_ok or not blank.any():
        try:  # fast path: numpy parses the whole column at once
            out = np.array(
                ["nan" if b else v for v, b in zip(stripped, blank, strict=True)], dtype=float
            )
        except ValueError:
            out = None
        if out is not None and not np.any(np.isinf(out)) and not np.any(np.isnan(out) & ~blank):
            return out
    out = np.empty(len(values))
    for i, s in enumerate(stripped):
        if s in NA_STRINGS:
            if not blank_ok:
                raise EstimateInputError(f"{_where(path, i, column)}: {what} is blank")
            out[i] = math.nan
            continue
        try:
            x = float(s)
        except ValueError:
            raise EstimateInputError(
                f"{_where(path, i, column)}: {what} {values[i]!r} is not a number"
            ) from None
        if not math.isfinite(x):
            raise EstimateInputError(
                f"{_where(path, i, column)}: {what} {values[i]!r} is not finite"
            )
        out[i] = x
    return out


def _read_margins(path: Path) -> dict[str, tuple[list[str], np.ndarray]]:
    header, body = _read_csv(path, "margins")
    for column in ("variable", "level", "total"):
        if column not in header:
            raise EstimateInputError(
                f"margins {path}: no column {column!r} (expected variable,level,total)"
            )
    iv, il, it = header.index("variable"), header.index("level"), header.index("total")
    if not body:
        raise EstimateInputError(f"margins {path}: no margins")
    margins: dict[str, tuple[list[str], list[float]]] = {}
    for i, row in enumerate(body):
        variable, level, total = row[iv].strip(), row[il].strip(), row[it].strip()
        if not variable:
            raise EstimateInputError(f"{_where(path, i, 'variable')}: blank variable")
        try:
            value = float(total)
        except ValueError:
            raise EstimateInputError(
                f"{_where(path, i, 'total')}: total {total!r} is not a number"
            ) from None
        if not math.isfinite(value) or value < 0:
            raise EstimateInputError(
                f"{_where(path, i, 'total')}: total {total!r} must be a non-negative number"
            )
        levels, totals = margins.setdefault(variable, ([], []))
        if level in levels:
            raise EstimateInputError(
                f"{_where(path, i, 'level')}: {variable}={level!r} appears twice"
            )
        levels.append(level)
        totals.append(value)
    return {k: (lv, np.asarray(t, dtype=float)) for k, (lv, t) in margins.items()}


def run_estimate(
    responses: Path,
    margins: Path,
    *,
    by: str | None = "street",
    stratum: str | None = "street",
    weight: str | None = "weight",
    weight_required: bool = False,
    score: str = "score",
    satisfied_at: float = 80.0,
    proportion_ci: str = "logit",
) -> dict[str, Any]:
    """The JSON document of ``participation estimate`` as a dict; raises
    :class:`EstimateInputError` naming the column and row of bad input."""
    header, body = _read_csv(responses, "responses")
    if not body:
        raise EstimateInputError(f"responses {responses}: no respondents")
    columns = {name: j for j, name in enumerate(header)}

    def column(name: str, option: str) -> list[str]:
        if name not in columns:
            raise EstimateInputError(
                f"responses {responses}: unknown column {name!r} ({option}); "
                f"the columns are {', '.join(header)}"
            )
        j = columns[name]
        return [row[j] if j < len(row) else "" for row in body]

    n = len(body)
    y = _numbers(column(score, "--score"), responses, score, blank_ok=True, what="score")
    if weight and (weight in columns or weight_required):
        w = _numbers(column(weight, "--weight"), responses, weight, blank_ok=False, what="weight")
        if np.any(w < 0):
            i = int(np.flatnonzero(w < 0)[0])
            raise EstimateInputError(
                f"{_where(responses, i, weight)}: weight {body[i][columns[weight]]!r} is negative"
            )
    else:
        w = np.ones(n)
    if stratum:
        strata_values = [v.strip() for v in column(stratum, "--stratum")]
        for i, v in enumerate(strata_values):
            if v == "":
                raise EstimateInputError(f"{_where(responses, i, stratum)}: blank stratum")
        _, strata = np.unique(np.asarray(strata_values, dtype=object), return_inverse=True)
    else:
        strata = np.zeros(n, dtype=np.intp)
    population = _read_margins(margins)
    margin_list = []
    for variable, (levels, totals) in population.items():
        values = column(variable, f"margins {margins}")
        index = {level: j for j, level in enumerate(levels)}
        seen, inverse = np.unique(
            np.array([v.strip() for v in values], dtype=object), return_inverse=True
        )
        lookup = np.array([index.get(str(v), -1) for v in seen], dtype=np.intp)
        codes = lookup[inverse.ravel()]
        if np.any(codes < 0):
            i = int(np.flatnonzero(codes < 0)[0])
            raise EstimateInputError(
                f"{_where(responses, i, variable)}: level {values[i]!r} is not in the margins "
                f"{margins} (levels: {', '.join(levels)})"
            )
        margin_list.append(Margin(variable, codes, levels, totals))
    try:
        raked = rake(w, margin_list, tol=1e-12, max_iter=5000)
    except WeightingError as exc:
        raise EstimateInputError(f"weighting: {exc}") from exc
    design = Design(
        raked.weights,
        strata=strata,
        calibration=Calibration.from_rake(w, raked),
        lonely_psu="remove",
    )
    overall = score_estimates(design, y, satisfied_at, proportion_ci=proportion_ci)
    domains: list[dict[str, Any]] = []
    if by:
        by_values = [v.strip() for v in column(by, "--by")]
        names, codes = np.unique(np.asarray(by_values, dtype=object), return_inverse=True)
        per = score_estimates(
            design,
            y,
            satisfied_at,
            codes.astype(np.intp).ravel(),
            len(names),
            proportion_ci=proportion_ci,
        )
        domains = [{"domain": str(name), **per.record(k)} for k, name in enumerate(names)]
    diag = raked.diagnostics
    return {
        "overall": overall.record(0),
        "domains": domains,
        "weights": {
            "n": diag.n,
            "n_eff": diag.n_eff,
            "deff": diag.deff,
            "iterations": raked.iterations,
            "converged": raked.converged,
            "min": diag.min,
            "max": diag.max,
            "sum": diag.sum,
        },
    }


@click.command("estimate")
@click.argument("responses", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--margins",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV variable,level,total: population totals of the raking variables.",
)
@click.option("--by", default="street", show_default=True, help="Domain column ('' for none).")
@click.option("--stratum", default="street", show_default=True, help="Stratum column.")
@click.option(
    "--weight",
    default="weight",
    show_default=True,
    help="Base-weight column (absent: weight 1).",
)
@click.option("--score", default="score", show_default=True, help="Score column (0–100).")
@click.option(
    "--satisfied-at",
    default=80.0,
    show_default=True,
    type=float,
    help="A score at or above this counts as satisfied.",
)
@click.option(
    "--proportion-ci",
    default="logit",
    show_default=True,
    type=click.Choice(["logit", "wilson", "korn-graubard"]),
    help="Interval of the proportion satisfied.",
)
@click.option(
    "--out",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the JSON here instead of standard output.",
)
@click.pass_context
def estimate_command(
    ctx: click.Context,
    responses: Path,
    margins: Path,
    by: str,
    stratum: str,
    weight: str,
    score: str,
    satisfied_at: float,
    proportion_ci: str,
    out: Path | None,
) -> None:
    """Weighted mean score and share satisfied, overall and per domain, raked to MARGINS.

    Stratified by --stratum (with replacement), weights raked to every margin, standard
    errors by linearization with the calibration residuals (as R survey's calibrate()).
    """
    source = ctx.get_parameter_source("weight")
    explicit = source is not None and source.name != "DEFAULT"
    try:
        result = run_estimate(
            responses,
            margins,
            by=by or None,
            stratum=stratum or None,
            weight=weight or None,
            weight_required=explicit,
            score=score,
            satisfied_at=satisfied_at,
            proportion_ci=proportion_ci,
        )
    except EstimateInputError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    text = json.dumps(result, ensure_ascii=False, allow_nan=False, indent=2)
    if out is None:
        click.echo(text)
    else:
        out.write_text(text + "\n", encoding="utf-8")
