"""Survey weights: design (base) weights, post-stratification, raking, bounded calibration,
trimming, and their diagnostics.

Raking works on the table of *cells* (the distinct combinations of the margin variables' levels):
a raking adjustment depends on a respondent only through the cell, so the iterations run on a
few thousand cell totals whatever the number of respondents.

Nothing here fails silently: inconsistent margin totals, a population level without respondents,
a sample level without population, non-convergence and bounds or trimming that cannot be met
all raise :class:`WeightingError` naming the variable and level; after every adjustment the
weighted totals are checked against every margin.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "Margin",
    "RakeResult",
    "WeightDiagnostics",
    "WeightingError",
    "calibrate_bounded",
    "check_margins",
    "design_weights",
    "poststratify",
    "rake",
    "trim_and_rake",
    "weight_diagnostics",
]


class WeightingError(ValueError):
    """Weights cannot be computed as asked; the message names the variable and level."""

    def __init__(self, message: str, variable: str | None = None, level: str | None = None):
        super().__init__(message)
        self.variable = variable
        self.level = level


@dataclass(frozen=True)
class Margin:
    """Population totals of one raking variable.

    ``codes[i]`` is respondent ``i``'s level as an index into ``levels``; ``totals[j]`` is the
    population total of ``levels[j]``.
    """

    name: str
    codes: np.ndarray
    levels: Sequence[str]
    totals: np.ndarray

    def __post_init__(self) -> None:
        codes = np.asarray(self.codes)
        totals = np.asarray(self.totals, dtype=float)
        if codes.ndim != 1:
            raise WeightingError(f"margin {self.name}: codes must be one-dimensional", self.name)
        if totals.shape != (len(self.levels),):
            raise WeightingError(
                f"margin {self.name}: {len(self.levels)} levels but {totals.size} totals",
                self.name,
            )
        if codes.size and (codes.min() < 0 or codes.max() >= len(self.levels)):
            bad = int(np.flatnonzero((codes < 0) | (codes >= len(self.levels)))[0])
            raise WeightingError(
                f"margin {self.name}: respondent {bad} has no level in the margin", self.name
            )
        if np.any(~np.isfinite(totals)) or np.any(totals < 0):
            j = int(np.flatnonzero(~np.isfinite(totals) | (totals < 0))[0])
            raise WeightingError(
                f"margin {self.name}: level {self.levels[j]} has an invalid total {totals[j]}",
                self.name,
                str(self.levels[j]),
            )
        object.__setattr__(self, "codes", codes.astype(np.intp, copy=False))
        object.__setattr__(self, "totals", totals)


@dataclass(frozen=True)
class WeightDiagnostics:
    """Summary of a set of weights."""

    n: int
    sum: float
    min: float
    max: float
    mean: float
    cv: float
    n_eff: float  # Kish: (Σw)² / Σw²
    deff: float  # design effect due to weighting: n / n_eff = 1 + CV² (population CV)

    def as_dict(self) -> dict[str, float | int]:
        return {
            "n": self.n,
            "sum": self.sum,
            "min": self.min,
            "max": self.max,
            "mean": self.mean,
            "cv": self.cv,
            "n_eff": self.n_eff,
            "deff": self.deff,
        }


@dataclass(frozen=True)
class RakeResult:
    """Calibrated weights with the adjustment factors ``g`` (weights / input weights)."""

    weights: np.ndarray
    g: np.ndarray
    iterations: int
    converged: bool
    max_error: float  # largest relative gap between weighted totals and margins
    diagnostics: WeightDiagnostics
    trimmed: int = 0
    margins: tuple[Margin, ...] = field(default=(), repr=False)


def weight_diagnostics(weights: np.ndarray) -> WeightDiagnostics:
    """Kish effective sample size, design effect due to weighting, min/max/mean/CV."""
    w = np.asarray(weights, dtype=float)
    n = int(w.size)
    if n == 0:
        return WeightDiagnostics(0, 0.0, math.nan, math.nan, math.nan, math.nan, 0.0, math.nan)
    total = float(w.sum())
    squares = float(np.dot(w, w))
    mean = total / n
    cv = float(w.std() / mean) if mean else math.nan
    n_eff = total * total / squares if squares > 0 else 0.0
    return WeightDiagnostics(
        n=n,
        sum=total,
        min=float(w.min()),
        max=float(w.max()),
        mean=mean,
        cv=cv,
        n_eff=n_eff,
        deff=n / n_eff if n_eff > 0 else math.nan,
    )


def design_weights(strata: np.ndarray, population: Sequence[float] | np.ndarray) -> np.ndarray:
    """Base weights ``N_h / n_h``: ``strata[i]`` indexes ``population`` (the stratum sizes)."""
    codes = np.asarray(strata, dtype=np.intp)
    N = np.asarray(population, dtype=float)
    if codes.size and (codes.min() < 0 or codes.max() >= N.size):
        raise WeightingError("a respondent's stratum has no population size", "stratum")
    n = np.bincount(codes, minlength=N.size).astype(float)
    empty = (n == 0) & (N > 0)
    if np.any(empty):
        h = int(np.flatnonzero(empty)[0])
        raise WeightingError(
            f"stratum {h} has population {N[h]} but no respondents", "stratum", str(h)
        )
    if np.any(N < 0):
        raise WeightingError("stratum population sizes must not be negative", "stratum")
    return N[codes] / n[codes]


def _validate_weights(weights: np.ndarray) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    if w.ndim != 1:
        raise WeightingError("weights must be one-dimensional", "weight")
    if np.any(~np.isfinite(w)) or np.any(w < 0):
        i = int(np.flatnonzero(~np.isfinite(w) | (w < 0))[0])
        raise WeightingError(f"weight of respondent {i} is invalid: {w[i]}", "weight", str(i))
    return w


def check_margins(margins: Sequence[Margin], weights: np.ndarray, rtol: float = 1e-6) -> None:
    """Raise unless the margins are consistent with each other and with the sample: equal grand
    totals, respondents in every level with population, population in every level with
    respondents (of positive weight)."""
    if not margins:
        raise WeightingError("no margins to rake to")
    grand = [float(m.totals.sum()) for m in margins]
    for m, g in zip(margins[1:], grand[1:], strict=True):
        if abs(g - grand[0]) > rtol * max(abs(grand[0]), 1.0):
            raise WeightingError(
                f"margin totals disagree: {margins[0].name} sums to {grand[0]:g} "
                f"but {m.name} sums to {g:g}",
                m.name,
            )
    for m in margins:
        if m.codes.size != weights.size:
            raise WeightingError(
                f"margin {m.name} has {m.codes.size} codes for {weights.size} respondents", m.name
            )
        sample = np.bincount(m.codes, weights=weights, minlength=len(m.levels))
        missing = (sample <= 0) & (m.totals > 0)
        if np.any(missing):
            j = int(np.flatnonzero(missing)[0])
            raise WeightingError(
                f"margin {m.name}: level {m.levels[j]} has a population of {m.totals[j]:g} "
                "but no respondents",
                m.name,
                str(m.levels[j]),
            )
        extra = (sample > 0) & (m.totals <= 0)
        if np.any(extra):
            j = int(np.flatnonzero(extra)[0])
            raise WeightingError(
                f"margin {m.name}: level {m.levels[j]} has respondents but no population",
                m.name,
                str(m.levels[j]),
            )


def _cells(margins: Sequence[Margin]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Cell index of every respondent and, per margin, the level of every cell."""
    n = margins[0].codes.size
    key = np.zeros(n, dtype=np.int64)
    radix = 1
    for m in margins:
        size = max(len(m.levels), 1)
        if radix * size >= 2**62:  # too many combinations for one integer key: compress
            _, inverse = np.unique(key, return_inverse=True)
            key = inverse.astype(np.int64).ravel()
            radix = int(key.max()) + 1 if n else 1
        key = key * size + m.codes
        radix *= size
    if radix <= max(4 * n, 1 << 20):
        counts = np.bincount(key, minlength=radix)
        cell_keys = np.flatnonzero(counts)
        lookup = np.zeros(radix, dtype=np.intp)
        lookup[cell_keys] = np.arange(cell_keys.size)
        cell = lookup[key]
    else:
        cell_keys, inverse = np.unique(key, return_inverse=True)
        cell = inverse.astype(np.intp).ravel()
    first = np.zeros(cell_keys.size, dtype=np.intp)
    first[cell[::-1]] = np.arange(n - 1, -1, -1)
    return cell, [m.codes[first] for m in margins]


def _max_error(
    margins: Sequence[Margin], cell_levels: list[np.ndarray], cell_w: np.ndarray
) -> tuple[float, int, int]:
    worst, which, level = 0.0, 0, 0
    for k, (m, lv) in enumerate(zip(margins, cell_levels, strict=True)):
        sums = np.bincount(lv, weights=cell_w, minlength=len(m.levels))
        err = np.abs(sums - m.totals) / np.maximum(np.abs(m.totals), 1.0)
        j = int(np.argmax(err)) if err.size else 0
        if err.size and err[j] > worst:
            worst, which, level = float(err[j]), k, j
    return worst, which, level


def _finish(
    margins: Sequence[Margin],
    w0: np.ndarray,
    cell: np.ndarray,
    cell_g: np.ndarray,
    iterations: int,
    converged: bool,
    check_tol: float,
    trimmed: int = 0,
) -> RakeResult:
    g = cell_g[cell]
    w = w0 * g
    # final check on the respondent-level weights, never silently off target
    for m in margins:
        sums = np.bincount(m.codes, weights=w, minlength=len(m.levels))
        err = np.abs(sums - m.totals) / np.maximum(np.abs(m.totals), 1.0)
        if err.size and float(err.max()) > check_tol:
            j = int(np.argmax(err))
            raise WeightingError(
                f"weighted total of {m.name}={m.levels[j]} is {sums[j]:.10g}, "
                f"not the margin {m.totals[j]:.10g}",
                m.name,
                str(m.levels[j]),
            )
    worst = 0.0
    for m in margins:
        sums = np.bincount(m.codes, weights=w, minlength=len(m.levels))
        worst = max(worst, float((np.abs(sums - m.totals) / np.maximum(m.totals, 1.0)).max()))
    return RakeResult(
        weights=w,
        g=g,
        iterations=iterations,
        converged=converged,
        max_error=worst,
        diagnostics=weight_diagnostics(w),
        trimmed=trimmed,
        margins=tuple(margins),
    )


def poststratify(
    weights: np.ndarray, cells: np.ndarray, totals: Sequence[float] | np.ndarray, name: str = "cell"
) -> RakeResult:
    """Post-stratification: scale the weights of each cell to its population total."""
    levels = [str(j) for j in range(len(totals))]
    return rake(weights, [Margin(name, np.asarray(cells), levels, np.asarray(totals, float))])


def rake(
    weights: np.ndarray,
    margins: Sequence[Margin],
    *,
    tol: float = 1e-10,
    max_iter: int = 1000,
    check_tol: float = 1e-6,
) -> RakeResult:
    """Raking (iterative proportional fitting) of ``weights`` to every margin.

    Iterates until every weighted margin total is within ``tol`` (relative) of its target;
    raises :class:`WeightingError` when the margins are inconsistent or the iterations do not
    converge within ``max_iter``."""
    w0 = _validate_weights(weights)
    margins = tuple(margins)
    check_margins(margins, w0)
    cell, cell_levels = _cells(margins)
    d = np.bincount(cell, weights=w0, minlength=len(cell_levels[0]))
    g = np.ones_like(d)
    converged = False
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007
        for m, lv in zip(margins, cell_levels, strict=True):
            sums = np.bincount(lv, weights=d * g, minlength=len(m.levels))
            with np.errstate(divide="ignore", invalid="ignore"):
                factor = np.where(sums > 0, m.totals / sums, 1.0)
            g *= factor[lv]
        err, _, _ = _max_error(margins, cell_levels, d * g)
        if err < tol:
            converged = True
            break
    if not converged:
        err, k, j = _max_error(margins, cell_levels, d * g)
        try:  # slow IPF (nearly collinear margins): Newton's method on the same equations
            newton = calibrate_bounded(w0, margins, tol=tol, check_tol=check_tol)
        except WeightingError:
            newton = None
        if newton is not None:
            return RakeResult(
                weights=newton.weights,
                g=newton.g,
                iterations=iterations + newton.iterations,
                converged=True,
                max_error=newton.max_error,
                diagnostics=newton.diagnostics,
                margins=margins,
            )
        m = margins[k]
        raise WeightingError(
            f"raking did not converge in {max_iter} iterations: {m.name}={m.levels[j]} is off "
            f"by {err:.3g} (relative); the margins may be incompatible with the sample",
            m.name,
            str(m.levels[j]),
        )
    return _finish(margins, w0, cell, g, iterations, converged, check_tol)


def calibrate_bounded(
    weights: np.ndarray,
    margins: Sequence[Margin],
    lower: float = 0.0,
    upper: float = math.inf,
    *,
    tol: float = 1e-10,
    max_iter: int = 200,
    check_tol: float = 1e-6,
) -> RakeResult:
    """Raking calibration with bounds ``lower <= g <= upper`` on the adjustment factor.

    The solution is ``g = clip(exp(x'λ), lower, upper)`` satisfying every margin (as R
    ``calibrate(..., calfun = "raking", bounds = c(lower, upper))``); found by damped Newton
    steps on the convex dual. Raises :class:`WeightingError` when the bounds cannot be met."""
    w0 = _validate_weights(weights)
    if not (0 <= lower <= 1 <= upper):
        raise WeightingError(f"bounds must satisfy 0 <= lower <= 1 <= upper: {lower}, {upper}")
    margins = tuple(margins)
    check_margins(margins, w0)
    cell, cell_levels = _cells(margins)
    d = np.bincount(cell, weights=w0, minlength=len(cell_levels[0]))
    # cell-level design matrix: one indicator column per margin level
    offsets = np.cumsum([0] + [len(m.levels) for m in margins])
    p = int(offsets[-1])
    C = d.size
    X = np.zeros((C, p))
    for k, lv in enumerate(cell_levels):
        X[np.arange(C), offsets[k] + lv] = 1.0
    T = np.concatenate([m.totals for m in margins])
    log_l = math.log(lower) if lower > 0 else -math.inf
    log_u = math.log(upper) if math.isfinite(upper) else math.inf

    def g_of(u: np.ndarray) -> np.ndarray:
        return np.clip(np.exp(np.minimum(u, 700.0)), lower, upper)

    def psi(u: np.ndarray) -> np.ndarray:
        inside = np.exp(np.clip(u, log_l, log_u))
        below = np.where(u < log_l, lower * (u - log_l), 0.0) if lower > 0 else 0.0
        above = np.where(u > log_u, upper * (u - log_u), 0.0) if math.isfinite(upper) else 0.0
        return inside + below + above

    def objective(lam: np.ndarray) -> float:
        return float(d @ psi(X @ lam) - lam @ T)

    lam = np.zeros(p)
    mu = 0.0
    ridge = max(float(d.sum()), 1.0)
    converged = False
    iterations = 0
    scale = np.maximum(np.abs(T), 1.0)
    for iterations in range(1, max_iter + 1):  # noqa: B007
        u = X @ lam
        g = g_of(u)
        misfit = T - X.T @ (d * g)
        if float(np.max(np.abs(misfit) / scale)) < tol:
            converged = True
            break
        active = (u > log_l) & (u < log_u)
        H = (X * (d * g * active)[:, None]).T @ X
        f0 = objective(lam)
        moved = False
        while mu < 1e30:  # Levenberg–Marquardt: damp where the clipped units flatten Φ
            step = np.linalg.lstsq(H + mu * np.eye(p), misfit, rcond=1e-13)[0]
            slope = -float(misfit @ step)
            t = 1.0
            while t > 1e-6 and objective(lam + t * step) > f0 + 1e-4 * t * slope:
                t *= 0.5
            if t > 1e-6 and slope < 0:
                lam = lam + t * step
                moved = True
                mu = mu / 10 if mu > 1e-12 * ridge else 0.0
                break
            mu = max(mu * 10, 1e-10 * ridge)
        if not moved:
            break
    g = g_of(X @ lam)
    if not converged:
        err, k, j = _max_error(margins, cell_levels, d * g)
        m = margins[k]
        raise WeightingError(
            f"calibration with bounds [{lower:g}, {upper:g}] failed: {m.name}={m.levels[j]} is "
            f"off by {err:.3g} (relative) after {iterations} iterations",
            m.name,
            str(m.levels[j]),
        )
    return _finish(margins, w0, cell, g, iterations, converged, check_tol)


def trim_and_rake(
    weights: np.ndarray,
    margins: Sequence[Margin],
    k: float = 5.0,
    *,
    tol: float = 1e-10,
    max_iter: int = 1000,
) -> RakeResult:
    """Rake, cap the weights at ``k`` × the median raked weight, and re-rake the others to what
    is left of each margin; repeat until no weight exceeds the cap (trimmed weights stay at the
    cap, so the cap and every margin hold exactly). Raises :class:`WeightingError` when the cap
    and the margins cannot both be met."""
    if k <= 1:
        raise WeightingError(f"trimming factor must exceed 1, not {k}")
    w0 = _validate_weights(weights)
    margins = tuple(margins)
    first = rake(w0, margins, tol=tol, max_iter=max_iter)
    cap = k * float(np.median(first.weights))
    w = first.weights.copy()
    fixed = np.zeros(w.size, dtype=bool)
    iterations = first.iterations
    while True:
        over = (w > cap * (1 + 1e-12)) & ~fixed
        if not np.any(over):
            break
        fixed |= over
        free = ~fixed
        rest = []
        for m in margins:
            left = m.totals - cap * np.bincount(m.codes[fixed], minlength=len(m.levels))
            if np.any(left < -1e-9 * np.maximum(m.totals, 1.0)):
                j = int(np.argmin(left))
                raise WeightingError(
                    f"trimming at {k:g} × median ({cap:.6g}): the capped weights of "
                    f"{m.name}={m.levels[j]} already exceed its margin",
                    m.name,
                    str(m.levels[j]),
                )
            rest.append(Margin(m.name, m.codes[free], m.levels, np.maximum(left, 0.0)))
        try:
            again = rake(w0[free], rest, tol=tol, max_iter=max_iter)
        except WeightingError as exc:
            raise WeightingError(
                f"trimming at {k:g} × median ({cap:.6g}) is incompatible with the margins: {exc}",
                exc.variable,
                exc.level,
            ) from exc
        iterations += again.iterations
        w[free] = again.weights
        w[fixed] = cap
    cell, _ = _cells(margins)
    result = _finish(
        margins,
        w,
        cell,
        np.ones(int(cell.max()) + 1),
        iterations,
        True,
        1e-6,
        trimmed=int(fixed.sum()),
    )
    return RakeResult(
        weights=w,
        g=np.divide(w, w0, out=np.zeros_like(w), where=w0 > 0),
        iterations=iterations,
        converged=True,
        max_error=result.max_error,
        diagnostics=result.diagnostics,
        trimmed=int(fixed.sum()),
        margins=margins,
    )
