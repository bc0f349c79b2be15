"""`participation volunteers rates|category|standard` on the command line."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from participation.cli import cli
from participation.settings import get_settings
from participation.volunteers import service
from tests.media.images import png_bytes
from tests.volunteers.conftest import STREET


@pytest.fixture
def env_db(settings, monkeypatch):
    monkeypatch.setenv("PARTICIPATION_DATABASE_URL", settings.database_url)
    for key in ("secret_key", "data_keys", "hash_key"):
        monkeypatch.setenv(f"PARTICIPATION_{key.upper()}", getattr(settings, key))
    monkeypatch.setenv("PARTICIPATION_UPLOAD_DIR", str(settings.upload_dir))
    get_settings.cache_clear()
    yield settings
    get_settings.cache_clear()


def test_rates_category_and_standard(env_db, world, session, tmp_path):
    v = world.volunteer_user
    visit = service.start_visit(session, v)
    results = {i["code"]: "pass" for i in world.standard.items} | {"B1": "fail"}
    service.update_visit(session, v, visit.id, street_code=STREET, results=results)
    service.add_finding(session, v, visit.id, category="", item_code="B1", description="违建")
    _, [problem] = service.submit_visit(session, v, visit.id)
    service.transition(session, env_db, world.street_official, problem.id, "assign")
    service.transition(
        session, env_db, world.street_official, problem.id, "rectify", photo_data=png_bytes()
    )
    session.commit()
    session.close()

    result = CliRunner().invoke(cli, ["volunteers", "rates", "--json"])
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.output)
    assert row["street_code"] == STREET and row["rate"] == 1.0 and row["name"] == "银雀山街道"

    result = CliRunner().invoke(
        cli, ["volunteers", "category", "greening", "--name", "绿化管护", "--days", "10"]
    )
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(
        cli, ["volunteers", "category", "Bad Code", "--name", "x", "--days", "3"]
    )
    assert result.exit_code != 0 and "code" in result.output

    spec = tmp_path / "std.json"
    spec.write_text(
        json.dumps(
            {
                "name": "公厕检查",
                "items": [
                    {"code": "T1", "text": "地面干净", "points": 10, "category": "exposed_garbage"}
                ],
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["volunteers", "standard", str(spec)])
    assert result.exit_code == 0 and "1 items" in result.output
    spec.write_text(json.dumps({"name": "空", "items": []}), encoding="utf-8")
    result = CliRunner().invoke(cli, ["volunteers", "standard", str(spec)])
    assert result.exit_code != 0 and "at least one item" in result.output
