"""The one place where scoring asks how certain a ranking is.

Every rank interval, "plausibly in the bottom N" set and "below the mean" significance verdict
of an assessment is computed by the three functions here, so the method can change in one place
(the statistical engine ``participation.analysis`` provides simultaneous rank confidence sets
after Mogstad, Romano, Shaikh and Wilhelm and Holm-adjusted comparisons with the mean).

The rule used here is the simple, transparent marginal one: two units' places are told apart
when their difference exceeds ``z·√(SEᵢ² + SEⱼ²)``; a unit's rank interval runs from
1 + (units certainly better) to n − (units certainly worse); a unit is plausibly in the bottom N
when its rank interval reaches the bottom N; "below the mean" is significant when the confidence
interval of (score − mean) lies below zero, the mean's own sampling error included.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from scipy.stats import norm

from participation.core.i18n import N_

RANK_METHOD = N_(
    "rank intervals from pairwise comparisons: two places are distinguished when the scores "
    "differ by more than z·√(SE₁² + SE₂²)"
)
MEAN_METHOD = N_(
    "a unit is significantly below the mean when the confidence interval of its difference "
    "from the mean lies entirely below zero"
)


def _z(confidence: float) -> float:
    return float(norm.ppf(0.5 + confidence / 2))


def rank_intervals(
    scores: Sequence[float], ses: Sequence[float], confidence: float
) -> list[tuple[int, int]]:
    """Each unit's rank interval (1 = best) at ``confidence``."""
    z = _z(confidence)
    n = len(scores)
    out: list[tuple[int, int]] = []
    for i in range(n):
        better = worse = 0
        for j in range(n):
            if i == j:
                continue
            margin = z * math.hypot(ses[i], ses[j])
            if scores[j] - scores[i] > margin:
                better += 1
            elif scores[i] - scores[j] > margin:
                worse += 1
        out.append((1 + better, n - worse))
    return out


def plausible_bottom(
    scores: Sequence[float], ses: Sequence[float], n_bottom: int, confidence: float
) -> set[int]:
    """Indices of the units that may be in the bottom ``n_bottom`` at ``confidence``."""
    n = len(scores)
    if n_bottom <= 0:
        return set()
    threshold = n - n_bottom + 1
    return {
        i
        for i, (_, high) in enumerate(rank_intervals(scores, ses, confidence))
        if high >= threshold
    }


def below_mean_significant(
    scores: Sequence[float], ses: Sequence[float], mean: float, confidence: float
) -> list[bool]:
    """For each unit: is it below ``mean`` (the units' mean) beyond the margin of error?

    The mean contains the unit itself: Var(xᵢ − x̄) = (1 − 1/n)² SEᵢ² + Σⱼ≠ᵢ SEⱼ² / n².
    """
    z = _z(confidence)
    n = len(scores)
    total = sum(s**2 for s in ses)
    out: list[bool] = []
    for x, se in zip(scores, ses, strict=True):
        var = (1 - 1 / n) ** 2 * se**2 + (total - se**2) / n**2 if n else se**2
        out.append(x - mean + z * math.sqrt(var) < 0)
    return out
