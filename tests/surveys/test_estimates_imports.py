"""Estimates of a closed wave, imports from a survey firm and the province, wave life cycle,
questionnaire versions, CLI."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest
from click.testing import CliRunner
from sqlmodel import Session, select

from participation.core.errors import ConflictError, ForbiddenError, ServiceError
from participation.surveys.estimates import compute_wave_results, domain_mean, rake, rate_interval
from participation.surveys.imports import import_provincial_results, import_responses
from participation.surveys.models import Questionnaire, Response, WaveResult
from participation.surveys.service import (
    WaveInput,
    create_questionnaire,
    create_wave,
    transition_wave,
    update_questionnaire,
)
from participation.surveys.standard import standard_definition
from participation.surveys.websurvey import build_response
from tests.surveys.helpers import STREET, fielding_wave, full_answers

OTHER = "371302001"


def test_rake_matches_both_margins() -> None:
    rows = np.array([0, 0, 1, 1, 1])
    cols = np.array([0, 1, 0, 1, 1])
    w = rake(np.ones(5), [(rows, {0: 40.0, 1: 60.0}), (cols, {0: 30.0, 1: 70.0})])
    assert np.bincount(rows, weights=w) == pytest.approx([40, 60])
    assert np.bincount(cols, weights=w) == pytest.approx([30, 70])


def test_domain_mean_by_hand() -> None:
    # one stratum, equal weights: the mean and the usual SE s/sqrt(n)
    y = np.array([60.0, 80.0, 100.0, 80.0])
    mean, se, n = domain_mean(y, np.ones(4), np.zeros(4, dtype=int), np.ones(4, dtype=bool))
    assert mean == 80.0 and n == 4
    assert se == pytest.approx(np.std(y, ddof=1) / 2)
    # NaN (not scored) left out
    y2 = np.array([60.0, np.nan, 100.0])
    assert domain_mean(y2, np.ones(3), np.zeros(3, dtype=int), np.ones(3, dtype=bool))[0] == 80.0


def test_rate_interval() -> None:
    low, high = rate_interval(0.8, 0.04, 100)
    assert low is not None and high is not None
    assert low < 0.8 < high and high < 1
    assert math.log(high / (1 - high)) - math.log(0.8 / 0.2) == pytest.approx(
        1.96 * 0.04 / 0.16, rel=1e-3
    )
    low, high = rate_interval(1.0, 0.0, 30)
    assert low is not None and 0.85 < low < 1 and high == pytest.approx(1.0)


def add_responses(session: Session, wave_id: int, street: str, answers: list[dict]) -> None:
    q = session.exec(select(Questionnaire)).first()
    assert q is not None
    from participation.surveys.service import form_of

    form = form_of(q)
    for a in answers:
        session.add(build_response(form, a, wave_id=wave_id, street_code=street, mode="phone"))
    session.commit()


def test_compute_wave_results(session: Session, linyi: None) -> None:
    wave = fielding_wave(session)
    assert wave.id is not None
    good = full_answers(
        **{
            k: "1"
            for k in (
                "street_cleaning",
                "waste_collection",
                "street_vending",
                "signs_ads",
                "parking_order",
                "road_condition",
                "street_lighting",
                "drainage",
                "parks",
                "street_trees",
                "enforcement_conduct",
            )
        }
    )
    add_responses(session, wave.id, STREET, [good, good, full_answers(sex="male", age_group="60+")])
    add_responses(session, wave.id, OTHER, [full_answers(), full_answers(age_group="18-29")])
    with pytest.raises(ConflictError):
        compute_wave_results(session, wave.id)
    transition_wave(session, wave.id, "closed", "administrator")
    count = compute_wave_results(session, wave.id)
    session.commit()
    results = {r.unit_code: r for r in session.exec(select(WaveResult))}
    assert count == len(results) == 4  # two streets, their county, the city
    street = results[STREET]
    assert street.level == "street" and street.n == 3
    assert street.mean is not None and 0 <= street.mean <= 100
    assert street.ci_low is not None and street.ci_low <= street.mean <= (street.ci_high or 0)
    assert "rake" in street.method and "Taylor" in street.method
    assert set(street.dimensions) == {
        "sanitation",
        "order",
        "facilities",
        "greening",
        "enforcement",
    }
    county = results["371302"]
    city = results["3713"]
    assert county.n == city.n == 5
    low, high = sorted([results[STREET].mean or 0, results[OTHER].mean or 0])
    assert low - 1e-9 <= (county.mean or 0) <= high + 1e-9
    weights = [r.base_weight for r in session.exec(select(Response))]
    assert all(w and w > 0 for w in weights)


def test_import_responses_all_or_nothing(session: Session, linyi: None) -> None:
    wave = fielding_wave(session)
    assert wave.id is not None
    names = list(full_answers())
    header = "street_code," + ",".join(names)
    good = STREET + "," + ",".join(str(v) for v in full_answers().values())
    bad = STREET + "," + ",".join(str(v) for v in full_answers(street_cleaning="7").values())
    with pytest.raises(ServiceError) as info:
        import_responses(session, wave.id, f"{header}\n{good}\n{bad}\n")
    assert info.value.line == 3 and info.value.field == "street_cleaning"
    session.rollback()
    assert session.exec(select(Response)).all() == []
    with pytest.raises(ServiceError) as info:
        import_responses(session, wave.id, "street_code,nonsense\n" + STREET + ",1\n")
    assert info.value.field == "nonsense"
    assert import_responses(session, wave.id, f"{header}\n{good}\n{good}\n") == 2
    assert {r.mode for r in session.exec(select(Response))} == {"imported"}


def test_provincial_results(session: Session, linyi: None) -> None:
    wave = create_wave(
        session,
        WaveInput(
            name="省测评",
            questionnaire_id=None,
            period_start=date(2026, 1, 1),
            period_end=date(2026, 6, 30),
            source="provincial",
        ),
    )
    assert wave.id is not None
    with pytest.raises(ServiceError) as info:
        import_provincial_results(
            session, wave.id, f"unit_code,score,n,se\n{STREET},82.5,30,2\n{OTHER},120,30,2\n"
        )
    assert info.value.line == 3 and info.value.field == "score"
    assert (
        import_provincial_results(
            session, wave.id, f"unit_code,score,n,se\n{STREET},82.5,30,2\n371302,80,300,\n"
        )
        == 2
    )
    row = session.exec(select(WaveResult).where(WaveResult.unit_code == STREET)).one()
    assert row.method == "imported" and row.n == 30
    assert row.ci_low == pytest.approx(82.5 - 1.96 * 2, abs=0.01)
    city = fielding_wave(session)
    assert city.id is not None
    with pytest.raises(ServiceError):
        import_provincial_results(session, city.id, f"unit_code,score\n{STREET},80\n")


def test_wave_life_cycle(session: Session, linyi: None) -> None:
    wave = fielding_wave(session)
    assert wave.id is not None
    with pytest.raises(ConflictError):
        transition_wave(session, wave.id, "draft", "administrator")
    with pytest.raises(ConflictError):
        transition_wave(session, wave.id, "published", "administrator")
    with pytest.raises(ForbiddenError):
        transition_wave(session, wave.id, "closed", "official", "3713")
    transition_wave(session, wave.id, "closed", "supervisor")
    with pytest.raises(ForbiddenError):
        transition_wave(session, wave.id, "published", "supervisor")
    with pytest.raises(ForbiddenError):
        transition_wave(session, wave.id, "published", "official", "371302")
    assert transition_wave(session, wave.id, "published", "official", "3713").status == "published"


def test_locked_versions_are_immutable(session: Session) -> None:
    first = create_questionnaire(session, standard_definition())
    assert first.version == 1 and not first.locked
    edited = standard_definition()
    edited["items"][3]["label"]["zh_CN"] = "改过的题目"
    same = update_questionnaire(session, first.id or 0, edited)
    assert same.id == first.id and same.version == 1
    wave = create_wave(
        session,
        WaveInput(
            name="w",
            questionnaire_id=first.id,
            period_start=date(2026, 1, 1),
            period_end=date(2026, 2, 28),
        ),
    )
    assert wave.id and first.locked
    again = update_questionnaire(session, first.id or 0, standard_definition())
    assert again.id != first.id and again.version == 2
    assert first.definition["items"][3]["label"]["zh_CN"] == "改过的题目"


def test_cli_estimate_and_errors(
    session: Session, settings, linyi: None, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from participation.cli import cli
    from participation.settings import get_settings

    wave = fielding_wave(session)
    assert wave.id is not None
    add_responses(session, wave.id, STREET, [full_answers(), full_answers()])
    transition_wave(session, wave.id, "closed", "administrator")
    session.commit()
    monkeypatch.setenv("PARTICIPATION_DATABASE_URL", settings.database_url)
    for key in ("secret_key", "data_keys", "hash_key"):
        monkeypatch.setenv(f"PARTICIPATION_{key.upper()}", str(getattr(settings, key)))
    if hasattr(get_settings, "cache_clear"):
        get_settings.cache_clear()
    runner = CliRunner()
    result = runner.invoke(cli, ["waves", "estimate", str(wave.id)])
    assert result.exit_code == 0, result.output
    assert "estimates for 3 units" in result.output
    result = runner.invoke(cli, ["waves", "estimate", "999"])
    assert result.exit_code == 1 and "does not exist" in result.output
