"""The reports demo (facilities, reports in every state, duplicates, paid rewards) and the
``participation reports codes`` command."""

from __future__ import annotations

import numpy as np
from click.testing import CliRunner
from sqlmodel import Session, select

from participation.accounts.roles import Role
from participation.cli import cli
from participation.demo import DemoContext
from participation.reports import demo, service
from participation.reports.models import Facility, Payout, Report, Reward, Status
from participation.settings import get_settings


def _accounts(make_user) -> None:
    make_user("yinqueshan", Role.OFFICIAL, "371302002")
    make_user("lanshan", Role.OFFICIAL, "371302")
    make_user("reward", Role.REWARD_OFFICER)
    make_user("reward2", Role.REWARD_OFFICER)


def test_demo_has_reports_in_every_state(session: Session, settings, linyi, make_user) -> None:
    _accounts(make_user)
    messages: list[str] = []
    ctx = DemoContext(rng=np.random.default_rng(2026), settings=settings, echo=messages.append)
    demo.build_demo(session, ctx)
    session.commit()
    statuses = {r.status for r in session.exec(select(Report)).all()}
    assert statuses == {s.value for s in Status}
    reports = session.exec(select(Report)).all()
    assert any(r.duplicate_auto for r in reports) and any(
        r.duplicate_of_id and not r.duplicate_auto for r in reports
    )
    rewards = session.exec(select(Reward)).all()
    assert {r.status for r in rewards} == {"awaiting_second", "approved", "paid"}
    assert len(session.exec(select(Payout)).all()) == sum(r.status == "paid" for r in rewards)
    problems = [r.problem_id for r in rewards]
    assert len(problems) == len(set(problems))
    assert any(r.major and r.second_by for r in rewards)
    assert len(session.exec(select(Facility)).all()) == 36
    assert "reports:" in messages[-1]


def test_codes_command_writes_png_svg_and_a_sheet(
    session, settings, catalogue, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("PARTICIPATION_DATABASE_URL", settings.database_url)
    for key in ("secret_key", "data_keys", "hash_key"):
        monkeypatch.setenv(f"PARTICIPATION_{key.upper()}", getattr(settings, key))
    monkeypatch.setenv("PARTICIPATION_PUBLIC_BASE_URL", "https://12319.linyi.example")
    get_settings.cache_clear()
    try:
        out = tmp_path / "codes"
        result = CliRunner().invoke(cli, ["reports", "codes", "--out", str(out)])
        assert result.exit_code == 0, result.output
        names = sorted(p.name for p in out.iterdir())
        assert "BIN-0001.png" in names and "WC-0001.svg" in names and "sheet.svg" in names
        assert (out / "BIN-0001.png").read_bytes().startswith(b"\x89PNG")
        only_bins = CliRunner().invoke(
            cli,
            ["reports", "codes", "--out", str(tmp_path / "b"), "--kind", "bin", "--format", "png"],
        )
        assert only_bins.exit_code == 0
        assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["BIN-0001.png", "sheet.svg"]
        bad = CliRunner().invoke(cli, ["reports", "codes", "--out", str(out), "--kind", "boat"])
        assert bad.exit_code != 0 and "unknown kind" in bad.output
        again = CliRunner().invoke(cli, ["reports", "catalogue"])
        assert again.exit_code == 0 and "0 categories added" in again.output
    finally:
        get_settings.cache_clear()
    assert service.get_facility(session, "BIN-0001").kind == "bin"
