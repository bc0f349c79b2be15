"""The one place where scoring asks how certain a ranking is.

Every rank interval, "plausibly in the bottom N" set and "below the mean" significance verdict
of an assessment is computed by the three functions here, with the statistical engine
``participation.analysis``:

- *Rank intervals*: marginal confidence sets for ranks (Mogstad, Romano, Shaikh and Wilhelm
  2023, :func:`participation.analysis.ranks.rank_confidence_sets`), two-sided, step-down,
  1,000 parametric-bootstrap draws with a fixed seed (a bulletin computed twice shows the same
  intervals). Each interval covers the unit's true rank with probability ≈ ``confidence``.
- *Plausibly in the bottom N*: the τ-worst confidence set
  (:func:`participation.analysis.ranks.tau_worst`, step-down), which contains all of the true
  bottom N jointly with probability ≈ ``confidence``.
- *Below the mean*: each unit against the mean of all units (which contains the unit itself)
  with Holm's adjustment across the units
  (:func:`participation.analysis.compare.compare_with_mean`, two-sided).

The composites carry standard errors but no covariances, so the units' scores are taken as
independent: the covariance matrix is diagonal (SE²). Units built from the same survey are
nearly independent across streets (separate samples per street), which this reflects.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from participation.analysis import compare, ranks
from participation.core.i18n import N_

#: Bootstrap draws and seed of the rank confidence sets (fixed: reproducible bulletins).
REPLICATIONS = 1000
SEED = 20230

RANK_METHOD = N_(
    "marginal confidence sets for ranks (Mogstad, Romano, Shaikh and Wilhelm 2023; parametric "
    "bootstrap, step-down, scores taken as independent); the units plausibly in the bottom N "
    "form the simultaneous confidence set for the N worst"
)
MEAN_METHOD = N_(
    "a unit is significantly below the mean when its difference from the mean (which includes "
    "the unit) is significant after Holm's adjustment over all units"
)


@lru_cache(maxsize=64)
def _rank_sets(
    scores: tuple[float, ...], ses: tuple[float, ...], confidence: float
) -> tuple[tuple[int, int], ...]:
    sets = ranks.rank_confidence_sets(
        scores,
        se=ses,
        coverage=confidence,
        stepdown=True,
        replications=REPLICATIONS,
        seed=SEED,
    )
    return tuple(zip(sets.lower, sets.upper, strict=True))


@lru_cache(maxsize=64)
def _bottom(
    scores: tuple[float, ...], ses: tuple[float, ...], n_bottom: int, confidence: float
) -> frozenset[int]:
    result = ranks.tau_worst(
        scores,
        se=ses,
        tau=n_bottom,
        coverage=confidence,
        stepdown=True,
        replications=REPLICATIONS,
        seed=SEED,
    )
    return frozenset(result.members)


def _clean(scores: Sequence[float], ses: Sequence[float]) -> tuple[tuple[float, ...], ...]:
    if len(scores) != len(ses):
        raise ValueError("one standard error per score is needed")
    return tuple(float(s) for s in scores), tuple(max(float(e or 0.0), 0.0) for e in ses)


def rank_intervals(
    scores: Sequence[float], ses: Sequence[float], confidence: float
) -> list[tuple[int, int]]:
    """Each unit's rank interval (1 = best) at ``confidence`` (marginal rank confidence sets)."""
    if not scores:
        return []
    x, s = _clean(scores, ses)
    return list(_rank_sets(x, s, confidence))


def plausible_bottom(
    scores: Sequence[float], ses: Sequence[float], n_bottom: int, confidence: float
) -> set[int]:
    """Indices of the units that may be in the bottom ``n_bottom`` at ``confidence``."""
    n = len(scores)
    if n_bottom <= 0 or n == 0:
        return set()
    if n_bottom >= n:
        return set(range(n))
    x, s = _clean(scores, ses)
    return set(_bottom(x, s, n_bottom, confidence))


def below_mean_significant(
    scores: Sequence[float],
    ses: Sequence[float],
    mean: float,
    confidence: float,
    weights: Sequence[float] | None = None,
) -> list[bool]:
    """For each unit: is it below ``mean`` beyond the margin of error (Holm-adjusted)?

    ``mean`` is the published mean of the units (with ``weights``, equal by default); it
    contains each unit, so Var(xᵢ − x̄) = (1 − wᵢ)² SEᵢ² + Σⱼ≠ᵢ wⱼ² SEⱼ² (weights normalised).
    """
    if not scores:
        return []
    x, s = _clean(scores, ses)
    if weights is not None and sum(weights) <= 0:
        weights = None
    result = compare.compare_with_mean(
        x, se=s, weights=weights, mean=mean, confidence=confidence, alternative="two-sided"
    )
    return [u.significant and u.difference < 0 for u in result.units]
