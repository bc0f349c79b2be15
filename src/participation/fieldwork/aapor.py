"""AAPOR outcome rates (Standard Definitions, 10th edition, 2023) — pure functions.

Counts of cases by final disposition category::

    I  complete interviews (1.1)         P  partial interviews (1.2)
    R  refusals and break-offs (2.1)     NC non-contacts (2.2)
    O  other eligible non-interviews (2.3)
    UH unknown if household/occupied (3.1)
    UO unknown, other (3.2, 3.9)         NE not eligible (4.x)

and ``e``, the estimated proportion of cases of unknown eligibility that are eligible.

Response rates::

    RR1 = I / ((I+P) + (R+NC+O) + (UH+UO))
    RR2 = (I+P) / ((I+P) + (R+NC+O) + (UH+UO))
    RR3 = I / ((I+P) + (R+NC+O) + e(UH+UO))
    RR4 = (I+P) / ((I+P) + (R+NC+O) + e(UH+UO))
    RR5 = I / ((I+P) + (R+NC+O))
    RR6 = (I+P) / ((I+P) + (R+NC+O))

Cooperation rates::

    COOP1 = I / ((I+P) + R + O)         COOP2 = (I+P) / ((I+P) + R + O)
    COOP3 = I / ((I+P) + R)             COOP4 = (I+P) / ((I+P) + R)

Refusal rates::

    REF1 = R / ((I+P) + (R+NC+O) + (UH+UO))
    REF2 = R / ((I+P) + (R+NC+O) + e(UH+UO))
    REF3 = R / ((I+P) + (R+NC+O))

Contact rates::

    CON1 = ((I+P) + R + O) / ((I+P) + (R+NC+O) + (UH+UO))
    CON2 = ((I+P) + R + O) / ((I+P) + (R+NC+O) + e(UH+UO))
    CON3 = ((I+P) + R + O) / ((I+P) + (R+NC+O))

A rate whose denominator is zero is None.

``e`` is estimated by proportional allocation (the "CASRO" estimate): the share of eligible
cases among cases whose eligibility is known, ``(I+P+R+NC+O) / (I+P+R+NC+O+NE)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass

RATE_NAMES: tuple[str, ...] = (
    "RR1",
    "RR2",
    "RR3",
    "RR4",
    "RR5",
    "RR6",
    "COOP1",
    "COOP2",
    "COOP3",
    "COOP4",
    "REF1",
    "REF2",
    "REF3",
    "CON1",
    "CON2",
    "CON3",
)


@dataclass(frozen=True, slots=True)
class DispositionCounts:
    """Numbers of cases by final disposition category."""

    I: int = 0  # noqa: E741
    P: int = 0
    R: int = 0
    NC: int = 0
    O: int = 0  # noqa: E741
    UH: int = 0
    UO: int = 0
    NE: int = 0

    @classmethod
    def from_categories(cls, categories: Iterable[str | None]) -> DispositionCounts:
        """Counts of an iterable of category letters (None and unknown letters are ignored)."""
        tally = {name: 0 for name in ("I", "P", "R", "NC", "O", "UH", "UO", "NE")}
        for category in categories:
            if category in tally:
                tally[category] += 1
        return cls(**tally)

    def __add__(self, other: DispositionCounts) -> DispositionCounts:
        a, b = asdict(self), asdict(other)
        return DispositionCounts(**{k: a[k] + b[k] for k in a})

    @property
    def total(self) -> int:
        """All cases counted."""
        return sum(asdict(self).values())

    def as_dict(self) -> dict[str, int]:
        """The counts by category letter."""
        return asdict(self)


def estimate_e(counts: DispositionCounts) -> float:
    """Proportion eligible among cases of known eligibility (1.0 when nothing is known yet)."""
    eligible = counts.I + counts.P + counts.R + counts.NC + counts.O
    known = eligible + counts.NE
    return eligible / known if known else 1.0


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator > 0 else None


def aapor_rates(counts: DispositionCounts, e: float) -> dict[str, float | None]:
    """RR1–RR6, COOP1–COOP4, REF1–REF3 and CON1–CON3 for ``counts`` and eligibility ``e``."""
    if not 0.0 <= e <= 1.0:
        raise ValueError(f"e must lie in [0, 1], got {e!r}")
    c = counts
    interviews = c.I + c.P
    eligible_non = c.R + c.NC + c.O
    unknown = c.UH + c.UO
    all_known = interviews + eligible_non
    d_full = all_known + unknown
    d_e = all_known + e * unknown
    contacted = interviews + c.R + c.O
    return {
        "RR1": _ratio(c.I, d_full),
        "RR2": _ratio(interviews, d_full),
        "RR3": _ratio(c.I, d_e),
        "RR4": _ratio(interviews, d_e),
        "RR5": _ratio(c.I, all_known),
        "RR6": _ratio(interviews, all_known),
        "COOP1": _ratio(c.I, interviews + c.R + c.O),
        "COOP2": _ratio(interviews, interviews + c.R + c.O),
        "COOP3": _ratio(c.I, interviews + c.R),
        "COOP4": _ratio(interviews, interviews + c.R),
        "REF1": _ratio(c.R, d_full),
        "REF2": _ratio(c.R, d_e),
        "REF3": _ratio(c.R, all_known),
        "CON1": _ratio(contacted, d_full),
        "CON2": _ratio(contacted, d_e),
        "CON3": _ratio(contacted, all_known),
    }


def rates_with_e(counts: DispositionCounts) -> tuple[float, dict[str, float | None]]:
    """(estimated e, the rates at that e)."""
    e = estimate_e(counts)
    return e, aapor_rates(counts, e)


def counts_from_mapping(values: Mapping[str, int]) -> DispositionCounts:
    """Counts from a mapping of category letters (missing letters count zero)."""
    return DispositionCounts(**{k: int(v) for k, v in values.items()})
