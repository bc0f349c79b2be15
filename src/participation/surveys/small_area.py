"""Model-based street estimates of a wave (Fay–Herriot EBLUP), computed only when asked.

The direct street estimates stored in ``WaveResult`` (mean score and SE) are shrunk toward a
regression on the street's county and, when earlier waves of the same survey exist, on the
mean of the street's earlier direct estimates (see :mod:`participation.analysis.sae`). Streets
with few respondents borrow most from the model. Nothing is stored and the stored direct
estimates are untouched: the result is returned with ``method = "fay-herriot-eblup"`` and
``model_based = True`` on every row, to be shown as model-based, never as survey results.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
from sqlmodel import Session, col, select

from participation.analysis import sae
from participation.core.errors import ServiceError
from participation.core.i18n import N_
from participation.geography.models import Level, Unit
from participation.surveys.models import Wave, WaveResult, WaveStatus
from participation.surveys.service import get_wave

METHODS = ("REML", "ML", "FH")
LABEL = "model-based (Fay–Herriot EBLUP)"


def _independent_columns(
    x: np.ndarray, names: list[str], max_columns: int
) -> tuple[np.ndarray, list[str]]:
    """Keep the columns that add rank, in order, up to ``max_columns``."""
    keep: list[int] = []
    for j in range(x.shape[1]):
        trial = [*keep, j]
        if len(trial) <= max_columns and np.linalg.matrix_rank(x[:, trial]) == len(trial):
            keep = trial
    return x[:, keep], [names[j] for j in keep]


def model_based_streets(
    session: Session,
    wave_id: int,
    method: str = "REML",
    history: bool = True,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Fay–Herriot EBLUPs of the wave's street mean scores, labelled model-based.

    ``history``: use the street's earlier waves of the same source (closed or published,
    ending before this wave starts) as a covariate.
    """
    if method not in METHODS:
        raise ServiceError(N_("Unknown model fitting method: %(method)s."), field="method",
                           method=method)  # fmt: skip
    wave = get_wave(session, wave_id)
    rows = [
        r
        for r in session.exec(
            select(WaveResult)
            .where(WaveResult.wave_id == wave_id)
            .where(WaveResult.level == Level.STREET.value)
            .order_by(col(WaveResult.unit_code))
        )
        if r.mean is not None and r.se is not None and r.se > 0
    ]
    if len(rows) < 3:
        raise ServiceError(
            N_("A small-area model needs direct estimates for 3 streets or more; found %(count)s."),
            field="wave_id",
            count=len(rows),
        )
    codes = [r.unit_code for r in rows]
    units = {u.code: u for u in session.exec(select(Unit).where(col(Unit.code).in_(codes)))}
    groups = [(units[c].parent_code if c in units else None) or "" for c in codes]

    earlier: dict[str, list[float]] = defaultdict(list)
    history_waves: list[int] = []
    if history:
        previous = session.exec(
            select(Wave)
            .where(Wave.source == wave.source)
            .where(Wave.period_end < wave.period_start)
            .where(col(Wave.status).in_([WaveStatus.CLOSED.value, WaveStatus.PUBLISHED.value]))
            .order_by(col(Wave.period_end))
        ).all()
        history_waves = [w.id for w in previous if w.id is not None]
        if history_waves:
            for r in session.exec(
                select(WaveResult)
                .where(col(WaveResult.wave_id).in_(history_waves))
                .where(col(WaveResult.unit_code).in_(codes))
            ):
                if r.mean is not None:
                    earlier[r.unit_code].append(float(r.mean))
    x, names = sae.design_matrix(
        len(rows),
        groups=groups if len(set(groups)) > 1 else None,
        history=[earlier.get(c, []) for c in codes] if earlier else None,
    )
    # At least two degrees of freedom left for σ²ᵤ; drop collinear columns.
    x, names = _independent_columns(x, names, max_columns=len(rows) - 2)
    try:
        fit = sae.fay_herriot(
            [float(r.mean) for r in rows],  # type: ignore[arg-type]
            [float(r.se) ** 2 for r in rows],  # type: ignore[arg-type]
            x,
            method=method,  # type: ignore[arg-type]
            labels=codes,
            columns=names,
            confidence=confidence,
        )
    except sae.FayHerriotError as exc:
        raise ServiceError(
            N_("The small-area model cannot be fitted: %(reason)s"),
            field=exc.field or "wave_id",
            reason=str(exc),
        ) from exc
    streets = []
    for r, row in zip(rows, fit.as_rows(), strict=True):
        unit = units.get(r.unit_code)
        streets.append(
            {
                "unit_code": r.unit_code,
                "name": unit.name if unit else r.unit_code,
                "n": r.n,
                "direct": row["direct"],
                "direct_se": row["direct_se"],
                "estimate": row["estimate"],
                "rmse": row["rmse"],
                "ci_low": row["ci_low"],
                "ci_high": row["ci_high"],
                "shrinkage_weight": row["gamma"],
                "model_based": True,
            }
        )
    return {
        "wave_id": wave_id,
        "method": fit.method,
        "model_based": True,
        "label": LABEL,
        "variance_method": fit.variance_method,
        "sigma2_u": fit.sigma2_u,
        "truncated": fit.truncated,
        "covariates": list(fit.columns),
        "beta": list(fit.beta),
        "history_waves": history_waves if earlier else [],
        "confidence": confidence,
        "streets": streets,
    }
