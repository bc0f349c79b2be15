"""Design-based variance by Taylor linearization.

A :class:`Design` holds the final weights, strata, primary sampling units (PSUs), an optional
finite population correction and, after raking, the calibration that produced the weights.
:func:`linearized_covariance` takes the influence values of any number of statistics (a sparse
or dense ``n × K`` matrix) and returns their covariance matrix (or its diagonal):

* with-replacement variance of PSU totals within strata,
  ``Σ_h (1 - f_h) n_h/(n_h - 1) Σ_j (z_hj - z̄_h)²`` (``f_h`` = 0 unless a FPC is given);
* calibration-aware: after raking the influence values ``x`` are replaced by
  ``x - w · Mβ`` with ``β`` the regression of ``x / w`` on the indicator matrix ``M`` of the
  calibration margins, weighted by the input (base) weights — exactly R ``survey``'s
  ``calibrate(...)`` followed by ``svymean``/``svytotal`` (``qr.resid`` on ``M·√d``);
* domains: a statistic of a domain has zero influence outside it, but the strata and their
  numbers of PSUs stay those of the whole sample (R's ``subset()``/``svyby()``).

Nothing is looped per statistic or per domain: the residuals are never formed as a dense
``n × K`` matrix; every term is a sparse product or a ``p × K`` / ``H × K`` dense product.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

__all__ = [
    "Calibration",
    "Design",
    "DesignError",
    "degrees_of_freedom",
    "linearized_covariance",
]


class DesignError(ValueError):
    """The design cannot give a variance (e.g. a stratum with a single PSU)."""


def _codes(values: np.ndarray | None, n: int, name: str) -> tuple[np.ndarray, int]:
    if values is None:
        return np.zeros(n, dtype=np.intp), 1
    arr = np.asarray(values)
    if arr.shape != (n,):
        raise DesignError(f"{name} must have one value per respondent")
    if arr.dtype.kind in "iu" and (arr.size == 0 or arr.min() >= 0):
        uniq = np.flatnonzero(np.bincount(arr)) if arr.size else np.zeros(0, np.intp)
        if uniq.size == (arr.max() + 1 if arr.size else 0):
            return arr.astype(np.intp, copy=False), int(uniq.size)
    uniq, inverse = np.unique(arr, return_inverse=True)
    return inverse.astype(np.intp).ravel(), int(uniq.size)


@dataclass(frozen=True)
class Calibration:
    """How the final weights were calibrated: ``weights = base · g`` with ``g`` constant within
    the cells of the margins whose codes are in ``margins`` (one code array per margin, with
    its number of levels)."""

    base: np.ndarray
    margins: tuple[tuple[np.ndarray, int], ...]

    @classmethod
    def from_rake(cls, base: np.ndarray, result: object) -> Calibration:
        """From the input weights and a :class:`~participation.analysis.weights.RakeResult`."""
        margins = result.margins  # type: ignore[attr-defined]
        return cls(
            base=np.asarray(base, dtype=float),
            margins=tuple((np.asarray(m.codes, dtype=np.intp), len(m.levels)) for m in margins),
        )

    def matrix(self) -> sp.csr_array:
        """The ``n × p`` indicator matrix of all the margins' levels."""
        n = self.base.size
        cols = []
        offset = 0
        for codes, size in self.margins:
            cols.append(codes + offset)
            offset += size
        q = len(cols)
        indices = np.stack(cols, axis=1).ravel() if q else np.zeros(0, np.intp)
        indptr = np.arange(0, n * q + 1, q) if q else np.zeros(n + 1, np.intp)
        return sp.csr_array((np.ones(n * q), indices, indptr), shape=(n, offset))


@dataclass
class Design:
    """A stratified (optionally clustered) design with its final weights.

    ``strata``/``psu``: labels per respondent (any hashable numpy values); without ``psu`` each
    respondent is its own PSU; PSU labels are taken within strata (as R's ``nest = TRUE``).
    ``fpc``: per respondent, the stratum's population number of PSUs (``> 1``) or its sampling
    fraction (``<= 1``), as R's ``fpc``; ``None`` = with replacement.
    ``lonely_psu``: what a stratum with a single PSU contributes: ``"fail"`` (raise, R's
    default), ``"remove"`` or ``"certainty"`` (nothing).
    """

    weights: np.ndarray
    strata: np.ndarray | None = None
    psu: np.ndarray | None = None
    fpc: np.ndarray | None = None
    calibration: Calibration | None = None
    lonely_psu: str = "fail"
    _cache: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.weights = np.asarray(self.weights, dtype=float)
        n = self.weights.size
        if np.any(~np.isfinite(self.weights)) or np.any(self.weights < 0):
            raise DesignError("weights must be finite and not negative")
        if self.lonely_psu not in ("fail", "remove", "certainty"):
            raise DesignError(f"unknown lonely_psu rule {self.lonely_psu!r}")
        strata, H = _codes(self.strata, n, "strata")
        if self.psu is None:
            psu, n_psu = np.arange(n, dtype=np.intp), n
        else:
            raw, _ = _codes(self.psu, n, "psu")
            psu, n_psu = _codes(
                strata.astype(np.int64) * (int(raw.max()) + 1 if n else 1) + raw, n, "psu"
            )
        self._strata, self._H = strata, H
        self._psu, self._n_psu = psu, n_psu
        first = np.zeros(n_psu, dtype=np.intp)
        first[psu[::-1]] = np.arange(n - 1, -1, -1)
        self._psu_stratum = strata[first]
        self._n_h = np.bincount(self._psu_stratum, minlength=H).astype(float)
        factor = np.ones(H)
        if self.fpc is not None:
            fpc = np.asarray(self.fpc, dtype=float)
            if fpc.shape != (n,):
                raise DesignError("fpc must have one value per respondent")
            first_h = np.zeros(H, dtype=np.intp)
            first_h[strata[::-1]] = np.arange(n - 1, -1, -1)
            value = fpc[first_h]
            frac = np.where(value <= 1, value, self._n_h / np.where(value > 0, value, 1.0))
            if np.any(frac > 1 + 1e-12):
                raise DesignError("fpc: more PSUs sampled than in the population")
            factor = 1 - frac
        lonely = self._n_h == 1
        if np.any(lonely) and self.lonely_psu == "fail":
            raise DesignError(
                f"{int(lonely.sum())} strata have only one PSU; use lonely_psu='remove'"
            )
        with np.errstate(divide="ignore", invalid="ignore"):
            self._f_h = np.where(self._n_h > 1, factor * self._n_h / (self._n_h - 1), 0.0)

    @property
    def n(self) -> int:
        return int(self.weights.size)

    @property
    def strata_codes(self) -> np.ndarray:
        return self._strata

    @property
    def psu_codes(self) -> np.ndarray:
        return self._psu

    @property
    def n_strata(self) -> int:
        return self._H

    @property
    def n_psu(self) -> int:
        return self._n_psu

    def with_weights(self, weights: np.ndarray, calibration: Calibration | None) -> Design:
        """The same design with other weights (e.g. after raking)."""
        return Design(
            weights=weights,
            strata=self.strata,
            psu=self.psu,
            fpc=self.fpc,
            calibration=calibration,
            lonely_psu=self.lonely_psu,
        )

    def _calibration_parts(self) -> tuple[sp.csr_array, np.ndarray] | None:
        if self.calibration is None:
            return None
        if "cal" not in self._cache:
            M = self.calibration.matrix()
            d = self.calibration.base
            G = (M.T @ (M.multiply(d[:, None]))).toarray()
            vals, vecs = np.linalg.eigh(G)
            keep = vals > vals.max() * 1e-12 if vals.size else vals > 0
            Ginv = (vecs[:, keep] / vals[keep]) @ vecs[:, keep].T
            self._cache["cal"] = (M, Ginv)
        return self._cache["cal"]


def _as_sparse(x: np.ndarray | sp.sparray | sp.spmatrix) -> sp.csr_array:
    if sp.issparse(x):
        return sp.csr_array(x)
    arr = np.asarray(x, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    return sp.csr_array(arr)


def linearized_covariance(
    design: Design,
    influence: np.ndarray | sp.sparray | sp.spmatrix,
    *,
    diag_only: bool = False,
) -> np.ndarray:
    """Covariance (``K × K``, or its diagonal with ``diag_only``) of statistics whose influence
    values (already multiplied by the weights, e.g. ``w·(y - ȳ)/Σw`` for a mean) are the
    columns of ``influence`` (``n × K``)."""
    X = _as_sparse(influence)
    n, K = X.shape
    if n != design.n:
        raise DesignError("influence values must have one row per respondent")
    w = design.weights
    psu = design.psu_codes
    n_psu = design.n_psu
    strata_psu = design._psu_stratum
    f_h = design._f_h
    n_h = design._n_h
    H = design.n_strata
    f_psu = f_h[strata_psu]
    identity_psu = design.psu is None
    if identity_psu:
        A = X
    else:
        P = sp.csr_array((np.ones(n), (psu, np.arange(n))), shape=(n_psu, n))
        A = (P @ X).tocsr()
    S = sp.csr_array((np.ones(n_psu), (strata_psu, np.arange(n_psu))), shape=(H, n_psu))
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = np.where(n_h > 0, f_h / np.where(n_h > 0, n_h, 1.0), 0.0)
    sA = (S @ A).toarray()  # H × K stratum totals of the raw influence values
    cal = design._calibration_parts()
    FA = A.multiply(f_psu[:, None]).tocsr() if A.shape[0] else A
    if cal is None:
        if diag_only:
            quad = np.asarray(A.multiply(FA).sum(axis=0)).ravel()
            return quad - (centre[:, None] * sA * sA).sum(axis=0)
        return (A.T @ FA).toarray() - sA.T @ (centre[:, None] * sA)
    M, Ginv = cal
    g = np.divide(
        w, design.calibration.base, out=np.zeros_like(w), where=design.calibration.base > 0
    )
    inv_g = np.divide(1.0, g, out=np.zeros_like(g), where=g > 0)
    rhs = (M.T @ X.multiply(inv_g[:, None]).tocsr()).toarray()  # p × K
    beta = Ginv @ rhs
    WM = M.multiply(w[:, None]).tocsr()  # n × p
    B = WM if identity_psu else (P @ WM).tocsr()  # n_psu × p
    FB = B.multiply(f_psu[:, None]).tocsr()
    BFB = (B.T @ FB).toarray()  # p × p
    AFB = (A.T @ FB).toarray() if K * B.shape[1] <= 5e7 else None  # K × p
    sB = (S @ B).toarray()  # H × p
    s = sA - sB @ beta  # H × K
    if diag_only:
        quad = np.asarray(A.multiply(FA).sum(axis=0)).ravel()
        if AFB is None:
            cross = np.asarray((A.multiply(FB @ beta)).sum(axis=0)).ravel()
        else:
            cross = np.einsum("kp,pk->k", AFB, beta)
        third = np.einsum("pk,pk->k", beta, BFB @ beta)
        return quad - 2 * cross + third - (centre[:, None] * s * s).sum(axis=0)
    if AFB is None:
        AFB = (A.T @ FB).toarray()
    cross = AFB @ beta
    V = (A.T @ FA).toarray() - cross - cross.T + beta.T @ (BFB @ beta)
    return V - s.T @ (centre[:, None] * s)


def degrees_of_freedom(
    design: Design, domains: np.ndarray | None = None, n_domains: int = 1
) -> np.ndarray:
    """R's ``degf()`` of each domain's subset: PSUs with positive weight minus strata, per
    domain (``domains[i]`` in ``0..n_domains-1`` or ``-1`` for none)."""
    n = design.n
    dom = np.zeros(n, dtype=np.intp) if domains is None else np.asarray(domains, dtype=np.intp)
    inset = (design.weights > 0) & (dom >= 0)
    dom_in = dom[inset]
    H = design.n_strata
    strata_keys = dom_in.astype(np.int64) * H + design.strata_codes[inset]
    if n_domains * H <= max(4 * n, 1 << 22):
        strata_present = np.bincount(strata_keys, minlength=n_domains * H).reshape(n_domains, H)
        n_strata = (strata_present > 0).sum(axis=1)
    else:
        uniq = np.unique(strata_keys)
        n_strata = np.bincount(uniq // H, minlength=n_domains)
    if design.psu is None:
        n_psu = np.bincount(dom_in, minlength=n_domains)
    else:
        keys = np.unique(dom_in.astype(np.int64) * design.n_psu + design.psu_codes[inset])
        n_psu = np.bincount(keys // design.n_psu, minlength=n_domains)
    return (n_psu - n_strata).astype(float)


def normal_quantile(level: float = 0.95) -> float:
    """Two-sided normal quantile, e.g. 1.959963984540054 for 95 %."""
    from scipy.stats import norm

    return float(norm.ppf(1 - (1 - level) / 2))


def t_quantile(df: np.ndarray | float, level: float = 0.95) -> np.ndarray:
    """Two-sided t quantile (normal where ``df`` is infinite)."""
    from scipy.stats import t

    df_arr = np.asarray(df, dtype=float)
    q = 1 - (1 - level) / 2
    with np.errstate(invalid="ignore"):
        out = np.where(np.isfinite(df_arr), t.ppf(q, np.where(df_arr > 0, df_arr, math.nan)), 0.0)
    return np.where(np.isfinite(df_arr), out, normal_quantile(level))
