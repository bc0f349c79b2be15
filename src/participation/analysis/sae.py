"""Small-area estimation: the Fay–Herriot area-level model and its EBLUP, as R ``sae``.

Model (Fay and Herriot 1979): for area (street) i = 1..m, the direct survey estimate
``yᵢ = θᵢ + eᵢ`` with known sampling variance ``Dᵢ`` (eᵢ ~ N(0, Dᵢ)), and ``θᵢ = xᵢ'β + uᵢ`` with
``uᵢ ~ N(0, σ²ᵤ)``. The EBLUP shrinks the direct estimate toward the regression ("synthetic")
prediction::

    θ̃ᵢ = γᵢ yᵢ + (1 − γᵢ) xᵢ'β̂,   γᵢ = σ̂²ᵤ / (σ̂²ᵤ + Dᵢ),

with β̂ the GLS estimate given σ̂²ᵤ. A street with few respondents (large Dᵢ) borrows more from
the model; a well-measured street keeps (nearly) its direct estimate.

σ²ᵤ is estimated by Fisher scoring exactly as ``sae::eblupFH``: start at median(D), update
``A ← A + s(A)/F(A)``, stop when the relative change is ≤ ``precision`` (default 1e-4, as
``sae``'s PRECISION) or after ``max_iter`` (100) iterations, then truncate at 0:

- ``REML`` (default): s = −½ tr(P) + ½ y'P²y, F = ½ tr(P²), P = V⁻¹ − V⁻¹X(X'V⁻¹X)⁻¹X'V⁻¹;
- ``ML``: s = −½ Σ 1/(A + Dᵢ) + ½ y'P²y, F = ½ Σ 1/(A + Dᵢ)²;
- ``FH`` (Fay–Herriot moment): s = Σ rᵢ²/(A + Dᵢ) − (m − p), F = Σ 1/(A + Dᵢ), r the GLS
  residuals.

MSE (Prasad and Rao 1990; Datta and Lahiri 2000), as ``sae::mseFH``: g1ᵢ = Dᵢ(1 − Bᵢ),
g2ᵢ = Bᵢ² xᵢ'(X'V⁻¹X)⁻¹xᵢ, g3ᵢ = Bᵢ² V̄(σ̂²ᵤ)/(σ̂²ᵤ + Dᵢ) with Bᵢ = Dᵢ/(σ̂²ᵤ + Dᵢ) and the
asymptotic variance V̄ = 2/Σ(σ̂²ᵤ + Dⱼ)⁻² (REML, ML) or 2m/(Σ(σ̂²ᵤ + Dⱼ)⁻¹)² (FH);
REML: mse = g1 + g2 + 2 g3; ML and FH subtract the bias correction b·Bᵢ² (b_ML =
−tr((X'V⁻¹X)⁻¹ X'V⁻²X)/Σ(σ̂²ᵤ + Dⱼ)⁻², b_FH = 2(m Σ V⁻² − (Σ V⁻¹)²)/(Σ V⁻¹)³).

σ²ᵤ at zero. When the estimate is ≤ 0 it is truncated to 0 (``truncated=True``): all γᵢ = 0 and
every EBLUP equals its synthetic estimate xᵢ'β̂ (the model says the areas differ only through
the covariates); the MSE is then g2 + 2g3 (+ bias term), no longer g1. Such estimates lean
entirely on the model: report them as model-based, and consider a richer X or the direct
estimates. One deliberate difference from ``sae``: when a Fisher step would make A negative,
the iteration stops at A = 0 if the score at 0 is ≤ 0 (the maximum over A ≥ 0 is on the
boundary), otherwise it halves A and goes on; ``sae`` iterates on with negative variances
(A + Dᵢ may even turn negative) and often reports non-convergence. While the iterates stay
non-negative both follow the same path and agree to the last digit; where ``sae`` converges to
a negative value both give σ̂²ᵤ = 0 and the same EBLUPs and MSEs (only ``iterations`` and
``sigma2_u_unbounded``, the last unconstrained iterate, differ); after a halved step both stop
within ``precision`` of the same root.

Borrowing across waves: :func:`design_matrix` can add, per street, the mean of its earlier
waves' direct estimates as a covariate (with an indicator for streets without earlier waves,
whose covariate is set to the mean of the others). This is the simple "previous wave as
auxiliary" form: the earlier estimates carry sampling error themselves, which attenuates their
coefficient but keeps the EBLUP and its MSE valid under the model conditional on X. It is not a
full spatio-temporal model (``sae::eblupSTFH``).

Results are *model-based* (``method = "fay-herriot-eblup"``), never to be shown as direct
survey estimates.

References: Fay, R. E. and Herriot, R. A. (1979), JASA 74, 269–277; Prasad, N. G. N. and Rao,
J. N. K. (1990), JASA 85, 163–171; Datta, G. S. and Lahiri, P. (2000), Statistica Sinica 10,
613–627; Rao, J. N. K. and Molina, I. (2015), *Small Area Estimation*, 2nd ed., §6.1–6.2;
Molina, I. and Marhuenda, Y. (2015), "sae: An R Package for Small Area Estimation", The R
Journal 7(1), 81–98.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import norm

VarianceMethod = Literal["REML", "ML", "FH"]

__all__ = [
    "FayHerriotError",
    "FayHerriotFit",
    "design_matrix",
    "fay_herriot",
]

METHOD = "fay-herriot-eblup"


class FayHerriotError(ValueError):
    """The model cannot be fitted (bad input or no convergence); ``field`` names the input."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class FayHerriotFit:
    """A fitted Fay–Herriot model: EBLUPs with their MSEs, labelled as model-based."""

    method: str
    variance_method: str
    labels: tuple[str, ...]
    direct: tuple[float, ...]
    direct_variance: tuple[float, ...]
    estimate: tuple[float, ...]
    mse: tuple[float, ...]
    rmse: tuple[float, ...]
    ci_low: tuple[float, ...]
    ci_high: tuple[float, ...]
    gamma: tuple[float, ...]
    synthetic: tuple[float, ...]
    g1: tuple[float, ...]
    g2: tuple[float, ...]
    g3: tuple[float, ...]
    columns: tuple[str, ...]
    beta: tuple[float, ...]
    beta_se: tuple[float, ...]
    sigma2_u: float
    sigma2_u_unbounded: float
    truncated: bool
    iterations: int
    converged: bool
    loglike: float
    aic: float
    bic: float
    confidence: float

    def as_rows(self) -> list[dict[str, float | str]]:
        """One plain dict per area (for JSON)."""
        return [
            {
                "label": self.labels[i],
                "direct": self.direct[i],
                "direct_se": float(np.sqrt(self.direct_variance[i])),
                "estimate": self.estimate[i],
                "rmse": self.rmse[i],
                "ci_low": self.ci_low[i],
                "ci_high": self.ci_high[i],
                "gamma": self.gamma[i],
                "synthetic": self.synthetic[i],
            }
            for i in range(len(self.labels))
        ]


def design_matrix(
    n: int,
    groups: Sequence[str] | None = None,
    covariates: Mapping[str, Sequence[float]] | None = None,
    history: Sequence[Sequence[float]] | None = None,
) -> tuple[NDArray[np.float64], list[str]]:
    """X = intercept [+ group dummies] [+ covariates] [+ earlier-wave mean and indicator].

    ``groups`` (e.g. each street's county): one dummy per level but the first (sorted), like
    R's treatment contrasts. ``history[i]``: earlier waves' direct estimates of area i (may be
    empty): adds ``previous_mean`` (the mean of the earlier waves; for areas without any, the
    mean over the areas that have some) and, when some areas lack history, ``no_history``.
    """
    cols: list[NDArray[np.float64]] = [np.ones(n)]
    names = ["(intercept)"]
    if groups is not None:
        if len(groups) != n:
            raise FayHerriotError("one group per area is needed", field="groups")
        levels = sorted(set(groups))
        for level in levels[1:]:
            cols.append(np.array([1.0 if g == level else 0.0 for g in groups]))
            names.append(f"group[{level}]")
    for name, values in (covariates or {}).items():
        v = np.asarray(values, dtype=float)
        if v.shape != (n,) or not np.all(np.isfinite(v)):
            raise FayHerriotError(f"covariate {name} needs one finite value per area", field=name)
        cols.append(v)
        names.append(name)
    if history is not None:
        if len(history) != n:
            raise FayHerriotError("one history (possibly empty) per area is needed", "history")
        means = np.array([float(np.mean(h)) if len(h) else np.nan for h in history])
        has = ~np.isnan(means)
        if has.any():
            filled = np.where(has, means, means[has].mean())
            cols.append(filled)
            names.append("previous_mean")
            if not has.all():
                cols.append((~has).astype(float))
                names.append("no_history")
    return np.column_stack(cols), names


def _gls(
    y: NDArray[np.float64], x: NDArray[np.float64], vi: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """(Q = (X'V⁻¹X)⁻¹, β̂, X'V⁻¹ as p×m)."""
    xtvi = (x * vi[:, None]).T
    q = np.linalg.inv(xtvi @ x)
    return q, q @ (xtvi @ y), xtvi


def _step(
    a: float, y: NDArray[np.float64], x: NDArray[np.float64], d: NDArray[np.float64], method: str
) -> tuple[float, float]:
    """Score and expected information of the variance method at A = a."""
    vi = 1.0 / (a + d)
    q, beta, xtvi = _gls(y, x, vi)
    if method == "FH":
        resid = y - x @ beta
        return float(np.sum(resid**2 * vi) - (x.shape[0] - x.shape[1])), float(np.sum(vi))
    # P = V⁻¹ − V⁻¹X Q X'V⁻¹ (m×m; m is the number of streets, a few hundred at most)
    p_mat = np.diag(vi) - xtvi.T @ q @ xtvi
    py = p_mat @ y
    if method == "ML":
        return float(-0.5 * np.sum(vi) + 0.5 * py @ py), float(0.5 * np.sum(vi**2))
    return float(-0.5 * np.trace(p_mat) + 0.5 * py @ py), float(0.5 * np.sum(p_mat * p_mat))


def fay_herriot(
    direct: ArrayLike,
    variance: ArrayLike,
    x: ArrayLike | None = None,
    method: VarianceMethod = "REML",
    labels: Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
    max_iter: int = 100,
    precision: float = 1e-4,
    confidence: float = 0.95,
) -> FayHerriotFit:
    """Fit the Fay–Herriot model and return EBLUPs with Prasad–Rao/Datta–Lahiri MSEs.

    Parameters
    ----------
    direct
        Direct estimates yᵢ (e.g. street mean scores).
    variance
        Their sampling variances Dᵢ (SE²), taken as known; must be > 0.
    x
        The m×p covariate matrix including the intercept (see :func:`design_matrix`);
        default: intercept only.
    method
        ``REML`` (default), ``ML`` or ``FH`` (moment) estimation of σ²ᵤ.
    labels, columns
        Names of the areas and of the columns of X, carried into the result.
    max_iter, precision
        Fisher scoring stopping rule (as ``sae``: relative change ≤ precision).
    confidence
        Level of the normal intervals EBLUP ± z·√MSE (model-based).

    Raises
    ------
    FayHerriotError
        On bad input (``field`` names it) or when the iteration does not converge.
    """
    y = np.asarray(direct, dtype=float).ravel()
    d = np.asarray(variance, dtype=float).ravel()
    m = y.size
    if m == 0:
        raise FayHerriotError("no areas", field="direct")
    if not np.all(np.isfinite(y)):
        raise FayHerriotError("direct estimates must be finite numbers", field="direct")
    if d.shape != (m,) or not np.all(np.isfinite(d)) or np.any(d <= 0):
        raise FayHerriotError("one positive sampling variance per area is needed", "variance")
    xm = np.ones((m, 1)) if x is None else np.asarray(x, dtype=float)
    if xm.ndim == 1:
        xm = xm[:, None]
    if xm.shape[0] != m or not np.all(np.isfinite(xm)):
        raise FayHerriotError(f"X must have {m} rows of finite numbers", field="x")
    p = xm.shape[1]
    if m <= p or np.linalg.matrix_rank(xm) < p:
        raise FayHerriotError(
            f"X must have full column rank and fewer columns than areas ({p} ≥ {m} or collinear)",
            field="x",
        )
    if method not in ("REML", "ML", "FH"):
        raise FayHerriotError("method must be REML, ML or FH", field="method")
    if not 0 < confidence < 1:
        raise FayHerriotError("confidence must be strictly between 0 and 1", "confidence")
    names = tuple(labels) if labels is not None else tuple(str(i) for i in range(m))
    if len(names) != m:
        raise FayHerriotError("one label per area is needed", field="labels")
    cols = tuple(columns) if columns is not None else tuple(f"x{j}" for j in range(p))

    a = float(np.median(d))
    k = 0
    diff = precision + 1
    unbounded: float | None = None
    while diff > precision and k < max_iter:
        k += 1
        score, info = _step(a, y, xm, d, method)
        new = a + score / info
        if new < 0:
            if _step(0.0, y, xm, d, method)[0] <= 0:
                unbounded, a = new, 0.0  # the maximum is on the boundary
                break
            new = a / 2
        diff = abs((new - a) / a)
        a = new
    if unbounded is None:
        if k >= max_iter and diff >= precision:
            raise FayHerriotError(
                f"the {method} iteration for σ²ᵤ did not converge in {max_iter} iterations",
                field="method",
            )
        unbounded = a
    a = max(a, 0.0)

    vi = 1.0 / (a + d)
    q, beta, _ = _gls(y, xm, vi)
    synthetic = xm @ beta
    resid = y - synthetic
    eblup = synthetic + a * vi * resid
    loglike = float(-0.5 * np.sum(np.log(2 * np.pi * (a + d)) + resid**2 * vi))

    b = d * vi  # Bᵢ = Dᵢ/(A + Dᵢ)
    sum_v2 = float(np.sum(vi**2))
    g1 = d * (1 - b)
    g2 = b**2 * np.einsum("ij,jk,ik->i", xm, q, xm)
    if method == "FH":
        sum_v = float(np.sum(vi))
        var_a = 2 * m / sum_v**2
        bias = 2 * (m * sum_v2 - sum_v**2) / sum_v**3
    else:
        var_a = 2 / sum_v2
        bias = -float(np.trace(q @ ((xm * (vi**2)[:, None]).T @ xm))) / sum_v2
    g3 = b**2 * var_a / (a + d)
    mse = g1 + g2 + 2 * g3
    if method != "REML":
        mse = mse - bias * b**2
    rmse = np.sqrt(np.maximum(mse, 0.0))
    z = float(norm.ppf(0.5 + confidence / 2))

    def t(v: NDArray[np.float64]) -> tuple[float, ...]:
        return tuple(float(e) for e in v)

    return FayHerriotFit(
        method=METHOD,
        variance_method=method,
        labels=names,
        direct=t(y),
        direct_variance=t(d),
        estimate=t(eblup),
        mse=t(mse),
        rmse=t(rmse),
        ci_low=t(eblup - z * rmse),
        ci_high=t(eblup + z * rmse),
        gamma=t(a * vi),
        synthetic=t(synthetic),
        g1=t(g1),
        g2=t(g2),
        g3=t(g3),
        columns=cols,
        beta=t(beta),
        beta_se=t(np.sqrt(np.diag(q))),
        sigma2_u=a,
        sigma2_u_unbounded=unbounded,
        truncated=unbounded <= 0,
        iterations=k,
        converged=True,
        loglike=loglike,
        aic=-2 * loglike + 2 * (p + 1),
        bic=-2 * loglike + (p + 1) * float(np.log(m)),
        confidence=confidence,
    )
