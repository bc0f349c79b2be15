"""The assessment computation against hand calculations (2 counties × 3 streets)."""

import math

import pytest

from participation.scoring.compute import Observation, UnitRef, compute
from participation.scoring.config import Rules, linyi_config

# Hand data: city waves (mean, SE 2 each) and one provincial wave (SE 3; 6 for S23).
CITY = {
    "S11": (80, 84),
    "S12": (90, 92),
    "S13": (70, 74),
    "S21": (60, 64),
    "S22": (85, 87),
    "S23": (79, 81),
}
PROV = {"S11": 85, "S12": 95, "S13": 70, "S21": 65, "S22": 90, "S23": 75}
PROV_SE = {"S11": 3, "S12": 3, "S13": 3, "S21": 3, "S22": 3, "S23": 6}


def units():
    out = [UnitRef("C1", "县一", "county"), UnitRef("C2", "县二", "county")]
    for code in CITY:
        out.append(UnitRef(code, code, "street", parent_code="C" + code[1]))
    return out


def observations():
    obs = []
    for code, values in CITY.items():
        for v in values:
            obs.append(Observation("city", code, v, 2.0))
    for code, v in PROV.items():
        obs.append(Observation("provincial", code, v, PROV_SE[code]))
    return obs


def config(**rules):
    cfg = linyi_config()
    return cfg.model_copy(update={"rules": Rules(**rules)})


def hand():
    """Composite = 0.6 provincial + 0.4 mean(city waves), SE² = 0.36 SEp² + 0.16 SEc²."""
    scores = {c: 0.6 * PROV[c] + 0.4 * sum(CITY[c]) / 2 for c in CITY}
    ses = {c: math.sqrt(0.36 * PROV_SE[c] ** 2 + 0.16 * (math.sqrt(8) / 2) ** 2) for c in CITY}
    return scores, ses


def test_street_and_county_composites_match_hand_calculation():
    outcome = compute(units(), observations(), config(talks_streets=2, talks_counties=1))
    streets = {u.code: u for u in outcome.streets}
    scores, ses = hand()
    assert scores == pytest.approx(
        {"S11": 83.8, "S12": 93.4, "S13": 70.8, "S21": 63.8, "S22": 88.4, "S23": 77.0}
    )
    for code, s in scores.items():
        assert streets[code].score == pytest.approx(s)
        assert streets[code].se == pytest.approx(ses[code])
        assert streets[code].ci_low == pytest.approx(s - 1.959964 * ses[code], abs=1e-5)
    counties = {u.code: u for u in outcome.counties}
    assert counties["C1"].score == pytest.approx((83.8 + 93.4 + 70.8) / 3)
    assert counties["C2"].score == pytest.approx((63.8 + 88.4 + 77.0) / 3)
    # County SE from the streets' SEs: √(Σ SEᵢ²) / 3.
    assert counties["C1"].se == pytest.approx(math.sqrt(3 * 3.56) / 3)
    assert counties["C2"].se == pytest.approx(math.sqrt(2 * 3.56 + 13.28) / 3)
    assert outcome.city is not None
    assert outcome.city.score == pytest.approx((83.8 + 93.4 + 70.8 + 63.8 + 88.4 + 77.0) / 6)


def test_grades_ranks_and_lists_match_hand_calculation():
    outcome = compute(units(), observations(), config(talks_streets=2, talks_counties=1))
    streets = {u.code: u for u in outcome.streets}
    assert [u.code for u in outcome.streets] == ["S12", "S22", "S11", "S23", "S13", "S21"]
    assert [streets[c].rank for c in ("S12", "S22", "S11", "S23", "S13", "S21")] == [
        1,
        2,
        3,
        4,
        5,
        6,
    ]
    assert {c: u.grade for c, u in streets.items()} == {
        "S12": "excellent",
        "S22": "good",
        "S11": "good",
        "S23": "pass",
        "S13": "pass",
        "S21": "fail",
    }
    counties = {u.code: u for u in outcome.counties}
    assert counties["C1"].grade == "good" and counties["C2"].grade == "pass"
    lists = outcome.lists()
    # City mean 79.5333: three streets above (表扬), three below (批评).
    assert lists["street_praise"] == ["S12", "S22", "S11"]
    assert lists["street_criticism"] == ["S23", "S13", "S21"]
    assert lists["county_praise"] == ["C1"] and lists["county_criticism"] == ["C2"]
    # Bottom 2 streets and bottom county summoned (约谈).
    assert lists["street_talks"] == ["S13", "S21"]
    assert lists["county_talks"] == ["C2"]
    # S23 (77.0, SE 3.64) is within 1.96·√(3.56 + 13.28) = 8.04 of S13 (70.8): plausibly bottom 2.
    assert (streets["S23"].rank_low, streets["S23"].rank_high) == (3, 5)
    assert lists["street_plausible_talks"] == ["S23"]
    # S23's "below the mean" is within the margin of error; S13's and S21's are not.
    assert streets["S23"].below_mean and not streets["S23"].below_mean_significant
    assert streets["S13"].below_mean_significant and streets["S21"].below_mean_significant
    # Flags: top 2 red, bottom 2 yellow.
    assert lists["street_red_flags"] == ["S12", "S22"]
    assert lists["street_yellow_flags"] == ["S13", "S21"]
    # S11 (83.8) and S23 (77.0) differ by 6.8 < 8.04: not distinguishable as neighbours.
    assert streets["S11"].distinct_from_next is False
    # S12 (93.4) vs S22 (88.4): 5.0 < 1.96·√(2·3.56) = 5.23; S13 (70.8) vs S21 (63.8): 7.0 > 5.23.
    assert streets["S12"].distinct_from_next is False
    assert streets["S13"].distinct_from_next is True
    assert streets["S21"].distinct_from_next is None


def test_escalation_after_consecutive_bottom_periods():
    cfg = config(escalation_bottom=2, escalation_periods=2)
    outcome = compute(units(), observations(), cfg, history={"street": [{"S21", "S23"}]})
    assert outcome.lists()["street_escalated"] == ["S21"]
    assert compute(units(), observations(), cfg).lists()["street_escalated"] == []


def test_population_weighted_counties():
    refs = [
        UnitRef("C1", "C1", "county"),
        UnitRef("S1", "S1", "street", "C1", population=3000),
        UnitRef("S2", "S2", "street", "C1", population=1000),
    ]
    obs = [Observation("city", "S1", 80, 2), Observation("city", "S2", 60, 2)]
    obs += [Observation("provincial", "S1", 80, 2), Observation("provincial", "S2", 60, 2)]
    cfg = linyi_config().model_copy(update={"unit_aggregation": "population"})
    county = compute(refs, obs, cfg).counties[0]
    assert county.score == pytest.approx(0.75 * 80 + 0.25 * 60)
    # Same source within a unit: none here; two sources independent.
    assert county.se == pytest.approx(math.sqrt(0.36 + 0.16) * math.sqrt(0.75**2 + 0.25**2) * 2)


def test_sensitivity_reports_median_and_max_rank_shift():
    refs = [UnitRef("A", "A", "street"), UnitRef("B", "B", "street")]
    obs = [
        Observation("provincial", "A", 90, 1),
        Observation("city", "A", 70, 1),
        Observation("provincial", "B", 70, 1),
        Observation("city", "B", 90, 1),
    ]
    outcome = compute(refs, obs, linyi_config())
    assert set(outcome.scenarios) == {"provincial 50%", "provincial 70%", "equal"}
    a, b = outcome.streets
    assert (a.code, a.rank, b.code, b.rank) == ("A", 1, "B", 2)
    assert b.scenario_ranks == {"provincial 50%": 1, "provincial 70%": 2, "equal": 1}
    assert (b.median_rank_shift, b.max_rank_shift) == (1.0, 1)
    assert (a.median_rank_shift, a.max_rank_shift) == (0.0, 0)


def test_normalisations_and_lower_is_better():
    from participation.scoring.config import ComponentConfig, Normalisation, SchemeConfig

    cfg = SchemeConfig(
        components=[
            ComponentConfig(
                key="closure",
                label_zh="结案率",
                kind="imported",
                indicator="closure",
                weight=1,
                normalisation=Normalisation(method="target", target=95),
            ),
            ComponentConfig(
                key="complaints",
                label_zh="投诉量",
                kind="imported",
                indicator="complaints",
                weight=1,
                normalisation=Normalisation(method="minmax"),
                direction="lower",
            ),
        ]
    )
    refs = [UnitRef("A", "A", "street"), UnitRef("B", "B", "street")]
    obs = [
        Observation("closure", "A", 76),
        Observation("closure", "B", 99),
        Observation("complaints", "A", 10),
        Observation("complaints", "B", 30),
    ]
    streets = {u.code: u for u in compute(refs, obs, cfg).streets}
    assert streets["A"].components["closure"].score == pytest.approx(80.0)
    assert streets["B"].components["closure"].score == pytest.approx(100.0)
    assert streets["A"].components["complaints"].score == pytest.approx(100.0)
    assert streets["B"].components["complaints"].score == pytest.approx(0.0)
    assert streets["A"].score == pytest.approx(90.0) and streets["A"].se == 0


def test_monthly_and_yearend_periods():
    from participation.scoring.config import ComponentConfig, PeriodCombination, SchemeConfig

    cfg = SchemeConfig(
        components=[
            ComponentConfig(
                key="c",
                label_zh="c",
                kind="imported",
                indicator="c",
                weight=1,
                periods=PeriodCombination(method="monthly_yearend", yearend_weight=0.4),
            )
        ]
    )
    obs = [
        Observation("c", "A", 80),
        Observation("c", "A", 90),
        Observation("c", "A", 70, yearend=True),
    ]
    street = compute([UnitRef("A", "A", "street")], obs, cfg).streets[0]
    assert street.score == pytest.approx(0.6 * 85 + 0.4 * 70)
