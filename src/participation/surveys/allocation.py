"""Sample allocation across streets and frames, expected margins of error, dual-frame weights.

Pure functions (no database). Notation: stratum (street) ``h`` with adult population ``N_h``
and sample size ``n_h``; ``z`` = 1.96 for 95 % confidence; ``deff`` is the design-effect
allowance (weighting and clustering inflate the variance by this factor).

* Equal: ``n_h = n`` for every street.
* Proportional: ``n_h = n · N_h / ΣN`` (largest-remainder rounding, then at least ``minimum``).
* Neyman: ``n_h = n · N_h S_h / Σ N_k S_k`` (``S_h`` prior standard deviation of the score).
* Target margin of error (per street, 95 %):
  a 0–100 mean with standard deviation ``S``: ``n0 = deff · (z S / e)²``;
  a proportion ``p``: ``n0 = deff · z² p (1-p) / e²``;
  with the finite-population correction ``n = n0 / (1 + (n0 - 1) / N_h)`` (rounded up).
* Expected margin of error of a mean: ``e = z · sqrt(deff · S² / n · (1 - n / N))``; of a
  proportion: ``e = z · sqrt(deff · p (1-p) / n · (1 - n / N))``.

Frames: each street's ``n_h`` is split between the mobile and landline frames (default
60 / 40) by largest remainder.

Dual-frame weights (mobile frame A, landline frame B). A respondent reachable only through the
frame f (the questionnaire asks whether they have the other type of phone) has inclusion
probability ``π_f = n_f / N_f`` (sampled over listed numbers of that frame in the street) and
base weight ``1 / π_f``. A respondent in the overlap (both types) could have been selected
through either frame:

* ``multiplicity`` (single-frame estimator, Bankier 1986 / Kalton & Anderson 1986): weight
  ``1 / (π_A + π_B)`` — the expected number of selections of the unit, so each overlap unit
  is counted once in expectation whichever frame found it;
* ``hartley`` (Hartley 1962, with a fixed composite factor θ, default 0.5): weight
  ``θ / π_A`` when found through A and ``(1 - θ) / π_B`` when found through B.

The base weights are then scaled within the street to ``N_h`` and raked to the population
margins (see ``participation.surveys.estimates``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Z95 = 1.959963984540054
DEFAULT_FRAME_SHARES: dict[str, float] = {"mobile": 0.6, "landline": 0.4}
METHODS = ("equal", "proportional", "neyman", "moe_mean", "moe_proportion")


def largest_remainder(shares: Mapping[str, float], total: int) -> dict[str, int]:
    """Integers summing to ``total`` in proportion to ``shares`` (Hamilton's method).

    Ties go to the earlier key, so the result is deterministic.
    """
    if total < 0:
        raise ValueError("total must be non-negative")
    weight = sum(max(v, 0.0) for v in shares.values())
    if not shares:
        return {}
    if weight <= 0:
        quotas = {k: total / len(shares) for k in shares}
    else:
        quotas = {k: total * max(v, 0.0) / weight for k, v in shares.items()}
    out = {k: math.floor(q) for k, q in quotas.items()}
    left = total - sum(out.values())
    order = sorted(shares, key=lambda k: (-(quotas[k] - out[k]), list(shares).index(k)))
    for k in order[:left]:
        out[k] += 1
    return out


def allocate_equal(strata: list[str] | Mapping[str, Any], per_stratum: int) -> dict[str, int]:
    """The same ``per_stratum`` in every stratum."""
    return {h: int(per_stratum) for h in strata}


def _with_minimum(
    alloc: dict[str, int], shares: Mapping[str, float], minimum: int
) -> dict[str, int]:
    """Raise strata below ``minimum`` to it, taking the extra from the others proportionally."""
    if minimum <= 0:
        return alloc
    total = sum(alloc.values())
    low = {h for h, n in alloc.items() if n < minimum}
    if not low:
        return alloc
    if minimum * len(alloc) > total:
        return {h: minimum for h in alloc}
    while True:
        rest = {h: shares[h] for h in alloc if h not in low}
        out = dict.fromkeys(low, minimum)
        out.update(largest_remainder(rest, total - minimum * len(low)))
        more = {h for h, n in out.items() if n < minimum} - low
        if not more:
            return {h: out[h] for h in alloc}
        low |= more


def allocate_proportional(
    populations: Mapping[str, float], total: int, minimum: int = 0
) -> dict[str, int]:
    """``n_h ∝ N_h`` summing to ``total`` (each stratum at least ``minimum``)."""
    alloc = largest_remainder(populations, total)
    return _with_minimum(alloc, populations, minimum)


def allocate_neyman(
    populations: Mapping[str, float],
    sds: Mapping[str, float],
    total: int,
    minimum: int = 0,
) -> dict[str, int]:
    """Neyman allocation ``n_h ∝ N_h S_h`` summing to ``total`` (at least ``minimum``)."""
    products = {h: populations[h] * sds.get(h, 0.0) for h in populations}
    alloc = largest_remainder(products, total)
    return _with_minimum(alloc, products, minimum)


def fpc_adjust(n0: float, population: float | None) -> float:
    """``n0 / (1 + (n0 - 1) / N)`` (no change when ``N`` is unknown)."""
    if not population or population <= 0:
        return n0
    return n0 / (1 + (n0 - 1) / population)


def n_for_moe_mean(
    moe: float, sd: float, population: float | None = None, deff: float = 1.0, z: float = Z95
) -> int:
    """Sample size for a mean (e.g. a 0–100 score with SD ``sd``) within ±``moe`` at 95 %."""
    if moe <= 0:
        raise ValueError("the margin of error must be positive")
    n0 = deff * (z * sd / moe) ** 2
    return max(1, math.ceil(fpc_adjust(n0, population) - 1e-9))


def n_for_moe_proportion(
    moe: float, p: float = 0.5, population: float | None = None, deff: float = 1.0, z: float = Z95
) -> int:
    """Sample size for a proportion ``p`` within ±``moe`` (a share, e.g. 0.05) at 95 %."""
    if moe <= 0:
        raise ValueError("the margin of error must be positive")
    n0 = deff * z**2 * p * (1 - p) / moe**2
    return max(1, math.ceil(fpc_adjust(n0, population) - 1e-9))


def _fpc(n: float, population: float | None) -> float:
    if not population or population <= 0:
        return 1.0
    return max(0.0, 1 - n / population)


def moe_mean(
    n: int, sd: float, population: float | None = None, deff: float = 1.0, z: float = Z95
) -> float | None:
    """Expected 95 % margin of error of a mean from ``n`` interviews (None when n = 0)."""
    if n <= 0:
        return None
    return z * math.sqrt(deff * sd**2 / n * _fpc(n, population))


def moe_proportion(
    n: int, p: float = 0.5, population: float | None = None, deff: float = 1.0, z: float = Z95
) -> float | None:
    """Expected 95 % margin of error of a proportion from ``n`` interviews."""
    if n <= 0:
        return None
    return z * math.sqrt(deff * p * (1 - p) / n * _fpc(n, population))


def split_by_frame(n: int, shares: Mapping[str, float] | None = None) -> dict[str, int]:
    """Split ``n`` between frames (default mobile 60 %, landline 40 %)."""
    return largest_remainder(shares or DEFAULT_FRAME_SHARES, n)


@dataclass
class AllocationPlan:
    """An allocation: n per street and per frame, with the expected margins of error."""

    method: str
    params: dict[str, Any]
    n: dict[str, int]
    frames: dict[str, dict[str, int]]
    moe_mean: dict[str, float | None] = field(default_factory=dict)
    moe_proportion: dict[str, float | None] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Total sample size."""
        return sum(self.n.values())

    def to_json(self) -> dict[str, Any]:
        """The form stored in ``Wave.allocation``."""
        return {
            "method": self.method,
            "params": self.params,
            "n": self.n,
            "frames": self.frames,
            "moe_mean": self.moe_mean,
            "moe_proportion": self.moe_proportion,
            "total": self.total,
        }


def plan_allocation(
    method: str,
    populations: Mapping[str, float],
    *,
    per_street: int = 40,
    total: int | None = None,
    sds: Mapping[str, float] | None = None,
    sd: float = 20.0,
    target_moe: float | None = None,
    p: float = 0.5,
    deff: float = 1.5,
    minimum: int = 0,
    frame_shares: Mapping[str, float] | None = None,
) -> AllocationPlan:
    """Allocate a sample over streets by ``method`` and report the expected margins of error.

    ``equal``: ``per_street`` each; ``proportional``/``neyman``: ``total`` (default
    ``per_street`` × streets) spread by population (× prior SD ``sds``, default ``sd``);
    ``moe_mean``: the n per street for ±``target_moe`` points on the 0–100 score with SD ``sd``;
    ``moe_proportion``: the n for ±``target_moe`` (a share) on the satisfaction rate.
    Expected MOEs use ``sd``/``p`` and the design effect ``deff``.
    """
    if method not in METHODS:
        raise ValueError(f"unknown allocation method {method!r}")
    strata = list(populations)
    total = total if total is not None else per_street * len(strata)
    sd_map = {h: (sds or {}).get(h, sd) for h in strata}
    if method == "equal":
        n = allocate_equal(strata, per_street)
    elif method == "proportional":
        n = allocate_proportional(populations, total, minimum)
    elif method == "neyman":
        n = allocate_neyman(populations, sd_map, total, minimum)
    elif method == "moe_mean":
        if target_moe is None:
            raise ValueError("moe_mean needs target_moe")
        n = {h: n_for_moe_mean(target_moe, sd_map[h], populations[h], deff) for h in strata}
    else:
        if target_moe is None:
            raise ValueError("moe_proportion needs target_moe")
        n = {h: n_for_moe_proportion(target_moe, p, populations[h], deff) for h in strata}
    shares = dict(frame_shares or DEFAULT_FRAME_SHARES)
    params = {
        "per_street": per_street,
        "total": total,
        "sd": sd,
        "target_moe": target_moe,
        "p": p,
        "deff": deff,
        "minimum": minimum,
        "frame_shares": shares,
    }
    return AllocationPlan(
        method=method,
        params=params,
        n=n,
        frames={h: split_by_frame(n[h], shares) for h in strata},
        moe_mean={h: moe_mean(n[h], sd_map[h], populations[h], deff) for h in strata},
        moe_proportion={h: moe_proportion(n[h], p, populations[h], deff) for h in strata},
    )


def dual_frame_weight(
    frame: str,
    in_overlap: bool,
    pi: Mapping[str, float],
    method: str = "multiplicity",
    theta: float = 0.5,
) -> float:
    """Base weight of a respondent found through ``frame`` (see the module docstring).

    ``pi`` maps each frame ("mobile", "landline") to its inclusion probability in the street.
    """
    own = pi[frame]
    if own <= 0:
        raise ValueError("the inclusion probability of the frame must be positive")
    if not in_overlap:
        return 1.0 / own
    if method == "multiplicity":
        return 1.0 / sum(v for v in pi.values() if v > 0)
    if method == "hartley":
        share = theta if frame == "mobile" else 1 - theta
        return share / own
    raise ValueError(f"unknown dual-frame method {method!r}")
