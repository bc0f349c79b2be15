"""Replicate-weight variance: delete-one-PSU jackknife (JKn) and the bootstrap, for any
statistic, with the raking redone on every replicate when asked.

``variance = scale · Σ_r rscale_r (θ_r - θ̄)²`` with ``θ̄`` the mean of the replicates (R's
default ``mse = FALSE``) or the full-sample estimate (``mse=True``).

* JKn (R ``as.svrepdesign(type = "JKn")``): one replicate per PSU; the PSU's weights set to 0,
  the rest of its stratum's multiplied by ``n_h/(n_h - 1)``; ``rscale = (n_h - 1)/n_h``.
* bootstrap, ``method="r"`` (R ``as.svrepdesign(type = "bootstrap")``): in each stratum
  ``n_h`` PSUs drawn with replacement, weight × times drawn; ``scale = m/((m-1)(R-1))`` with
  ``m`` the harmonic mean of the PSUs per stratum.
* bootstrap, ``method="rao-wu"``: the Rao–Wu rescaling bootstrap with ``n_h - 1`` draws,
  weight × times drawn × ``n_h/(n_h - 1)``, ``scale = 1/(R-1)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from participation.analysis.variance import Design, DesignError
from participation.analysis.weights import Margin, rake

__all__ = [
    "ReplicateWeights",
    "bootstrap_weights",
    "jkn_weights",
    "rake_replicates",
    "replicate_domain_means",
    "replicate_variance",
]


@dataclass(frozen=True)
class ReplicateWeights:
    """Full-sample weights ``weights`` (``n``) and replicate weights ``replicates``
    (``n × R``), with the variance multipliers."""

    weights: np.ndarray
    replicates: np.ndarray
    scale: float
    rscales: np.ndarray
    mse: bool = False

    @property
    def n_replicates(self) -> int:
        return int(self.replicates.shape[1])

    def variance(self, full: np.ndarray, reps: np.ndarray) -> np.ndarray:
        """Covariance matrix of statistics: ``full`` (``K``) on the full sample, ``reps``
        (``R × K``) on the replicates."""
        reps = np.asarray(reps, dtype=float)
        if reps.ndim == 1:
            reps = reps[:, None]
        centre = np.asarray(full, dtype=float) if self.mse else reps.mean(axis=0)
        dev = (reps - centre) * np.sqrt(self.rscales)[:, None]
        return self.scale * dev.T @ dev


def _psu_structure(design: Design) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    psu = design.psu_codes
    stratum_of_psu = design._psu_stratum
    n_h = design._n_h
    if np.any(n_h[stratum_of_psu] < 2):
        raise DesignError("replicate weights need at least two PSUs in every stratum")
    return psu, stratum_of_psu, n_h


def jkn_weights(design: Design, mse: bool = False) -> ReplicateWeights:
    """Delete-one-PSU jackknife within strata (one replicate per PSU)."""
    psu, stratum_of_psu, n_h = _psu_structure(design)
    n, R = design.n, design.n_psu
    strata = design.strata_codes
    factor = np.ones((n, R))
    same_stratum = strata[:, None] == stratum_of_psu[None, :]
    factor[same_stratum] = (n_h / (n_h - 1))[strata[:, None].repeat(R, axis=1)[same_stratum]]
    factor[np.arange(n), psu] = 0.0
    rscales = (n_h[stratum_of_psu] - 1) / n_h[stratum_of_psu]
    return ReplicateWeights(
        weights=design.weights,
        replicates=design.weights[:, None] * factor,
        scale=1.0,
        rscales=rscales,
        mse=mse,
    )


def bootstrap_weights(
    design: Design,
    replicates: int = 200,
    rng: np.random.Generator | None = None,
    method: str = "r",
    mse: bool = False,
) -> ReplicateWeights:
    """Bootstrap replicate weights (``method="r"`` as R survey, or ``"rao-wu"``)."""
    if method not in ("r", "rao-wu"):
        raise ValueError(f"unknown bootstrap method {method!r}")
    if replicates < 2:
        raise ValueError("at least two bootstrap replicates")
    rng = rng or np.random.default_rng()
    psu, stratum_of_psu, n_h = _psu_structure(design)
    n_psu = design.n_psu
    multipliers = np.zeros((n_psu, replicates))
    order = np.argsort(stratum_of_psu, kind="stable")
    starts = np.concatenate([[0], np.cumsum(np.bincount(stratum_of_psu, minlength=n_h.size))])
    for h in range(n_h.size):  # over strata (a design constant), vectorised over replicates
        members = order[starts[h] : starts[h + 1]]
        k = members.size
        if k == 0:
            continue
        draws = k if method == "r" else k - 1
        picks = rng.integers(0, k, size=(replicates, draws))
        counts = np.zeros((replicates, k))
        np.add.at(counts, (np.repeat(np.arange(replicates), draws), picks.ravel()), 1.0)
        if method == "rao-wu":
            counts *= k / (k - 1)
        multipliers[members] = counts.T
    if method == "r":
        m = 1.0 / np.mean(1.0 / n_h[n_h > 0])
        scale = m / ((m - 1) * (replicates - 1))
    else:
        scale = 1.0 / (replicates - 1)
    return ReplicateWeights(
        weights=design.weights,
        replicates=design.weights[:, None] * multipliers[psu],
        scale=scale,
        rscales=np.ones(replicates),
        mse=mse,
    )


def rake_replicates(
    rep: ReplicateWeights, margins: Sequence[Margin], **options: float
) -> ReplicateWeights:
    """Rake the full-sample and every replicate's weights to the margins (as R
    ``calibrate()`` on a replicate design)."""
    full = rake(rep.weights, margins, **options).weights  # type: ignore[arg-type]
    reps = np.empty_like(rep.replicates)
    for r in range(rep.n_replicates):  # over replicates, never over domains
        reps[:, r] = rake(rep.replicates[:, r], margins, **options).weights  # type: ignore[arg-type]
    return ReplicateWeights(full, reps, rep.scale, rep.rscales, rep.mse)


def replicate_domain_means(
    rep: ReplicateWeights,
    y: np.ndarray,
    domains: np.ndarray | None = None,
    n_domains: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted means of ``y`` (``NaN`` left out) in every domain: full-sample estimates,
    their standard errors and covariance matrix — matrix products, no loop."""
    import scipy.sparse as sp

    y = np.asarray(y, dtype=float)
    n = y.size
    dom = np.zeros(n, dtype=np.intp) if domains is None else np.asarray(domains, dtype=np.intp)
    D = int(n_domains if n_domains is not None else (dom.max() + 1 if n else 0))
    valid = ~np.isnan(y) & (dom >= 0)
    idx = np.flatnonzero(valid)
    ind = sp.csr_array((np.ones(idx.size), (dom[idx], idx)), shape=(D, n))
    yv = np.where(valid, y, 0.0)
    all_w = np.column_stack([rep.weights, rep.replicates])
    totals = ind @ (all_w * yv[:, None])
    sums = ind @ all_w
    with np.errstate(invalid="ignore", divide="ignore"):
        means = totals / sums  # D × (1 + R)
    full, reps = means[:, 0], means[:, 1:].T
    cov = rep.variance(full, reps)
    return full, np.sqrt(np.maximum(np.diag(cov), 0.0)), cov


def replicate_variance(
    rep: ReplicateWeights, statistic: Callable[[np.ndarray], np.ndarray | float]
) -> tuple[np.ndarray, np.ndarray]:
    """Any statistic: ``statistic(weights)`` on the full sample and every replicate; returns
    the full-sample value(s) and their covariance matrix."""
    full = np.atleast_1d(np.asarray(statistic(rep.weights), dtype=float))
    reps = np.array(
        [np.atleast_1d(statistic(rep.replicates[:, r])) for r in range(rep.n_replicates)],
        dtype=float,
    )
    return full, rep.variance(full, reps)
