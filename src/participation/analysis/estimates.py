"""Weighted means, proportions and totals with standard errors and confidence intervals, for
the whole sample and for every domain in one vectorised pass.

A value of ``NaN`` in ``y`` means "no valid answer": that respondent is left out of the
estimate — zero influence, as R's ``svymean(..., na.rm = TRUE)`` — but stays in the design
(its stratum, PSU count, calibration and degrees of freedom), exactly like R.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import expit, logit
from scipy.stats import beta as beta_dist
from scipy.stats import t as t_dist

from participation.analysis.variance import (
    Design,
    Influence,
    degrees_of_freedom,
    linearized_covariance,
    normal_quantile,
    t_quantile,
)

__all__ = [
    "CI_METHODS",
    "DomainEstimates",
    "ScoreEstimates",
    "domain_estimates",
    "mean_interval",
    "proportion_interval",
    "score_estimates",
]

CI_METHODS = ("logit", "wilson", "korn-graubard", "beta", "mean", "asin", "xlogit")


@dataclass(frozen=True)
class DomainEstimates:
    """Estimates of ``m`` variables in ``D`` domains (arrays shaped ``(m, D)``).

    ``cov`` (with ``covmat=True``) is the ``(m·D) × (m·D)`` covariance matrix, variable-major:
    entry ``j·D + k`` is variable ``j`` in domain ``k`` (R ``svyby(..., covmat = TRUE)``)."""

    estimate: np.ndarray
    se: np.ndarray
    n: np.ndarray  # respondents with a valid value
    weight_sum: np.ndarray  # Σ w over respondents with a valid value
    df: np.ndarray  # R degf() of each domain (shape (D,))
    n_rows: np.ndarray  # respondents in each domain, valid or not (shape (D,))
    cov: np.ndarray | None = None


def _domain_codes(
    domains: np.ndarray | None, n: int, n_domains: int | None
) -> tuple[np.ndarray, int]:
    if domains is None:
        return np.zeros(n, dtype=np.intp), 1
    dom = np.asarray(domains)
    if dom.shape != (n,):
        raise ValueError("domains must have one code per respondent")
    dom = dom.astype(np.intp, copy=False)
    D = int(n_domains if n_domains is not None else (dom.max() + 1 if n else 0))
    if n and dom.max() >= D:
        raise ValueError("a domain code exceeds n_domains")
    return dom, D


def domain_estimates(
    design: Design,
    y: np.ndarray,
    domains: np.ndarray | None = None,
    n_domains: int | None = None,
    *,
    kind: str = "mean",
    covmat: bool = False,
) -> DomainEstimates:
    """Weighted means (``kind="mean"``, also proportions of 0/1 variables) or totals
    (``kind="total"``) of the columns of ``y`` (``n`` or ``n × m``) in every domain.

    ``domains[i]`` is respondent ``i``'s domain in ``0..D-1`` (``-1``: in none); without
    ``domains`` the whole sample is one domain."""
    if kind not in ("mean", "total"):
        raise ValueError(f"unknown kind {kind!r}")
    Y = np.asarray(y, dtype=float)
    if Y.ndim == 1:
        Y = Y[:, None]
    n, m = Y.shape
    if n != design.n:
        raise ValueError("y must have one row per respondent")
    dom, D = _domain_codes(domains, n, n_domains)
    w = design.weights
    in_dom = dom >= 0
    rows_per_domain = np.bincount(dom[in_dom], minlength=D)
    est = np.full((m, D), math.nan)
    counts = np.zeros((m, D))
    wsum = np.zeros((m, D))
    rows_list, cols_list, vals_list = [], [], []
    for j in range(m):  # over variables (a handful), never over domains
        yj = Y[:, j]
        valid = in_dom & ~np.isnan(yj)
        idx = np.flatnonzero(valid)
        dj = dom[idx]
        wj = w[idx]
        yv = yj[idx]
        counts[j] = np.bincount(dj, minlength=D)
        wsum[j] = np.bincount(dj, weights=wj, minlength=D)
        totals = np.bincount(dj, weights=wj * yv, minlength=D)
        if kind == "mean":
            with np.errstate(divide="ignore", invalid="ignore"):
                est[j] = np.where(wsum[j] > 0, totals / wsum[j], math.nan)
            with np.errstate(divide="ignore", invalid="ignore"):
                vals = wj * (yv - est[j][dj]) / wsum[j][dj]
            vals = np.where(np.isfinite(vals), vals, 0.0)
        else:
            est[j] = totals
            vals = wj * yv
        rows_list.append(idx)
        cols_list.append(j * D + dj)
        vals_list.append(vals)
    X = Influence(
        np.concatenate(rows_list), np.concatenate(cols_list), np.concatenate(vals_list), m * D
    )
    if covmat:
        cov = linearized_covariance(design, X)
        var = np.diag(cov).copy()
    else:
        cov = None
        var = linearized_covariance(design, X, diag_only=True)
    se = np.sqrt(np.maximum(var, 0.0)).reshape(m, D)
    se = np.where(counts > 0, se, math.nan)
    return DomainEstimates(
        estimate=est,
        se=se,
        n=counts.astype(np.int64),
        weight_sum=wsum,
        df=degrees_of_freedom(design, dom, D),
        n_rows=rows_per_domain,
        cov=cov,
    )


def mean_interval(
    estimate: np.ndarray, se: np.ndarray, level: float = 0.95, df: np.ndarray | float = math.inf
) -> tuple[np.ndarray, np.ndarray]:
    """Normal (or t with ``df``) interval ``estimate ± q·se``, as R ``confint(svymean(...))``."""
    q = t_quantile(np.broadcast_to(np.asarray(df, float), np.shape(estimate)), level)
    est = np.asarray(estimate, dtype=float)
    return est - q * se, est + q * se


def proportion_interval(
    p: np.ndarray,
    se: np.ndarray,
    method: str = "logit",
    *,
    df: np.ndarray | float = math.inf,
    n_rows: np.ndarray | float = math.inf,
    level: float = 0.95,
    n_eff: np.ndarray | float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Confidence interval of a proportion from its estimate and design-based SE.

    * ``logit`` (R ``svyciprop`` default, also ``xlogit``): ``expit(logit p ± t_df·se/(p(1-p)))``;
      at ``p`` = 0 or 1 the interval collapses to ``[p, p]`` as R's does;
    * ``wilson``: Wilson's score interval with the effective sample size
      ``n_eff = p(1-p)/se²`` and the normal quantile;
    * ``korn-graubard`` (= R ``method = "beta"``): Clopper–Pearson with
      ``n_eff = p(1-p)/se² · (t_{n_rows-1}/t_df)²``;
    * ``mean``: ``p ± t_df·se``; ``asin``: ``sin²(asin √p ± t_df·se/(2√(p(1-p))))``.

    ``df`` are the design degrees of freedom (R ``degf()``), ``n_rows`` the rows of the design
    the estimate is computed on (R ``nrow(design)``, used by Korn–Graubard only)."""
    p_arr = np.asarray(p, dtype=float)
    se_arr = np.asarray(se, dtype=float)
    shape = np.broadcast(p_arr, se_arr).shape
    p_arr = np.broadcast_to(p_arr, shape)
    se_arr = np.broadcast_to(se_arr, shape)
    df_arr = np.broadcast_to(np.asarray(df, dtype=float), shape)
    alpha = 1 - level
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if method in ("logit", "xlogit"):
            q = t_quantile(df_arr, level)
            inner = (p_arr > 0) & (p_arr < 1)
            half = np.where(inner, q * se_arr / (p_arr * (1 - p_arr)), 0.0)
            centre = np.where(inner, logit(np.clip(p_arr, 1e-300, 1 - 1e-16)), 0.0)
            low = np.where(inner, expit(centre - half), p_arr)
            high = np.where(inner, expit(centre + half), p_arr)
        elif method == "wilson":
            z = normal_quantile(level)
            if n_eff is None:
                n_eff = p_arr * (1 - p_arr) / (se_arr * se_arr)
            n_eff = np.broadcast_to(np.asarray(n_eff, dtype=float), shape)
            ok = np.isfinite(n_eff) & (n_eff > 0)
            n_eff = np.where(ok, n_eff, math.nan)
            denom = 1 + z * z / n_eff
            centre = (p_arr + z * z / (2 * n_eff)) / denom
            half = z * np.sqrt(p_arr * (1 - p_arr) / n_eff + z * z / (4 * n_eff * n_eff)) / denom
            low, high = centre - half, centre + half
        elif method in ("korn-graubard", "beta"):
            n_eff = p_arr * (1 - p_arr) / (se_arr * se_arr)
            rows = np.broadcast_to(np.asarray(n_rows, dtype=float), shape)
            t_rows = np.where(
                np.isfinite(rows), t_dist.ppf(alpha / 2, rows - 1), -normal_quantile(level)
            )
            t_df = np.where(
                np.isfinite(df_arr),
                t_dist.ppf(alpha / 2, np.where(df_arr > 0, df_arr, math.nan)),
                -normal_quantile(level),
            )
            n_eff = n_eff * (t_rows / t_df) ** 2
            low = beta_dist.ppf(alpha / 2, n_eff * p_arr, n_eff * (1 - p_arr) + 1)
            high = beta_dist.ppf(1 - alpha / 2, n_eff * p_arr + 1, n_eff * (1 - p_arr))
        elif method == "mean":
            q = t_quantile(df_arr, level)
            low, high = p_arr - q * se_arr, p_arr + q * se_arr
        elif method == "asin":
            q = t_quantile(df_arr, level)
            centre = np.arcsin(np.sqrt(p_arr))
            half = q * se_arr / (2 * np.sqrt(p_arr * (1 - p_arr)))
            low, high = np.sin(centre - half) ** 2, np.sin(centre + half) ** 2
        else:
            raise ValueError(f"unknown interval method {method!r}; one of {', '.join(CI_METHODS)}")
    return np.asarray(low, dtype=float), np.asarray(high, dtype=float)


@dataclass(frozen=True)
class ScoreEstimates:
    """Mean score and share satisfied, with SEs and 95 % intervals, per domain (arrays of
    length ``D``; the overall sample is one domain when no domains are given)."""

    n: np.ndarray
    mean: np.ndarray
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    p_satisfied: np.ndarray
    p_se: np.ndarray
    p_ci_low: np.ndarray
    p_ci_high: np.ndarray
    df: np.ndarray
    cov: np.ndarray | None = None

    def record(self, k: int) -> dict[str, float | int | None]:
        """Domain ``k`` as a plain dict (``None`` for undefined values)."""

        def num(x: float) -> float | None:
            return float(x) if math.isfinite(x) else None

        return {
            "n": int(self.n[k]),
            "mean": num(self.mean[k]),
            "se": num(self.se[k]),
            "ci_low": num(self.ci_low[k]),
            "ci_high": num(self.ci_high[k]),
            "p_satisfied": num(self.p_satisfied[k]),
            "p_se": num(self.p_se[k]),
            "p_ci_low": num(self.p_ci_low[k]),
            "p_ci_high": num(self.p_ci_high[k]),
        }


def score_estimates(
    design: Design,
    score: np.ndarray,
    satisfied_at: float = 80.0,
    domains: np.ndarray | None = None,
    n_domains: int | None = None,
    *,
    proportion_ci: str = "logit",
    level: float = 0.95,
    covmat: bool = False,
    satisfied: np.ndarray | None = None,
) -> ScoreEstimates:
    """Mean score (normal CI, as ``confint(svymean(...))``) and proportion satisfied
    (``score >= satisfied_at``, or the 0/1/NaN array ``satisfied``; CI by ``proportion_ci``
    with each domain's degrees of freedom, as ``svyciprop`` on ``subset(design, domain)``)
    for every domain in one pass. ``NaN`` scores are left out (``na.rm = TRUE``)."""
    y = np.asarray(score, dtype=float)
    if satisfied is None:
        with np.errstate(invalid="ignore"):
            sat = np.where(np.isnan(y), math.nan, (y >= satisfied_at).astype(float))
    else:
        sat = np.asarray(satisfied, dtype=float)
    est = domain_estimates(design, np.column_stack([y, sat]), domains, n_domains, covmat=covmat)
    mean, p = est.estimate
    se, p_se = est.se
    low, high = mean_interval(mean, se, level)
    p_low, p_high = proportion_interval(
        p, p_se, proportion_ci, df=est.df, n_rows=design.n, level=level
    )
    return ScoreEstimates(
        n=est.n[0],
        mean=mean,
        se=se,
        ci_low=low,
        ci_high=high,
        p_satisfied=p,
        p_se=p_se,
        p_ci_low=p_low,
        p_ci_high=p_high,
        df=est.df,
        cov=est.cov,
    )
