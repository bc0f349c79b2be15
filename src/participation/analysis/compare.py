"""Comparisons of estimates: two waves of a unit, each unit against a mean, Holm's adjustment.

Pure functions over numbers: estimates and their standard errors (or covariance matrix) in,
frozen dataclasses out. Normal (z) reference distribution throughout, as for large-sample
survey estimates (R ``survey``'s ``svycontrast`` + ``confint``).

- :func:`difference` / :func:`differences`: the change between two waves of the same unit,
  ``after − before``, with SE ``√(se₁² + se₂² − 2·cov)`` (``cov = 0`` for independent samples),
  a normal confidence interval and a two-sided z test.
- :func:`compare_with_mean`: each unit against the (weighted) mean of all units, which contains
  the unit itself: ``Var(θ̂ᵢ − θ̄) = aᵢ' Σ aᵢ`` with ``aᵢ = eᵢ − w``, i.e.
  ``Σᵢᵢ − 2 (Σw)ᵢ + w'Σw``; with a diagonal Σ (independent units) this is
  ``(1 − wᵢ)² seᵢ² + Σⱼ≠ᵢ wⱼ² seⱼ²``. p-values are Holm-adjusted across the units.
- :func:`compare_with_reference`: each unit against an external value (e.g. a provincial mean
  from another survey) with its own SE, independent of the units.
- :func:`holm`: Holm's (1979) step-down adjusted p-values, as ``p.adjust(p, "holm")`` in R and
  ``statsmodels.stats.multitest.multipletests(p, method="holm")``.

References: Holm, S. (1979), "A simple sequentially rejective multiple test procedure",
*Scandinavian Journal of Statistics* 6, 65–70. Lumley, T. (2010), *Complex Surveys*, §2.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import norm

Alternative = Literal["two-sided", "less", "greater"]

__all__ = [
    "Difference",
    "MeanComparison",
    "UnitComparison",
    "compare_with_mean",
    "compare_with_reference",
    "difference",
    "differences",
    "holm",
]


@dataclass(frozen=True)
class Difference:
    """``after − before`` with its SE, normal CI and two-sided z test."""

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    z: float
    p_value: float
    confidence: float


@dataclass(frozen=True)
class UnitComparison:
    """One unit against the reference: ``estimate − reference``.

    ``p_value`` is the unadjusted p-value of the chosen alternative, ``p_adjusted`` the Holm-
    adjusted one across all compared units; ``significant`` is ``p_adjusted < 1 − confidence``;
    ``ci_low``/``ci_high`` is the marginal (unadjusted) interval of the difference.
    """

    index: int
    estimate: float
    difference: float
    se: float
    ci_low: float
    ci_high: float
    z: float
    p_value: float
    p_adjusted: float
    significant: bool


@dataclass(frozen=True)
class MeanComparison:
    """All units against a mean (or an external reference), with Holm's adjustment."""

    reference: float
    reference_se: float
    confidence: float
    alternative: str
    includes_units: bool
    units: tuple[UnitComparison, ...]

    def below(self) -> list[int]:
        """Indices of units significantly below the reference."""
        return [u.index for u in self.units if u.significant and u.difference < 0]

    def above(self) -> list[int]:
        """Indices of units significantly above the reference."""
        return [u.index for u in self.units if u.significant and u.difference > 0]


def _z(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError("confidence must be strictly between 0 and 1")
    return float(norm.ppf(0.5 + confidence / 2))


def _p_values(z: NDArray[np.float64], alternative: str) -> NDArray[np.float64]:
    if alternative == "two-sided":
        return 2 * norm.sf(np.abs(z))
    if alternative == "less":
        return norm.cdf(z)
    if alternative == "greater":
        return norm.sf(z)
    raise ValueError("alternative must be 'two-sided', 'less' or 'greater'")


def holm(p_values: ArrayLike) -> list[float]:
    """Holm's step-down adjusted p-values, in the input order.

    With the p-values sorted ``p₍₁₎ ≤ … ≤ p₍ₘ₎``, the adjusted value of ``p₍ᵢ₎`` is
    ``maxⱼ≤ᵢ min(1, (m − j + 1) p₍ⱼ₎)``. Rejecting the hypotheses whose adjusted p-value is below
    α controls the family-wise error rate at α under any dependence.
    """
    p = np.asarray(p_values, dtype=float).ravel()
    if p.size == 0:
        return []
    if np.any(np.isnan(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError("p-values must lie in [0, 1]")
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.maximum.accumulate(scaled)
    return adjusted.tolist()


def difference(
    before: float,
    se_before: float,
    after: float,
    se_after: float,
    covariance: float = 0.0,
    confidence: float = 0.95,
) -> Difference:
    """The change ``after − before`` of one unit between two waves.

    ``covariance`` is Cov(before, after): 0 for independent samples (the default for two
    bimonthly waves drawn separately); for a panel or overlapping samples pass the estimated
    covariance. SE = √(se_before² + se_after² − 2·covariance).
    """
    return differences([before], [se_before], [after], [se_after], [covariance], confidence)[0]


def differences(
    before: ArrayLike,
    se_before: ArrayLike,
    after: ArrayLike,
    se_after: ArrayLike,
    covariance: ArrayLike | None = None,
    confidence: float = 0.95,
) -> list[Difference]:
    """:func:`difference` for many units at once (vectorised)."""
    b = np.asarray(before, dtype=float).ravel()
    a = np.asarray(after, dtype=float).ravel()
    sb = np.asarray(se_before, dtype=float).ravel()
    sa = np.asarray(se_after, dtype=float).ravel()
    cov = np.zeros_like(b) if covariance is None else np.asarray(covariance, dtype=float).ravel()
    if not (b.shape == a.shape == sb.shape == sa.shape == cov.shape):
        raise ValueError("before, after, their SEs and the covariance must have the same length")
    if np.any(sb < 0) or np.any(sa < 0):
        raise ValueError("standard errors must not be negative")
    var = sb**2 + sa**2 - 2 * cov
    if np.any(var < -1e-12 * np.maximum(1.0, sb**2 + sa**2)):
        raise ValueError("the covariance is too large for the standard errors given")
    se = np.sqrt(np.maximum(var, 0.0))
    z_crit = _z(confidence)
    est = a - b
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, est / np.where(se > 0, se, 1.0), np.sign(est) * np.inf)
    z = np.where((se == 0) & (est == 0), 0.0, z)
    p = _p_values(z, "two-sided")
    return [
        Difference(
            estimate=float(est[i]),
            se=float(se[i]),
            ci_low=float(est[i] - z_crit * se[i]),
            ci_high=float(est[i] + z_crit * se[i]),
            z=float(z[i]),
            p_value=float(p[i]),
            confidence=confidence,
        )
        for i in range(est.size)
    ]


def _covariance(
    n: int, se: ArrayLike | None, cov: ArrayLike | None
) -> tuple[NDArray[np.float64], bool]:
    """The covariance matrix from ``cov`` or ``se`` (diagonal); flag: is it diagonal."""
    if cov is not None:
        sigma = np.asarray(cov, dtype=float)
        if sigma.shape != (n, n):
            raise ValueError(f"the covariance matrix must be {n}×{n}")
        if not np.allclose(sigma, sigma.T, rtol=1e-10, atol=1e-14):
            raise ValueError("the covariance matrix must be symmetric")
        if np.any(np.diag(sigma) < 0):
            raise ValueError("the covariance matrix has a negative variance")
        return sigma, False
    if se is None:
        raise ValueError("give the standard errors or the covariance matrix")
    s = np.asarray(se, dtype=float).ravel()
    if s.shape != (n,):
        raise ValueError("one standard error per estimate is needed")
    if np.any(s < 0) or np.any(np.isnan(s)):
        raise ValueError("standard errors must not be negative")
    return np.diag(s**2), True


def _units(
    est: NDArray[np.float64],
    diff: NDArray[np.float64],
    var: NDArray[np.float64],
    confidence: float,
    alternative: str,
) -> tuple[UnitComparison, ...]:
    z_crit = _z(confidence)
    se = np.sqrt(np.maximum(var, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, diff / np.where(se > 0, se, 1.0), np.sign(diff) * np.inf)
    z = np.where((se == 0) & (diff == 0), 0.0, z)
    p = _p_values(z, alternative)
    adjusted = holm(p)
    alpha = 1 - confidence
    return tuple(
        UnitComparison(
            index=i,
            estimate=float(est[i]),
            difference=float(diff[i]),
            se=float(se[i]),
            ci_low=float(diff[i] - z_crit * se[i]),
            ci_high=float(diff[i] + z_crit * se[i]),
            z=float(z[i]),
            p_value=float(p[i]),
            p_adjusted=float(adjusted[i]),
            significant=bool(adjusted[i] < alpha),
        )
        for i in range(est.size)
    )


def compare_with_mean(
    estimates: ArrayLike,
    se: ArrayLike | None = None,
    cov: ArrayLike | None = None,
    weights: Sequence[float] | NDArray[np.float64] | None = None,
    mean: float | None = None,
    confidence: float = 0.95,
    alternative: Alternative = "two-sided",
) -> MeanComparison:
    """Each unit against the weighted mean of all units, Holm-adjusted across the units.

    Parameters
    ----------
    estimates
        The units' estimates θ̂.
    se, cov
        Their standard errors (units independent: Σ diagonal) or their full covariance matrix
        Σ (e.g. from a domain estimation with ``covmat``); ``cov`` wins when both are given.
    weights
        The units' weights in the mean (normalised here); equal weights by default.
    mean
        The published value of the mean when it is computed elsewhere (e.g. the city score
        built from the components); its variance is still that of ``Σ wⱼθ̂ⱼ``. Default:
        ``Σ wⱼθ̂ⱼ``.
    confidence
        1 − α: the family-wise level of the Holm procedure and the level of each interval.
    alternative
        ``two-sided`` (default), ``less`` (unit below the mean) or ``greater``.

    Notes
    -----
    Since θ̄ contains θ̂ᵢ, ``Var(θ̂ᵢ − θ̄) = Σᵢᵢ − 2 (Σw)ᵢ + w'Σw`` (not Σᵢᵢ + Var θ̄).
    """
    est = np.asarray(estimates, dtype=float).ravel()
    n = est.size
    if n == 0:
        raise ValueError("no estimates to compare")
    sigma, _ = _covariance(n, se, cov)
    if weights is None:
        w = np.full(n, 1.0 / n)
    else:
        w = np.asarray(weights, dtype=float).ravel()
        if w.shape != (n,) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError("one non-negative weight per estimate is needed, not all zero")
        w = w / w.sum()
    sw = sigma @ w
    var_mean = float(w @ sw)
    var = np.diag(sigma) - 2 * sw + var_mean
    centre = float(w @ est) if mean is None else float(mean)
    return MeanComparison(
        reference=centre,
        reference_se=float(np.sqrt(max(var_mean, 0.0))),
        confidence=confidence,
        alternative=alternative,
        includes_units=True,
        units=_units(est, est - centre, var, confidence, alternative),
    )


def compare_with_reference(
    estimates: ArrayLike,
    reference: float,
    se: ArrayLike | None = None,
    cov: ArrayLike | None = None,
    reference_se: float = 0.0,
    confidence: float = 0.95,
    alternative: Alternative = "two-sided",
) -> MeanComparison:
    """Each unit against an external value (independent of the units), Holm-adjusted.

    ``Var(θ̂ᵢ − r) = Σᵢᵢ + reference_se²``; a fixed target has ``reference_se = 0``.
    """
    est = np.asarray(estimates, dtype=float).ravel()
    n = est.size
    if n == 0:
        raise ValueError("no estimates to compare")
    if reference_se < 0:
        raise ValueError("reference_se must not be negative")
    sigma, _ = _covariance(n, se, cov)
    var = np.diag(sigma) + reference_se**2
    return MeanComparison(
        reference=float(reference),
        reference_se=float(reference_se),
        confidence=confidence,
        alternative=alternative,
        includes_units=False,
        units=_units(est, est - float(reference), var, confidence, alternative),
    )
