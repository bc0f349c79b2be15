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

Multi-stage designs are handled as ultimate clusters (R's variance for ``id = ~psu + ssu``
without a finite population correction); a FPC applies to the first stage only, so R's extra
later-stage terms of a without-replacement multi-stage design are not computed.

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
    "Influence",
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

    def _calibration_parts(self) -> _CalibrationSolver | None:
        if self.calibration is None:
            return None
        if "cal" not in self._cache:
            self._cache["cal"] = _CalibrationSolver(self.calibration)
        return self._cache["cal"]


class _CalibrationSolver:
    """Solves ``(M'DM) β = r`` for the indicator matrix ``M`` of the calibration margins and
    the base weights ``D``, by block elimination: the largest margin's block of ``M'DM`` is
    diagonal; the other margins (one reference level each dropped: the span of ``M`` is
    unchanged) form a small Schur complement."""

    def __init__(self, calibration: Calibration) -> None:
        d = calibration.base
        self.codes = [c for c, _ in calibration.margins]
        sizes = [size for _, size in calibration.margins]
        self.offsets = np.cumsum([0, *sizes])
        self.p = int(self.offsets[-1])
        self.big = int(np.argmax(sizes)) if sizes else 0
        b = self.big
        counts = [
            np.bincount(c, weights=d, minlength=sz) for c, sz in zip(self.codes, sizes, strict=True)
        ]
        self.d1 = counts[b]
        self.d1_inv = np.divide(1.0, self.d1, out=np.zeros_like(self.d1), where=self.d1 > 0)
        rest = []  # (global column, margin, level)
        for j, cnt in enumerate(counts):
            if j == b:
                continue
            positive = np.flatnonzero(cnt > 0)
            for level in positive[1:]:
                rest.append((int(self.offsets[j] + level), j, int(level)))
        self.rest_cols = np.array([r[0] for r in rest], dtype=np.intp)
        q = len(rest)
        # local index of each (margin, level) among the rest columns, -1 when dropped
        self.rest_index = [np.full(sz, -1, dtype=np.intp) for sz in sizes]
        for k, (_, j, level) in enumerate(rest):
            self.rest_index[j][level] = k
        self.q = q
        p1 = sizes[b] if sizes else 0
        C = np.zeros((p1, q))
        D2 = np.zeros((q, q))
        for j in range(len(sizes)):
            if j == b:
                continue
            loc = self.rest_index[j][self.codes[j]]
            ok = loc >= 0
            C += np.bincount(
                self.codes[b][ok] * q + loc[ok], weights=d[ok], minlength=p1 * q
            ).reshape(p1, q)
            for jj in range(len(sizes)):
                if jj == b:
                    continue
                loc2 = self.rest_index[jj][self.codes[jj]]
                both = ok & (loc2 >= 0)
                D2 += np.bincount(
                    loc[both] * q + loc2[both], weights=d[both], minlength=q * q
                ).reshape(q, q)
        self.C = C
        self.S = D2 - C.T @ (self.d1_inv[:, None] * C)
        self.cell, self.cell_codes = _cells_of(self.codes, sizes)

    def cell_fitted(self, beta: np.ndarray) -> np.ndarray:
        """``Mβ`` per cell (``cells × K``)."""
        out = np.zeros((self.cell_codes[0].size if self.codes else 0, beta.shape[1]))
        for j, codes in enumerate(self.cell_codes):
            out += beta[self.offsets[j] + codes]
        return out

    def cross_product(self, scale: np.ndarray) -> sp.csr_array:
        """``M' diag(scale) M`` (sparse ``p × p``), through the cells."""
        t = np.bincount(self.cell, weights=scale, minlength=self.cell_codes[0].size)
        out = np.zeros((self.p, self.p))
        for j, cj in enumerate(self.cell_codes):
            for jj, cjj in enumerate(self.cell_codes):
                out += _bincount2(self.offsets[j] + cj, self.offsets[jj] + cjj, t, (self.p, self.p))
        return sp.csr_array(out)

    def by_stratum(self, strata: np.ndarray, H: int, w: np.ndarray) -> sp.csr_array:
        """``S'WM``: per stratum, the weighted count of each margin level (sparse ``H × p``)."""
        out = np.zeros((H, self.p))
        for j, codes in enumerate(self.codes):
            out += _bincount2(strata, self.offsets[j] + codes, w, (H, self.p))
        return sp.csr_array(out)

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        """``β`` (``p × K``) with ``(M'DM) β = rhs``; zero on the dropped reference levels."""
        b = self.big
        lo, hi = int(self.offsets[b]), int(self.offsets[b + 1])
        r1 = rhs[lo:hi]
        beta = np.zeros_like(rhs)
        if self.q:
            r2 = rhs[self.rest_cols] - self.C.T @ (self.d1_inv[:, None] * r1)
            try:
                beta2 = np.linalg.solve(self.S, r2)
            except np.linalg.LinAlgError:
                beta2 = np.linalg.lstsq(self.S, r2, rcond=1e-12)[0]
            beta[self.rest_cols] = beta2
            beta[lo:hi] = self.d1_inv[:, None] * (r1 - self.C @ beta2)
        else:
            beta[lo:hi] = self.d1_inv[:, None] * r1
        return beta

    def unit_matrix(self, scale: np.ndarray) -> sp.csr_array:
        """``diag(scale) · M`` as a sparse ``n × p`` matrix."""
        n = scale.size
        q = len(self.codes)
        indices = np.stack([self.offsets[j] + c for j, c in enumerate(self.codes)], axis=1)
        data = np.repeat(scale, q)
        return sp.csr_array((data, indices.ravel(), np.arange(0, n * q + 1, q)), shape=(n, self.p))


@dataclass(frozen=True)
class Influence:
    """Sparse influence values as triplets: ``vals[t]`` for respondent ``rows[t]`` and statistic
    ``cols[t]`` (no two triplets with the same row and column), ``K`` statistics."""

    rows: np.ndarray
    cols: np.ndarray
    vals: np.ndarray
    K: int

    @classmethod
    def from_matrix(cls, x: np.ndarray | sp.sparray | sp.spmatrix) -> Influence:
        if sp.issparse(x):
            coo = sp.coo_array(x)
            coo.sum_duplicates()
        else:
            arr = np.asarray(x, dtype=float)
            if arr.ndim == 1:
                arr = arr[:, None]
            coo = sp.coo_array(arr)
        return cls(
            coo.row.astype(np.intp), coo.col.astype(np.intp), coo.data.astype(float), coo.shape[1]
        )


def _cells_of(codes: list[np.ndarray], sizes: list[int]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Cell (distinct combination of levels) of every unit, and each margin's level per cell."""
    if not codes:
        return np.zeros(0, dtype=np.intp), []
    n = codes[0].size
    key = np.zeros(n, dtype=np.int64)
    radix = 1
    for c, size in zip(codes, sizes, strict=True):
        if radix * max(size, 1) >= 2**62:
            key = np.unique(key, return_inverse=True)[1].astype(np.int64).ravel()
            radix = int(key.max()) + 1 if n else 1
        key = key * max(size, 1) + c
        radix *= max(size, 1)
    cell_keys, cell = (
        np.unique(key, return_inverse=True)
        if radix > 4 * n + (1 << 20)
        else (
            None,
            None,
        )
    )
    if cell is None:
        present = np.flatnonzero(np.bincount(key, minlength=radix))
        lookup = np.zeros(radix, dtype=np.intp)
        lookup[present] = np.arange(present.size)
        cell = lookup[key]
        n_cells = present.size
    else:
        cell = cell.astype(np.intp).ravel()
        n_cells = cell_keys.size
    first = np.zeros(n_cells, dtype=np.intp)
    first[cell[::-1]] = np.arange(n - 1, -1, -1)
    return cell, [c[first] for c in codes]


def _bincount2(i: np.ndarray, j: np.ndarray, w: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    return np.bincount(i * shape[1] + j, weights=w, minlength=shape[0] * shape[1]).reshape(shape)


def linearized_covariance(
    design: Design,
    influence: np.ndarray | sp.sparray | sp.spmatrix | Influence,
    *,
    diag_only: bool = False,
) -> np.ndarray:
    """Covariance (``K × K``, or its diagonal with ``diag_only``) of statistics whose influence
    values (already multiplied by the weights, e.g. ``w·(y - ȳ)/Σw`` for a mean) are the
    columns of ``influence`` (``n × K``, or :class:`Influence` triplets)."""
    inf = influence if isinstance(influence, Influence) else Influence.from_matrix(influence)
    K = inf.K
    n = design.n
    if inf.rows.size and (inf.rows.max() >= n or inf.rows.min() < 0):
        raise DesignError("influence values must have one row per respondent")
    if design.psu is not None:
        return _general_covariance(design, inf, diag_only)
    w = design.weights
    strata = design.strata_codes
    f_unit = design._f_h[strata]
    n_h = design._n_h
    H = design.n_strata
    centre = np.divide(design._f_h, n_h, out=np.zeros(H), where=n_h > 0)
    rows, cols, vals = inf.rows, inf.cols, inf.vals
    quad = np.bincount(cols, weights=f_unit[rows] * vals * vals, minlength=K)
    sA = _bincount2(strata[rows], cols, vals, (H, K))
    cal = design._calibration_parts()
    if cal is None:
        if diag_only:
            return quad - (centre[:, None] * sA * sA).sum(axis=0)
        X = sp.csr_array((vals, (rows, cols)), shape=(n, K))
        FX = sp.csr_array((vals * f_unit[rows], (rows, cols)), shape=(n, K))
        return (X.T @ FX).toarray() - sA.T @ (centre[:, None] * sA)
    g = np.divide(
        w, design.calibration.base, out=np.zeros_like(w), where=design.calibration.base > 0
    )
    inv_g = np.divide(1.0, g, out=np.zeros_like(g), where=g > 0)
    p = cal.p
    rhs = np.zeros((p, K))
    scaled = vals * inv_g[rows]
    for j, codes in enumerate(cal.codes):
        rhs += _bincount2(cal.offsets[j] + codes[rows], cols, scaled, (p, K))
    beta = cal.solve(rhs)
    # the residualised influence is x - w·Mβ; expand Σ_i f_i (x - wMβ)² term by term
    BFB = cal.cross_product(f_unit * w * w)  # M' F W² M, sparse p × p
    s = (
        sA - cal.by_stratum(strata, H, w) @ beta
    )  # H × K stratum totals of the residualised influence
    if diag_only:
        flat = beta.ravel()
        fitted = np.zeros(rows.size)  # (Mβ) at each triplet
        for j, codes in enumerate(cal.codes):
            fitted += flat[(cal.offsets[j] + codes[rows]) * K + cols]
        cross = np.bincount(cols, weights=vals * f_unit[rows] * w[rows] * fitted, minlength=K)
        third = np.einsum("pk,pk->k", beta, BFB @ beta)
        return quad - 2 * cross + third - (centre[:, None] * s * s).sum(axis=0)
    X = sp.csr_array((vals, (rows, cols)), shape=(n, K))
    FX = sp.csr_array((vals * f_unit[rows], (rows, cols)), shape=(n, K))
    AFB = (X.T @ cal.unit_matrix(f_unit * w)).toarray()  # K × p
    cross = AFB @ beta
    V = (X.T @ FX).toarray() - cross - cross.T + beta.T @ (BFB @ beta)
    return V - s.T @ (centre[:, None] * s)


def _general_covariance(design: Design, inf: Influence, diag_only: bool) -> np.ndarray:
    """Clustered designs: influence values summed to PSU totals first (sparse products)."""
    n, K = design.n, inf.K
    X = sp.csr_array((inf.vals, (inf.rows, inf.cols)), shape=(n, K))
    w = design.weights
    psu = design.psu_codes
    n_psu = design.n_psu
    strata_psu = design._psu_stratum
    f_psu = design._f_h[strata_psu]
    n_h = design._n_h
    H = design.n_strata
    P = sp.csr_array((np.ones(n), (psu, np.arange(n))), shape=(n_psu, n))
    A = (P @ X).tocsr()
    S = sp.csr_array((np.ones(n_psu), (strata_psu, np.arange(n_psu))), shape=(H, n_psu))
    Fd = sp.diags_array(f_psu)
    centre = np.divide(design._f_h, n_h, out=np.zeros(H), where=n_h > 0)
    sA = (S @ A).toarray()
    FA = (Fd @ A).tocsr()
    cal = design._calibration_parts()
    if cal is None:
        if diag_only:
            quad = np.asarray(A.multiply(FA).sum(axis=0)).ravel()
            return quad - (centre[:, None] * sA * sA).sum(axis=0)
        return (A.T @ FA).toarray() - sA.T @ (centre[:, None] * sA)
    base = design.calibration.base
    g = np.divide(w, base, out=np.zeros_like(w), where=base > 0)
    inv_g = np.divide(1.0, g, out=np.zeros_like(g), where=g > 0)
    M = cal.unit_matrix(np.ones(n))
    rhs = (
        M.T @ sp.csr_array((inf.vals * inv_g[inf.rows], (inf.rows, inf.cols)), shape=(n, K))
    ).toarray()
    beta = cal.solve(rhs)
    B = (P @ cal.unit_matrix(w)).tocsr()  # n_psu × p
    FB = (Fd @ B).tocsr()
    BFB = (B.T @ FB).toarray()
    AFB = (A.T @ FB).toarray()  # K × p
    s = sA - (S @ B).toarray() @ beta
    if diag_only:
        quad = np.asarray(A.multiply(FA).sum(axis=0)).ravel()
        cross = np.einsum("kp,pk->k", AFB, beta)
        third = np.einsum("pk,pk->k", beta, BFB @ beta)
        return quad - 2 * cross + third - (centre[:, None] * s * s).sum(axis=0)
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
