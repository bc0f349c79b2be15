"""Importing units and populations: all-or-nothing, idempotent, errors naming line and field."""

import pytest
from sqlmodel import func, select

from participation.accounts.roles import Role
from participation.core.errors import ServiceError
from participation.demo import linyi_files
from participation.geography.models import PopulationCell, Unit
from participation.geography.service import import_population, import_units


def count_units(session):
    return session.exec(select(func.count()).select_from(Unit)).one()


def import_linyi(session):
    for _, data in linyi_files():
        import_units(session, data)
    session.commit()


def test_official_files_import_and_reimport_is_idempotent(session):
    import_linyi(session)
    assert count_units(session) == 1 + 13 + 156
    before = {u.code: (u.name, u.parent_code, u.level) for u in session.exec(select(Unit))}
    for _, data in linyi_files():
        summary = import_units(session, data)
        assert summary.created == 0 and summary.updated == 0
        assert summary.unchanged == summary.rows
    session.commit()
    after = {u.code: (u.name, u.parent_code, u.level) for u in session.exec(select(Unit))}
    assert before == after
    street = session.get(Unit, "371302002")
    assert street.name == "银雀山街道" and street.parent_code == "371302"
    assert street.level == "street"


def test_broken_line_rejects_the_whole_file(session):
    import_linyi(session)
    data = (
        "code,name,level,parent_code\n"
        "371302001001,兰山社区A,community,371302001\n"
        "371302001002,兰山社区B,community,371302001\n"
        "37130200100X,坏行,community,371302001\n"
    )
    with pytest.raises(ServiceError) as info:
        import_units(session, data)
    session.rollback()
    assert info.value.line == 4
    assert info.value.field == "code"
    assert count_units(session) == 170


def test_unknown_parent_is_named(session):
    with pytest.raises(ServiceError) as info:
        import_units(session, "code,name,cityCode,provinceCode\n371302,兰山区,3713,37\n")
    assert info.value.line == 2 and info.value.field == "parent_code"


def test_ragged_line_is_named(session):
    data = "code,name,provinceCode\n3713,临沂市,37\n3714,德州市\n"
    with pytest.raises(ServiceError) as info:
        import_units(session, data)
    assert info.value.line == 3


def test_population_import_sets_totals_and_rejects_bad_cells(session):
    import_linyi(session)
    good = "code,sex,age_group,population\n371302002,male,18-29,100\n371302002,female,60+,50\n"
    summary = import_population(session, good)
    session.commit()
    assert summary.created == 2
    assert session.get(Unit, "371302002").population == 150
    assert import_population(session, good).unchanged == 2
    bad = "code,sex,age_group,population\n371302002,male,18-29,120\n371302002,other,60+,5\n"
    with pytest.raises(ServiceError) as info:
        import_population(session, bad)
    session.rollback()
    assert (info.value.line, info.value.field) == (3, "sex")
    cell = session.get(PopulationCell, ("371302002", "male", "18-29"))
    assert cell.population == 100


def test_import_api_names_line_and_leaves_database_unchanged(linyi, client_as, csrf, session):
    admin = client_as(Role.ADMINISTRATOR)
    before = count_units(session)
    bad = "code,name,level,parent_code\n371302001001,A,community,371302001\n1,B,community,x\n"
    r = admin.post(
        "/api/units/import",
        files={"data": ("units.csv", bad.encode(), "text/csv")},
        headers={"x-csrftoken": csrf(admin)},
    )
    assert r.status_code == 400
    body = r.json()
    assert body["line"] == 3 and body["field"] == "code"
    assert "3" in body["detail"]
    session.expire_all()
    assert count_units(session) == before
    good = "code,name,level,parent_code\n371302001001,兰山社区,community,371302001\n"
    r = admin.post(
        "/api/units/import",
        files={"data": ("units.csv", good.encode(), "text/csv")},
        headers={"x-csrftoken": csrf(admin)},
    )
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 1
    assert admin.get("/api/units?parent=371302001").json()[0]["name"] == "兰山社区"


def test_cli_import_reports_line_and_exits_non_zero(tmp_path, settings, monkeypatch):
    from click.testing import CliRunner

    from participation.cli import cli
    from participation.settings import get_settings

    monkeypatch.setenv("PARTICIPATION_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name,provinceCode\n3713,临沂市,37\n37AB,坏,37\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["import", "units", str(bad)])
    get_settings.cache_clear()
    assert result.exit_code == 1
    assert "Line 3, field code" in result.output
