"""AAPOR rates against the Standard Definitions formulas computed by hand."""

from __future__ import annotations

import pytest

from participation.fieldwork import dispositions
from participation.fieldwork.aapor import (
    RATE_NAMES,
    DispositionCounts,
    aapor_rates,
    estimate_e,
)

# A fixed table: I=400, P=50, R=200, NC=150, O=25, UH=300, UO=75, NE=280
COUNTS = DispositionCounts(I=400, P=50, R=200, NC=150, O=25, UH=300, UO=75, NE=280)


def test_e_is_the_eligible_share_among_known_cases() -> None:
    # eligible: 400+50+200+150+25 = 825; known: 825 + 280 = 1105
    assert estimate_e(COUNTS) == pytest.approx(825 / 1105)
    assert estimate_e(DispositionCounts(UH=10)) == 1.0


def test_rates_equal_the_formulas_by_hand() -> None:
    e = 825 / 1105
    rates = aapor_rates(COUNTS, e)
    assert set(rates) == set(RATE_NAMES)
    full = 450 + 375 + 375  # (I+P) + (R+NC+O) + (UH+UO) = 1200
    with_e = 450 + 375 + e * 375
    known = 825
    expected = {
        "RR1": 400 / full,
        "RR2": 450 / full,
        "RR3": 400 / with_e,
        "RR4": 450 / with_e,
        "RR5": 400 / known,
        "RR6": 450 / known,
        "COOP1": 400 / (450 + 200 + 25),
        "COOP2": 450 / (450 + 200 + 25),
        "COOP3": 400 / (450 + 200),
        "COOP4": 450 / (450 + 200),
        "REF1": 200 / full,
        "REF2": 200 / with_e,
        "REF3": 200 / known,
        "CON1": (450 + 200 + 25) / full,
        "CON2": (450 + 200 + 25) / with_e,
        "CON3": (450 + 200 + 25) / known,
    }
    for name, value in expected.items():
        assert rates[name] == pytest.approx(value), name
    # concrete values, in case the expressions above shared a mistake with the code
    assert rates["RR1"] == pytest.approx(1 / 3)
    assert rates["RR6"] == pytest.approx(450 / 825)
    assert rates["COOP3"] == pytest.approx(400 / 650)


def test_rates_order_and_bounds() -> None:
    rates = aapor_rates(COUNTS, 0.5)
    assert rates["RR1"] <= rates["RR3"] <= rates["RR5"]
    assert rates["RR2"] <= rates["RR4"] <= rates["RR6"]
    assert rates["COOP1"] <= rates["COOP3"]
    assert all(0 <= v <= 1 for v in rates.values() if v is not None)
    # e = 1 makes RR3 equal RR1; e = 0 makes RR3 equal RR5
    assert aapor_rates(COUNTS, 1.0)["RR3"] == pytest.approx(rates["RR1"])
    assert aapor_rates(COUNTS, 0.0)["RR3"] == pytest.approx(aapor_rates(COUNTS, 0.5)["RR5"])


def test_empty_denominators_give_none_and_bad_e_is_refused() -> None:
    rates = aapor_rates(DispositionCounts(NE=3), 1.0)
    assert rates["RR1"] is None and rates["COOP1"] is None
    with pytest.raises(ValueError):
        aapor_rates(COUNTS, 1.5)


def test_every_code_has_a_category_and_labels() -> None:
    counts = DispositionCounts.from_categories(
        dispositions.category_of(code) for code in dispositions.DISPOSITIONS
    )
    assert counts.total == len(dispositions.DISPOSITIONS)
    assert dispositions.get("4.8").category.value == "NE"
    assert dispositions.get("2.11").status == "refused"
    assert all(d.label_zh and d.label_en for d in dispositions.DISPOSITIONS.values())
    assert (counts + counts).I == 2 * counts.I
