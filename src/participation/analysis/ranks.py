"""Confidence sets for ranks (Mogstad, Romano, Shaikh and Wilhelm 2023), as R's ``csranks``.

Given estimates θ̂ of K units with covariance Σ (θ̂ − θ ≈ N(0, Σ)), a confidence set for the
rank of unit j is built from simultaneous confidence intervals for the differences θⱼ − θₖ: the
rank of j is at least 1 + #{k : θₖ − θⱼ > 0 for sure} and at most K − #{k : θⱼ − θₖ > 0 for sure}.
The intervals use a parametric bootstrap of the studentised maximum (the paper's Algorithm 3.1):
draws Z* ~ N(0, Σ) give the distribution of maxₚ (Z*ⱼ − Z*ₖ)/σⱼₖ over the set of compared pairs
p = (j, k), with σⱼₖ = √(Σⱼⱼ + Σₖₖ − 2Σⱼₖ); its ``coverage`` quantile ĉ is the critical value, and
the pair (j, k) is *rejected* (θⱼ > θₖ established) when (θ̂ⱼ − θ̂ₖ)/σⱼₖ > ĉ.

- *Marginal* sets (``simultaneous=False``): for each unit i separately, the compared pairs are
  (i, k) and (k, i) for all k ≠ i; the set covers the true rank of i with probability ≈ coverage.
- *Simultaneous* sets (``simultaneous=True``): all pairs involving the units in ``indices`` at
  once; all the sets cover all the true ranks jointly with probability ≈ coverage.
- *Step-down* (``stepdown=True``, the paper's Algorithm 3.2 / Romano–Wolf): the rejected pairs
  are removed and the critical value recomputed on the rest until nothing new is rejected;
  never wider than single-step, same coverage. The same bootstrap draws are reused at every
  step (common random numbers; ``csranks`` draws afresh, which changes only simulation noise).
- *τ-best* / *τ-worst* (:func:`tau_best`, :func:`tau_worst`, as ``cstaubest``/``cstauworst``):
  the set of units that may be among the best (worst) τ, with probability ≈ coverage of
  containing all of the true τ-best (τ-worst): units whose one-sided simultaneous lower
  (upper) rank bound is ≤ τ (≥ K − τ + 1), the paper's §3.3 projection confidence set.

Conventions. Rank 1 is the *largest* estimate (as ``csranks`` and ``irank``); with
``larger_is_better=False`` rank 1 is the smallest (the estimates are negated). "Worst" is the
opposite end of the ranking: with the default, the units with the smallest estimates. Ties in the
point ranks share the better (smaller) rank. Pairs with σⱼₖ = 0 (e.g. two administrative scores
without sampling error) are known exactly: decided by the sign of the difference (equal: not
ordered) and contribute nothing to the bootstrap maximum (``csranks`` would return NaN).

Reproducibility: pass ``seed`` (or ``rng``); or pass ``draws``, an R×K matrix of independent
standard normals, from which Z* = draws · Lᵀ with Σ = LLᵀ (Cholesky; for a singular Σ the
symmetric square root). The quantile is R's type 7 (numpy's default "linear").

Speed: the single-step marginal sets need, for every unit, the maximum over K pairs in each of
R draws (K²R operations), done in row blocks of bounded memory; 500 units × 1,000 draws take a
few tenths of a second on two cores.

Reference: Mogstad, M., Romano, J. P., Shaikh, A. M. and Wilhelm, D. (2023), "Inference for
Ranks with Applications to Mobility across Neighbourhoods and Academic Achievement across
Countries", *Review of Economic Studies* 91(1), 476–518, doi:10.1093/restud/rdad006; R package
``csranks`` (Wilhelm and Morgen), functions ``csranks``, ``cstaubest``, ``cstauworst``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

CsType = Literal["two-sided", "lower", "upper"]

__all__ = [
    "RankSets",
    "TauSet",
    "point_ranks",
    "rank_confidence_sets",
    "tau_best",
    "tau_worst",
]

#: Elements (float64) of one block of bootstrap differences: ~8 MB, which suits the caches best.
_BLOCK = 1_000_000


@dataclass(frozen=True)
class RankSets:
    """Rank confidence sets ``[lower[i], upper[i]]`` for the units ``indices[i]``."""

    indices: tuple[int, ...]
    rank: tuple[int, ...]
    lower: tuple[int, ...]
    upper: tuple[int, ...]
    critical_values: tuple[float, ...]
    coverage: float
    simultaneous: bool
    cstype: str
    stepdown: bool
    larger_is_better: bool
    replications: int
    n_units: int


@dataclass(frozen=True)
class TauSet:
    """Units that may be among the τ best (or worst), jointly with probability ≈ coverage."""

    tau: int
    worst: bool
    members: tuple[int, ...]
    indicator: tuple[bool, ...]
    bounds: tuple[int, ...]
    coverage: float
    stepdown: bool
    larger_is_better: bool
    replications: int


def point_ranks(estimates: ArrayLike, larger_is_better: bool = True) -> list[int]:
    """Competition ranks, 1 = largest (or smallest); ties share the better rank."""
    x = np.asarray(estimates, dtype=float).ravel()
    key = -x if larger_is_better else x
    # rank = 1 + number of units strictly better
    return (1 + np.searchsorted(np.sort(key), key, side="left")).tolist()


class _Problem:
    """Estimates, their bootstrap draws (K×R, row = unit) and the pairwise scales."""

    def __init__(
        self,
        estimates: ArrayLike,
        cov: ArrayLike | None,
        se: ArrayLike | None,
        larger_is_better: bool,
        replications: int,
        seed: int | None,
        rng: np.random.Generator | None,
        draws: ArrayLike | None,
    ) -> None:
        x = np.asarray(estimates, dtype=float).ravel()
        k = x.size
        if k == 0:
            raise ValueError("no estimates to rank")
        if np.any(~np.isfinite(x)):
            raise ValueError("estimates must be finite numbers")
        if cov is not None:
            sigma = np.asarray(cov, dtype=float)
            if sigma.shape != (k, k):
                raise ValueError(f"the covariance matrix must be {k}×{k}")
            if not np.allclose(sigma, sigma.T, rtol=1e-10, atol=1e-14):
                raise ValueError("the covariance matrix must be symmetric")
            diagonal = bool(np.all(sigma == np.diag(np.diag(sigma))))
        elif se is not None:
            s = np.asarray(se, dtype=float).ravel()
            if s.shape != (k,):
                raise ValueError("one standard error per estimate is needed")
            sigma = np.diag(s**2)
            diagonal = True
        else:
            raise ValueError("give the standard errors or the covariance matrix")
        var = np.diag(sigma)
        if np.any(~np.isfinite(var)) or np.any(var < 0):
            raise ValueError("variances must be finite and not negative")
        self.x = x if larger_is_better else -x
        self.k = k
        if draws is not None:
            g = np.asarray(draws, dtype=float)
            if g.ndim != 2 or g.shape[1] != k:
                raise ValueError(f"draws must be an R×{k} matrix of standard normals")
        else:
            if replications < 1:
                raise ValueError("replications must be at least 1")
            generator = rng if rng is not None else np.random.default_rng(seed)
            g = generator.standard_normal((replications, k))
        self.r = g.shape[0]
        if diagonal:
            self.zt = np.ascontiguousarray(g.T * np.sqrt(var)[:, None])
        else:
            self.zt = np.ascontiguousarray((g @ _sqrt_cov(sigma).T).T)
        sd2 = var[:, None] + var[None, :] - 2 * sigma
        sd = np.sqrt(np.maximum(sd2, 0.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            self.w = np.where(sd > 0, 1.0 / np.where(sd > 0, sd, 1.0), 0.0)
            d = self.x[:, None] - self.x[None, :]
            # t[j, k] = (θ̂ⱼ − θ̂ₖ)/σⱼₖ; exactly known differences are ±∞ (or 0 when equal).
            self.t = np.where(sd > 0, d * self.w, np.sign(d) * np.inf)
        np.fill_diagonal(self.t, 0.0)

    # -- bootstrap maxima -------------------------------------------------------------------

    def unit_maxima(self, units: NDArray[np.intp], mode: str) -> NDArray[np.float64]:
        """For each unit i: per draw, max over k ≠ i of D_ik (mode "row"), of −D_ik ("col")
        or of |D_ik| ("both"), with D_ik = (Z*ᵢ − Z*ₖ)/σᵢₖ. Shape (len(units), R)."""
        out = np.empty((units.size, self.r))
        rows = max(1, _BLOCK // (self.k * self.r))
        buf = np.empty((min(rows, units.size), self.k, self.r))
        for start in range(0, units.size, rows):
            block = units[start : start + rows]
            b = buf[: block.size]
            np.subtract(self.zt[block, None, :], self.zt[None, :, :], out=b)
            b *= self.w[block, :, None]
            target = out[start : start + block.size]
            if mode == "both":
                np.maximum(b.max(axis=1), -b.min(axis=1), out=target)
            else:
                if mode == "col":
                    np.negative(b, out=b)
                b[np.arange(block.size), block, :] = -np.inf
                b.max(axis=1, out=target)
        return out

    def unit_maximum(
        self, i: int, row: NDArray[np.bool_], col: NDArray[np.bool_]
    ) -> NDArray[np.float64]:
        """Per draw, max of D_ik over k ∈ row and of −D_ik over k ∈ col (−∞ if both empty)."""
        result = np.full(self.r, -np.inf)
        for mask, sign in ((row, 1.0), (col, -1.0)):
            ks = np.flatnonzero(mask)
            if ks.size:
                d = (self.zt[i][None, :] - self.zt[ks]) * (sign * self.w[i, ks])[:, None]
                np.maximum(result, d.max(axis=0), out=result)
        return result

    def pair_maximum(self, pairs: NDArray[np.bool_]) -> NDArray[np.float64]:
        """Per draw, the max of D_jk over the ordered pairs (j, k) marked in ``pairs``."""
        result = np.full(self.r, -np.inf)
        active = np.flatnonzero(pairs.any(axis=1))
        full = pairs.sum(axis=1) == self.k - 1
        dense = active[full[active]]
        if dense.size:
            np.maximum(result, self.unit_maxima(dense, "row").max(axis=0), out=result)
        for j in active[~full[active]]:
            ks = np.flatnonzero(pairs[j])
            d = (self.zt[j][None, :] - self.zt[ks]) * self.w[j, ks][:, None]
            np.maximum(result, d.max(axis=0), out=result)
        return result


def _sqrt_cov(sigma: NDArray[np.float64]) -> NDArray[np.float64]:
    """L with LLᵀ = Σ: Cholesky, or the symmetric square root for a singular Σ."""
    try:
        return np.linalg.cholesky(sigma)
    except np.linalg.LinAlgError:
        values, vectors = np.linalg.eigh(sigma)
        if values.min() < -1e-8 * max(1.0, values.max()):
            raise ValueError("the covariance matrix is not positive semi-definite") from None
        return vectors * np.sqrt(np.maximum(values, 0.0))


def _quantile(stat: NDArray[np.float64], coverage: float) -> NDArray[np.float64] | float:
    finite = np.isfinite(stat)
    if stat.ndim == 1:
        if not finite.any():
            return float("inf")
        return float(np.quantile(stat, coverage))
    return np.quantile(stat, coverage, axis=-1)


def _check(coverage: float, cstype: str) -> None:
    if not 0 < coverage < 1:
        raise ValueError("coverage must be strictly between 0 and 1")
    if cstype not in ("two-sided", "lower", "upper"):
        raise ValueError("cstype must be 'two-sided', 'lower' or 'upper'")


def _marginal(
    p: _Problem, units: NDArray[np.intp], coverage: float, cstype: str, stepdown: bool
) -> tuple[list[int], list[int], list[float]]:
    """Marginal sets: for unit i the pairs (i, k) (upper bound) and (k, i) (lower bound)."""
    want_row = cstype in ("two-sided", "upper")  # (i, k) rejected: i above k
    want_col = cstype in ("two-sided", "lower")  # (k, i) rejected: k above i
    mode = "both" if (want_row and want_col) else ("row" if want_row else "col")
    lower: list[int] = []
    upper: list[int] = []
    crit: list[float] = []
    if p.k == 1:
        return [1] * units.size, [1] * units.size, [float("inf")] * units.size
    first = np.atleast_1d(_quantile(p.unit_maxima(units, mode), coverage))
    others = ~np.eye(p.k, dtype=bool)
    for n, i in enumerate(units):
        row = others[i] & want_row
        col = others[i] & want_col
        rej_row = np.zeros(p.k, dtype=bool)
        rej_col = np.zeros(p.k, dtype=bool)
        c = float(first[n])
        while True:
            new_row = row & (p.t[i] > c)
            new_col = col & (-p.t[i] > c)
            rej_row |= new_row
            rej_col |= new_col
            row &= ~new_row
            col &= ~new_col
            if not stepdown or not (new_row.any() or new_col.any()) or not (row.any() or col.any()):
                break
            c = float(_quantile(p.unit_maximum(i, row, col), coverage))
        lower.append(1 + int(rej_col.sum()))
        upper.append(p.k - int(rej_row.sum()))
        crit.append(c)
    return lower, upper, crit


def _simultaneous(
    p: _Problem, units: NDArray[np.intp], coverage: float, cstype: str, stepdown: bool
) -> tuple[list[int], list[int], float]:
    """Simultaneous sets: all pairs involving ``units`` at once."""
    pairs = np.zeros((p.k, p.k), dtype=bool)
    if cstype in ("two-sided", "upper"):
        pairs[units, :] = True
    if cstype in ("two-sided", "lower"):
        pairs[:, units] = True
    np.fill_diagonal(pairs, False)
    rejected = np.zeros_like(pairs)
    c = float("inf")
    while pairs.any():
        c = float(_quantile(p.pair_maximum(pairs), coverage))
        new = pairs & (p.t > c)
        rejected |= new
        pairs &= ~new
        if not stepdown or not new.any():
            break
    lower = [1] * units.size
    upper = [p.k] * units.size
    if cstype in ("two-sided", "lower"):
        lower = (1 + rejected[:, units].sum(axis=0)).tolist()
    if cstype in ("two-sided", "upper"):
        upper = (p.k - rejected[units, :].sum(axis=1)).tolist()
    return lower, upper, c


def rank_confidence_sets(
    estimates: ArrayLike,
    cov: ArrayLike | None = None,
    se: ArrayLike | None = None,
    coverage: float = 0.95,
    simultaneous: bool = False,
    indices: ArrayLike | None = None,
    cstype: CsType = "two-sided",
    stepdown: bool = False,
    replications: int = 1000,
    seed: int | None = None,
    rng: np.random.Generator | None = None,
    draws: ArrayLike | None = None,
    larger_is_better: bool = True,
) -> RankSets:
    """Marginal or simultaneous confidence sets for the ranks of the units ``indices``.

    Parameters
    ----------
    estimates
        θ̂, one per unit.
    cov, se
        The covariance matrix Σ of θ̂ (e.g. a domain estimation's ``covmat``), or the standard
        errors of independent estimates (Σ diagonal).
    coverage
        Nominal coverage (marginal per unit, or joint when ``simultaneous``).
    simultaneous
        Joint sets for all ``indices`` (``csranks(simul=TRUE)``) or a marginal set per unit.
    indices
        Units whose ranks are wanted (0-based); default all.
    cstype
        ``two-sided``; ``lower`` (only a lower bound on the rank: upper = K) or ``upper``.
    stepdown
        Step-down refinement (never wider; more computation).
    replications, seed, rng, draws
        Bootstrap size and randomness (see the module notes).
    larger_is_better
        Rank 1 = largest estimate (default) or smallest.
    """
    _check(coverage, cstype)
    p = _Problem(estimates, cov, se, larger_is_better, replications, seed, rng, draws)
    units = np.arange(p.k) if indices is None else np.asarray(indices, dtype=np.intp).ravel()
    if units.size == 0 or units.min() < 0 or units.max() >= p.k:
        raise ValueError(f"indices must lie in 0..{p.k - 1}")
    ranks = point_ranks(p.x)
    if simultaneous:
        lower, upper, c = _simultaneous(p, units, coverage, cstype, stepdown)
        crit = [c] * units.size
    else:
        lower, upper, crit = _marginal(p, units, coverage, cstype, stepdown)
    return RankSets(
        indices=tuple(int(i) for i in units),
        rank=tuple(ranks[i] for i in units),
        lower=tuple(lower),
        upper=tuple(upper),
        critical_values=tuple(crit),
        coverage=coverage,
        simultaneous=simultaneous,
        cstype=cstype,
        stepdown=stepdown,
        larger_is_better=larger_is_better,
        replications=p.r,
        n_units=p.k,
    )


def _tau(
    estimates: ArrayLike,
    cov: ArrayLike | None,
    se: ArrayLike | None,
    tau: int,
    worst: bool,
    coverage: float,
    stepdown: bool,
    replications: int,
    seed: int | None,
    rng: np.random.Generator | None,
    draws: ArrayLike | None,
    larger_is_better: bool,
) -> TauSet:
    _check(coverage, "two-sided")
    p = _Problem(estimates, cov, se, larger_is_better, replications, seed, rng, draws)
    if not 1 <= tau <= p.k:
        raise ValueError(f"tau must lie in 1..{p.k}")
    units = np.arange(p.k)
    if worst:
        _, bounds, _ = _simultaneous(p, units, coverage, "upper", stepdown)
        indicator = [b >= p.k - tau + 1 for b in bounds]
    else:
        bounds, _, _ = _simultaneous(p, units, coverage, "lower", stepdown)
        indicator = [b <= tau for b in bounds]
    return TauSet(
        tau=tau,
        worst=worst,
        members=tuple(i for i, inside in enumerate(indicator) if inside),
        indicator=tuple(indicator),
        bounds=tuple(int(b) for b in bounds),
        coverage=coverage,
        stepdown=stepdown,
        larger_is_better=larger_is_better,
        replications=p.r,
    )


def tau_best(
    estimates: ArrayLike,
    cov: ArrayLike | None = None,
    se: ArrayLike | None = None,
    tau: int = 2,
    coverage: float = 0.95,
    stepdown: bool = False,
    replications: int = 1000,
    seed: int | None = None,
    rng: np.random.Generator | None = None,
    draws: ArrayLike | None = None,
    larger_is_better: bool = True,
) -> TauSet:
    """Units that may be among the τ best (``cstaubest``): lower rank bound ≤ τ.

    ``bounds`` holds the one-sided simultaneous lower rank bounds. The set contains all of the
    true τ best with probability ≈ ``coverage``.
    """
    return _tau(
        estimates, cov, se, tau, False, coverage, stepdown, replications, seed, rng, draws,
        larger_is_better,
    )  # fmt: skip


def tau_worst(
    estimates: ArrayLike,
    cov: ArrayLike | None = None,
    se: ArrayLike | None = None,
    tau: int = 2,
    coverage: float = 0.95,
    stepdown: bool = False,
    replications: int = 1000,
    seed: int | None = None,
    rng: np.random.Generator | None = None,
    draws: ArrayLike | None = None,
    larger_is_better: bool = True,
) -> TauSet:
    """Units that may be among the τ worst (``cstauworst``): upper rank bound ≥ K − τ + 1.

    With ``larger_is_better`` (default) the worst are the smallest estimates — e.g. the
    streets plausibly among the 15 to be summoned. ``bounds`` holds the one-sided simultaneous
    upper rank bounds. The set contains all of the true τ worst with probability ≈ coverage.
    """
    return _tau(
        estimates, cov, se, tau, True, coverage, stepdown, replications, seed, rng, draws,
        larger_is_better,
    )  # fmt: skip
