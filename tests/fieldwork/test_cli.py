"""`participation fieldwork progress|rates`: the supervisor's numbers on the command line."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlmodel import Session

from participation.cli import cli
from participation.fieldwork import service
from participation.settings import get_settings
from tests.fieldwork.test_service import ANSWERS, MORNING, TZ


@pytest.fixture
def env_db(settings, monkeypatch):
    monkeypatch.setenv("PARTICIPATION_DATABASE_URL", settings.database_url)
    for key in ("secret_key", "data_keys", "hash_key"):
        monkeypatch.setenv(f"PARTICIPATION_{key.upper()}", getattr(settings, key))
    get_settings.cache_clear()
    yield settings
    get_settings.cache_clear()


def test_progress_and_rates(env_db, session: Session, field_wave, make_user) -> None:
    from participation.accounts.roles import Role

    interviewer = make_user("iv_cli", Role.INTERVIEWER).id
    case = service.claim_next(session, interviewer, TZ, now=MORNING)
    service.record_outcome(session, case, interviewer, "2.11", TZ, now=MORNING)
    session.commit()
    case = service.claim_next(session, interviewer, TZ, now=MORNING)
    service.save_answers(session, case, interviewer, ANSWERS, TZ, now=MORNING)
    service.save_answers(
        session, case, interviewer, {}, TZ, complete=True, now=MORNING + timedelta(minutes=4)
    )
    session.commit()
    wave = field_wave.wave_id

    result = CliRunner().invoke(cli, ["fieldwork", "progress", str(wave), "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert len(rows) == 4 and sum(r["completes"] for r in rows) == 1
    assert all(r["target"] == 10 for r in rows)

    result = CliRunner().invoke(cli, ["fieldwork", "rates", str(wave), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    expected = service.wave_rates(session, wave)
    assert payload["e"] == pytest.approx(expected.e)
    assert payload["rows"][0]["counts"]["I"] == 1 and payload["rows"][0]["counts"]["R"] == 1
    assert payload["rows"][0]["rates"]["RR1"] == pytest.approx(expected.overall.rates["RR1"])

    by_interviewer = CliRunner().invoke(
        cli, ["fieldwork", "rates", str(wave), "--by", "interviewer"]
    )
    assert by_interviewer.exit_code == 0 and "iv_cli" in by_interviewer.output
    table = CliRunner().invoke(cli, ["fieldwork", "progress", str(wave)])
    assert table.exit_code == 0 and "completes" in table.output


def test_unknown_wave_is_an_error_line(env_db) -> None:
    for command in ("progress", "rates"):
        result = CliRunner().invoke(cli, ["fieldwork", command, "999"])
        assert result.exit_code != 0
        assert "Wave 999 does not exist" in result.output
