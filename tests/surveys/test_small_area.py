"""Model-based (Fay–Herriot) street estimates of a wave: service and CLI, labelled as such."""

import json
from datetime import date

import numpy as np
import pytest
from click.testing import CliRunner
from sqlmodel import select

from participation.analysis import sae
from participation.cli import cli
from participation.core.errors import ServiceError
from participation.geography.models import Unit
from participation.settings import get_settings
from participation.surveys.models import Wave, WaveResult
from participation.surveys.small_area import model_based_streets


@pytest.fixture
def waves(session, linyi):
    """Two closed bimonthly city waves with direct street estimates of varying precision."""
    rng = np.random.default_rng(3)
    streets = session.exec(select(Unit).where(Unit.level == "street").order_by(Unit.code)).all()
    county_effect = {c: rng.normal(0, 4) for c in {s.parent_code for s in streets}}
    truth = {s.code: 76 + county_effect[s.parent_code] + rng.normal(0, 2.5) for s in streets}
    ids = []
    for k, (start, end) in enumerate(((date(2026, 1, 1), date(2026, 2, 28)),
                                      (date(2026, 3, 1), date(2026, 4, 30)))):  # fmt: skip
        wave = Wave(name=f"w{k}", source="city", period_start=start, period_end=end,
                    status="closed")  # fmt: skip
        session.add(wave)
        session.flush()
        ids.append(wave.id)
        for s in streets:
            n = int(rng.choice([6, 10, 25, 50, 80]))
            se = 16 / np.sqrt(n)
            mean = float(truth[s.code] + rng.normal(0, se))
            session.add(
                WaveResult(wave_id=wave.id, unit_code=s.code, level="street", n=n, mean=mean,
                           se=float(se))
            )  # fmt: skip
    session.commit()
    return ids


def test_model_based_streets_are_fay_herriot_eblups_labelled_as_such(session, waves):
    before = {
        r.unit_code: (r.mean, r.se)
        for r in session.exec(select(WaveResult).where(WaveResult.wave_id == waves[1]))
    }
    result = model_based_streets(session, waves[1])
    assert result["method"] == "fay-herriot-eblup" and result["model_based"] is True
    assert result["label"].startswith("model-based")
    assert result["history_waves"] == [waves[0]]
    assert result["covariates"][0] == "(intercept)" and "previous_mean" in result["covariates"]
    assert any(c.startswith("group[") for c in result["covariates"])
    streets = result["streets"]
    assert len(streets) == len(before) and all(s["model_based"] for s in streets)
    # The same fit straight from the engine.
    codes = [s["unit_code"] for s in streets]
    units = {u.code: u for u in session.exec(select(Unit))}
    earlier = {
        r.unit_code: [r.mean]
        for r in session.exec(select(WaveResult).where(WaveResult.wave_id == waves[0]))
    }
    x, names = sae.design_matrix(
        len(codes),
        groups=[units[c].parent_code for c in codes],
        history=[earlier[c] for c in codes],
    )
    fit = sae.fay_herriot([before[c][0] for c in codes], [before[c][1] ** 2 for c in codes], x)
    assert names == result["covariates"]
    assert [s["estimate"] for s in streets] == pytest.approx(list(fit.estimate), rel=1e-12)
    assert [s["rmse"] for s in streets] == pytest.approx(list(fit.rmse), rel=1e-12)
    # Borrowing strength: smaller MSE than the direct variance; noisier streets shrink more.
    assert all(s["rmse"] < s["direct_se"] for s in streets)
    by_se = sorted(streets, key=lambda s: s["direct_se"])
    assert by_se[0]["shrinkage_weight"] >= by_se[-1]["shrinkage_weight"]
    # The stored direct estimates are untouched.
    after = {
        r.unit_code: (r.mean, r.se)
        for r in session.exec(select(WaveResult).where(WaveResult.wave_id == waves[1]))
    }
    assert after == before


def test_bad_requests_name_the_field(session, waves):
    with pytest.raises(ServiceError) as err:
        model_based_streets(session, waves[1], method="EB")
    assert err.value.field == "method"
    lone = Wave(name="lone", source="city", period_start=date(2026, 5, 1),
                period_end=date(2026, 6, 30), status="closed")  # fmt: skip
    session.add(lone)
    session.flush()
    session.add(WaveResult(wave_id=lone.id, unit_code=next(iter(
        session.exec(select(Unit.code).where(Unit.level == "street")))), level="street", n=9,
        mean=70.0, se=5.0))  # fmt: skip
    session.commit()
    with pytest.raises(ServiceError) as err:
        model_based_streets(session, lone.id)
    assert err.value.field == "wave_id"


@pytest.fixture
def env_db(settings, monkeypatch):
    monkeypatch.setenv("PARTICIPATION_DATABASE_URL", settings.database_url)
    for key in ("secret_key", "data_keys", "hash_key"):
        monkeypatch.setenv(f"PARTICIPATION_{key.upper()}", getattr(settings, key))
    get_settings.cache_clear()
    yield settings
    get_settings.cache_clear()


def test_cli_prints_model_based_estimates(env_db, waves, tmp_path):
    result = CliRunner().invoke(
        cli, ["waves", "small-area", str(waves[1]), "--method", "FH", "--no-history"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["method"] == "fay-herriot-eblup" and data["variance_method"] == "FH"
    assert data["history_waves"] == [] and "previous_mean" not in data["covariates"]
    out = tmp_path / "fh.json"
    result = CliRunner().invoke(cli, ["waves", "small-area", str(waves[1]), "--out", str(out)])
    assert result.exit_code == 0 and "model-based estimates" in result.output
    assert json.loads(out.read_text(encoding="utf-8"))["model_based"] is True
    missing = CliRunner().invoke(cli, ["waves", "small-area", "99999"])
    assert missing.exit_code != 0


def test_results_api_gives_model_based_streets_on_request(session, waves, client_as):
    from participation.accounts.roles import Role

    admin = client_as(Role.ADMINISTRATOR)
    url = f"/api/surveys/waves/{waves[1]}/results"
    direct = admin.get(url).json()
    assert direct and not any(r["model_based"] for r in direct)
    modelled = admin.get(url, params={"model": "fh"}).json()
    assert [r["unit_code"] for r in modelled] == [r["unit_code"] for r in direct]
    expected = {s["unit_code"]: s for s in model_based_streets(session, waves[1])["streets"]}
    for row in modelled:
        s = expected[row["unit_code"]]
        assert row["model_based"] and row["method"].startswith("fay-herriot-eblup (REML")
        assert row["mean"] == pytest.approx(s["estimate"]) and row["se"] == pytest.approx(s["rmse"])
        assert row["p_satisfied"] is None and row["dimensions"] == {}
    bad = admin.get(url, params={"model": "xyz"})
    assert bad.status_code == 400 and bad.json()["field"] == "model"
    # An official sees only their county's streets, model-based too.
    county = next(iter(session.exec(select(Unit.code).where(Unit.level == "county"))))
    mine = client_as(Role.OFFICIAL, county).get(url, params={"model": "fh"}).json()
    assert mine and {r["unit_code"] for r in mine} <= {
        u.code for u in session.exec(select(Unit)) if u.code == county or u.parent_code == county
    }
