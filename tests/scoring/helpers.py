"""A small hand-checkable city: 2 counties × 3 streets, two city waves and one provincial wave."""

from datetime import date

from sqlmodel import Session

from participation.geography.models import Unit
from participation.surveys.models import Wave, WaveResult

CITY_CODE = "9901"
COUNTIES = {"990101": "甲区", "990102": "乙县"}
STREETS = {
    "990101001": ("990101", "一街道"),
    "990101002": ("990101", "二街道"),
    "990101003": ("990101", "三街道"),
    "990102001": ("990102", "四镇"),
    "990102002": ("990102", "五镇"),
    "990102003": ("990102", "六镇"),
}
# Same numbers as tests/scoring/test_compute.py (S11 … S23).
CITY_WAVES = {
    "990101001": (80, 84),
    "990101002": (90, 92),
    "990101003": (70, 74),
    "990102001": (60, 64),
    "990102002": (85, 87),
    "990102003": (79, 81),
}
PROVINCIAL = {
    "990101001": (85, 3),
    "990101002": (95, 3),
    "990101003": (70, 3),
    "990102001": (65, 3),
    "990102002": (90, 3),
    "990102003": (75, 6),
}
EXPECTED = {
    "990101001": 83.8,
    "990101002": 93.4,
    "990101003": 70.8,
    "990102001": 63.8,
    "990102002": 88.4,
    "990102003": 77.0,
}


def build_mini_city(session: Session) -> dict[str, int]:
    """Create the units, waves and results; returns the wave ids."""
    session.add(Unit(code=CITY_CODE, name="测试市", name_en="Test City", level="city"))
    session.flush()
    for code, name in COUNTIES.items():
        session.add(Unit(code=code, name=name, level="county", parent_code=CITY_CODE))
    session.flush()
    for code, (parent, name) in STREETS.items():
        session.add(Unit(code=code, name=name, level="street", parent_code=parent, population=1000))
    session.flush()
    waves = {
        "w1": Wave(
            name="2026年第1期",
            source="city",
            period_start=date(2026, 1, 1),
            period_end=date(2026, 2, 28),
            status="closed",
        ),
        "w2": Wave(
            name="2026年第2期",
            source="city",
            period_start=date(2026, 3, 1),
            period_end=date(2026, 4, 30),
            status="published",
        ),
        "prov": Wave(
            name="2026年省级调查",
            source="provincial",
            period_start=date(2026, 1, 1),
            period_end=date(2026, 6, 30),
            status="closed",
        ),
        "draft": Wave(
            name="2026年第3期",
            source="city",
            period_start=date(2026, 5, 1),
            period_end=date(2026, 6, 30),
            status="fielding",
        ),
    }
    for w in waves.values():
        session.add(w)
    session.flush()
    for code, values in CITY_WAVES.items():
        for key, value in zip(("w1", "w2"), values, strict=True):
            session.add(
                WaveResult(
                    wave_id=waves[key].id,
                    unit_code=code,
                    level="street",
                    n=50,
                    mean=value,
                    se=2.0,
                    ci_low=value - 3.92,
                    ci_high=value + 3.92,
                    dimensions={
                        "市容环境": {"mean": value - 1, "se": 2.5},
                        "道路设施": {"mean": value + 1, "se": 2.5},
                    },
                )
            )
    for code, (value, se) in PROVINCIAL.items():
        session.add(
            WaveResult(
                wave_id=waves["prov"].id,
                unit_code=code,
                level="street",
                n=40,
                mean=value,
                se=se,
                ci_low=value - 1.96 * se,
                ci_high=value + 1.96 * se,
            )
        )
    # The fielding wave has a result that must be ignored (not closed).
    session.add(
        WaveResult(
            wave_id=waves["draft"].id, unit_code="990101001", level="street", n=5, mean=10.0, se=9.0
        )
    )
    session.commit()
    return {k: w.id for k, w in waves.items()}
