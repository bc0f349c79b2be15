"""Assessments from wave results in the database, imports, schemes and bulletins."""

import io
from datetime import date

import pytest
from openpyxl import Workbook
from sqlmodel import select

from participation.core.errors import ConflictError, ForbiddenError, ServiceError
from participation.scoring import service
from participation.scoring.models import ImportedValue, SchemeVersion
from tests.scoring.helpers import EXPECTED


def test_assessment_from_database_matches_hand_calculation(session, scheme_version):
    a = service.assess(session, scheme_version.id, "2026", date(2026, 1, 1), date(2026, 12, 31))
    session.commit()
    streets = {u["code"]: u for u in a.results["streets"]}
    assert {c: round(u["score"], 6) for c, u in streets.items()} == pytest.approx(EXPECTED)
    counties = {u["code"]: u for u in a.results["counties"]}
    assert counties["990101"]["score"] == pytest.approx((83.8 + 93.4 + 70.8) / 3)
    assert counties["990102"]["score"] == pytest.approx((63.8 + 88.4 + 77.0) / 3)
    assert counties["990101"]["grade"] == "good" and counties["990102"]["grade"] == "pass"
    lists = a.results["lists"]
    assert lists["street_talks"] == ["990101003", "990102001"]
    assert lists["street_plausible_talks"] == ["990102003"]
    assert lists["county_talks"] == ["990102"]
    assert lists["street_criticism"] == ["990102003", "990101003", "990102001"]
    assert a.scheme_version_id == scheme_version.id
    assert set(a.inputs) == {"provincial", "city"} and len(a.inputs["city"]["waves"]) == 2


def test_only_waves_within_the_period_count(session, scheme_version):
    a = service.assess(session, scheme_version.id, "Jan–Feb", date(2026, 1, 1), date(2026, 2, 28))
    streets = {u["code"]: u for u in a.results["streets"]}
    # Only city wave 1: the provincial survey ends in June, so city alone carries the weight.
    assert streets["990101001"]["score"] == pytest.approx(80.0)
    assert streets["990101001"]["coverage"] == pytest.approx(0.4)
    with pytest.raises(ServiceError, match="No data"):
        service.assess(session, scheme_version.id, "none", date(2025, 1, 1), date(2025, 12, 31))


def test_escalation_uses_earlier_assessments(session, scheme_version):
    service.assess(session, scheme_version.id, "Jan–Feb", date(2026, 1, 1), date(2026, 2, 28))
    a = service.assess(session, scheme_version.id, "Mar–Apr", date(2026, 3, 1), date(2026, 4, 30))
    # Defaults: bottom 3 for 2 consecutive periods; city waves alone rank the same both times.
    assert a.results["lists"]["street_escalated"] == ["990102003", "990101003", "990102001"]


def test_versions_are_immutable_and_numbered(session, scheme_version):
    config = dict(scheme_version.config)
    config["unit_aggregation"] = "population"
    v2 = service.add_version(session, scheme_version.scheme_id, config, note="按人口加权")
    session.commit()
    assert v2.version == 2 and v2.id != scheme_version.id
    assert session.get(SchemeVersion, scheme_version.id).config["unit_aggregation"] == "mean"
    assert service.default_version(session).id == v2.id
    with pytest.raises(ServiceError, match="components"):
        service.add_version(session, scheme_version.scheme_id, {"components": []})
    with pytest.raises(ConflictError):
        service.create_scheme(session, code="test", name="x", config=config)


def test_import_values_csv_and_xlsx_all_or_nothing(session, mini_city):
    csv_text = "unit_code,period,value\n990101001,2026-01,92.5\n990101002,2026,88\n"
    summary = service.import_values(session, "case_closure", csv_text)
    session.commit()
    assert (summary.rows, summary.created, summary.updated) == (2, 2, 0)
    bad = "unit_code,period,value\n990101001,2026-02,90\n990101002,2026-13,88\n"
    with pytest.raises(ServiceError) as err:
        service.import_values(session, "case_closure", bad)
    assert err.value.line == 3 and err.value.field == "period"
    session.rollback()
    assert len(session.exec(select(ImportedValue)).all()) == 2
    with pytest.raises(ServiceError) as err:
        service.import_values(session, "case_closure", "unit_code,period,value\n999,2026,1\n")
    assert err.value.line == 2 and err.value.field == "unit_code"
    with pytest.raises(ServiceError) as err:
        service.import_values(session, "case_closure", "unit_code,period,value\n990101001,2026,x\n")
    assert err.value.field == "value"
    with pytest.raises(ServiceError) as err:
        service.import_values(session, "case_closure", "unit,period,value\n")
    assert err.value.field == "unit_code"
    book = Workbook()
    sheet = book.active
    sheet.append(["unit_code", "period", "value"])
    sheet.append(["990101001", "2026-01", 95])
    sheet.append(["990102001", "2026-01", 70])
    buf = io.BytesIO()
    book.save(buf)
    summary = service.import_values(session, "case_closure", buf.getvalue(), "v.xlsx")
    assert (summary.created, summary.updated) == (1, 1)


def test_imported_component_enters_the_assessment(session, mini_city):
    config = {
        "components": [
            {
                "key": "closure",
                "label_zh": "结案率",
                "kind": "imported",
                "indicator": "closure",
                "weight": 1,
                "normalisation": {"method": "target", "target": 95},
            },
        ]
    }
    version = service.create_scheme(session, code="closure", name="结案率", config=config)
    service.import_values(
        session, "closure", "unit_code,period,value\n990101001,2026-01,76\n990101001,2026-02,95\n"
    )
    a = service.assess(session, version.id, "2026", date(2026, 1, 1), date(2026, 12, 31))
    (street,) = a.results["streets"]
    assert street["score"] == pytest.approx((76 + 95) / 2 / 95 * 100)


def test_bulletin_workflow(session, scheme_version, make_user):
    from participation.accounts.roles import Role

    a = service.assess(session, scheme_version.id, "2026", date(2026, 1, 1), date(2026, 12, 31))
    city = make_user("city", Role.OFFICIAL, "9901")
    county = make_user("county", Role.OFFICIAL, "990101")
    b = service.create_bulletin(session, a.id, "2026年度通报")
    assert b.status == "draft"
    with pytest.raises(ConflictError):
        service.publish_bulletin(session, b.id, city.role, city.unit_code)
    with pytest.raises(ForbiddenError):
        service.approve_bulletin(session, b.id, county.id, county.role, county.unit_code)
    service.approve_bulletin(session, b.id, city.id, city.role, city.unit_code)
    service.publish_bulletin(session, b.id, city.role, city.unit_code)
    assert b.status == "published" and b.published_at is not None
    assert [x.id for x in service.list_bulletins(session)] == [b.id]
    rows = service.export_rows(a.results, lambda m: m)
    assert rows[0][0] == "Level" and len(rows) == 1 + 2 + 6
