"""Helpers of the analysis tests: R reference values and the data sets they were computed on."""

from __future__ import annotations

import csv
import json
import math
from functools import cache
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
DATA = HERE / "data"
REFERENCE = HERE / "reference" / "reference.json"


@cache
def reference() -> dict:
    return json.loads(REFERENCE.read_text())


@cache
def table(name: str) -> dict[str, np.ndarray]:
    """A CSV of tests/analysis/data as columns: numeric where every value is, else strings."""
    with (DATA / name).open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    out: dict[str, np.ndarray] = {}
    for key in rows[0]:
        values = [r[key] for r in rows]
        try:
            out[key] = np.array([math.nan if v in ("NA", "") else float(v) for v in values])
        except ValueError:
            out[key] = np.array(values, dtype=object)
    return out


def close(actual: float | np.ndarray, expected: float | list, rel: float) -> bool:
    a = np.asarray(actual, dtype=float)
    e = np.asarray(expected, dtype=float).reshape(a.shape)
    return bool(np.all(np.abs(a - e) <= rel * np.maximum(np.abs(e), 1e-12)))
