"""Satisfaction scoring: answer labels to 0–100 scores, dimension indices, satisfaction rate.

Plain Python/numpy in and out. The default scale is the bureaus' five-point one:
满意 100, 基本满意 80, 一般 60, 不满意 0; 不了解 ("don't know") is not scored. Everything is
configurable: pass another :class:`Scale`, other dimensions, item weights or satisfied labels.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "DEFAULT_SCALE",
    "Scale",
    "dimension_indices",
    "satisfaction_rate",
    "score_items",
]


@dataclass(frozen=True)
class Scale:
    """Points of each answer label; labels in ``not_scored`` (and unknown labels when
    ``strict`` is false) give no score. ``satisfied`` are the labels counted as satisfied."""

    points: Mapping[str, float]
    not_scored: frozenset[str] = field(default_factory=frozenset)
    satisfied: frozenset[str] = field(default_factory=frozenset)
    strict: bool = True

    def __post_init__(self) -> None:
        for label, value in self.points.items():
            if not (0 <= float(value) <= 100):
                raise ValueError(f"score of {label!r} must be within 0–100, not {value}")
        both = set(self.points) & set(self.not_scored)
        if both:
            raise ValueError(f"labels both scored and not scored: {sorted(both)}")
        unknown = set(self.satisfied) - set(self.points)
        if unknown:
            raise ValueError(f"satisfied labels without points: {sorted(unknown)}")

    def score(self, label: str | None) -> float:
        """The 0–100 score of one answer, ``NaN`` when not scored or missing."""
        if label is None:
            return math.nan
        key = str(label).strip()
        if key == "" or key in self.not_scored:
            return math.nan
        if key in self.points:
            return float(self.points[key])
        if self.strict:
            raise ValueError(f"answer {label!r} is not on the scale ({', '.join(self.points)})")
        return math.nan


DEFAULT_SCALE = Scale(
    points={"满意": 100.0, "基本满意": 80.0, "一般": 60.0, "不满意": 0.0},
    not_scored=frozenset({"不了解"}),
    satisfied=frozenset({"满意", "基本满意"}),
)


def score_items(
    answers: Sequence[Mapping[str, str | None]],
    items: Sequence[str],
    scale: Scale = DEFAULT_SCALE,
) -> np.ndarray:
    """``n × len(items)`` array of item scores (``NaN``: not scored / not answered)."""
    out = np.full((len(answers), len(items)), math.nan)
    for i, row in enumerate(answers):
        for j, item in enumerate(items):
            try:
                out[i, j] = scale.score(row.get(item))
            except ValueError as exc:
                raise ValueError(f"respondent {i + 1}, item {item!r}: {exc}") from None
    return out


def dimension_indices(
    item_scores: np.ndarray,
    items: Sequence[str],
    dimensions: Mapping[str, Sequence[str]],
    item_weights: Mapping[str, float] | None = None,
    min_items: int = 1,
) -> dict[str, np.ndarray]:
    """Per respondent, each dimension's index: the weighted mean of its scored items
    (``NaN`` when fewer than ``min_items`` of them are scored). Also ``"overall"``: the mean
    of the dimension indices available, unless a dimension of that name is given."""
    scores = np.asarray(item_scores, dtype=float)
    position = {item: j for j, item in enumerate(items)}
    out: dict[str, np.ndarray] = {}
    for name, members in dimensions.items():
        missing = [m for m in members if m not in position]
        if missing:
            raise ValueError(f"dimension {name!r}: unknown items {missing}")
        cols = [position[m] for m in members]
        block = scores[:, cols]
        w = np.array([(item_weights or {}).get(m, 1.0) for m in members], dtype=float)
        if np.any(w < 0):
            raise ValueError(f"dimension {name!r}: item weights must not be negative")
        present = ~np.isnan(block)
        wsum = (present * w).sum(axis=1)
        total = np.where(present, block, 0.0) @ w
        enough = present.sum(axis=1) >= min_items
        with np.errstate(invalid="ignore", divide="ignore"):
            out[name] = np.where(enough & (wsum > 0), total / wsum, math.nan)
    if "overall" not in out and out:
        stacked = np.column_stack(list(out.values()))
        present = ~np.isnan(stacked)
        with np.errstate(invalid="ignore", divide="ignore"):
            out["overall"] = np.where(
                present.any(axis=1),
                np.where(present, stacked, 0.0).sum(axis=1) / present.sum(axis=1),
                math.nan,
            )
    return out


def satisfaction_rate(
    labels: Sequence[str | None], scale: Scale = DEFAULT_SCALE, weights: np.ndarray | None = None
) -> tuple[np.ndarray, float]:
    """Per respondent 1 (satisfied label), 0 (other scored label) or ``NaN`` (not scored), and
    the weighted share satisfied among the scored."""
    flags = np.array(
        [
            math.nan
            if math.isnan(scale.score(label))
            else float(str(label).strip() in scale.satisfied)
            for label in labels
        ]
    )
    w = np.ones(flags.size) if weights is None else np.asarray(weights, dtype=float)
    scored = ~np.isnan(flags)
    total = float(w[scored].sum())
    rate = float((w[scored] * flags[scored]).sum() / total) if total > 0 else math.nan
    return flags, rate
