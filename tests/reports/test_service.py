"""Reward-for-report services: duplicates by distance and time, first valid report earns,
tariff, monthly cap, staff exclusion, four eyes, payouts, privacy at rest."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import select

from participation.accounts.roles import Role
from participation.core.crypto import Vault
from participation.core.errors import ConflictError, ForbiddenError, NotFoundError, ServiceError
from participation.core.maintenance import apply_retention, encrypted_columns
from participation.core.timeutil import utcnow
from participation.geography.models import UnitBoundary
from participation.reports import service
from participation.reports.models import Report, Reward, RewardStatus, Status
from tests.reports.conftest import BIN_LAT, BIN_LON, PHONE, PHONE2, STREET, file


@pytest.fixture
def people(make_user):
    return {
        "official": make_user("yq", Role.OFFICIAL, STREET),
        "reward": make_user("reward", Role.REWARD_OFFICER),
        "reward2": make_user("reward2", Role.REWARD_OFFICER),
    }


def _metres_north(m: float) -> float:
    return BIN_LAT + m / 111_195.0


def test_filing_encrypts_the_contact_and_gives_an_unguessable_code(session, settings, catalogue):
    report = file(session, settings, phone=PHONE, name="张三")
    assert len(report.tracking_code) == 10
    assert set(report.tracking_code) <= set(service.CODE_ALPHABET)
    assert PHONE not in (report.reporter_phone_enc or "")
    vault = Vault(settings)
    assert vault.decrypt(report.reporter_phone_enc) == "+8613812345678"
    assert vault.decrypt(report.reporter_name_enc) == "张三"
    assert report.reporter_hash == vault.keyed_hash("+8613812345678")
    # A typed code is forgiving: lower case, dashes, spaces.
    typed = service.format_tracking_code(report.tracking_code).lower().replace("-", " - ")
    assert service.by_tracking_code(session, typed).id == report.id
    with pytest.raises(NotFoundError) as err:
        service.by_tracking_code(session, "AAAAA-AAAAA")
    assert err.value.field == "code"


def test_bad_input_names_the_field(session, settings, catalogue):
    cases = [
        ({"category_code": "nope"}, "category"),
        ({"phone": "12345"}, "phone"),
        ({"lat": 95.0}, "lat"),
        ({"lat": None, "lon": None, "street_code": ""}, "street_code"),
        ({"street_code": "999999999", "lat": None, "lon": None}, "street_code"),
        ({"description": "", "facility_code": ""}, "description"),
        ({"facility_code": "NOPE-1"}, "facility"),
    ]
    for kw, field in cases:
        with pytest.raises(ServiceError) as err:
            file(session, settings, **kw)
        assert err.value.field == field, kw
        session.rollback()


def test_a_facility_fills_location_street_and_likely_categories(session, settings, catalogue):
    report = file(
        session,
        settings,
        category_code="overflowing_bin",
        facility_code="BIN-0001",
        lat=None,
        lon=None,
        street_code="",
        description="",
    )
    assert (report.lat, report.lon) == (BIN_LAT, BIN_LON)
    assert report.street_code == STREET and report.street_source == "facility"
    assert catalogue["bin"].categories[0] == "overflowing_bin"


def test_the_street_is_resolved_from_loaded_boundaries(session, settings, catalogue):
    d = 0.01
    square = [
        [BIN_LON - d, BIN_LAT - d],
        [BIN_LON + d, BIN_LAT - d],
        [BIN_LON + d, BIN_LAT + d],
        [BIN_LON - d, BIN_LAT + d],
        [BIN_LON - d, BIN_LAT - d],
    ]
    session.add(
        UnitBoundary(
            unit_code=STREET, geometry=json.dumps({"type": "Polygon", "coordinates": [square]})
        )
    )
    session.commit()
    report = file(session, settings, street_code="")
    assert report.street_code == STREET and report.street_source == "boundary"
    assert service.street_at(session, BIN_LAT + 0.5, BIN_LON) is None


def test_duplicates_by_distance_category_and_time(session, settings, catalogue):
    t0 = utcnow() - timedelta(hours=1)
    first = file(session, settings, now=t0)
    near = file(session, settings, lat=_metres_north(150), now=t0 + timedelta(minutes=10))
    assert near.status == Status.DUPLICATE.value and near.duplicate_auto
    assert near.duplicate_of_id == first.id
    far = file(session, settings, lat=_metres_north(-260), now=t0 + timedelta(minutes=11))
    assert far.status == Status.NEW.value and far.duplicate_of_id is None
    other_kind = file(
        session, settings, category_code="street_vending", now=t0 + timedelta(minutes=12)
    )
    assert other_kind.duplicate_of_id is None
    later = file(session, settings, now=t0 + timedelta(hours=73))
    assert later.duplicate_of_id is None
    # A duplicate of a duplicate links to the first report of the problem.
    chain = file(session, settings, lat=_metres_north(120), now=t0 + timedelta(minutes=20))
    assert chain.duplicate_of_id == first.id
    assert [r.id for r in service.problem_reports(session, near)] == [first.id, near.id, chain.id]


def test_rejected_reports_are_not_duplicate_targets(session, settings, catalogue, people):
    first = file(session, settings)
    service.verify(session, first, people["official"].id, "false")
    session.commit()
    again = file(session, settings, lat=_metres_north(30))
    assert again.status == Status.NEW.value


def test_settings_change_the_duplicate_window(session, settings, catalogue):
    tight = settings.model_copy(update={"report_duplicate_metres": 50.0})
    file(session, tight)
    second = file(session, tight, lat=_metres_north(80))
    assert second.duplicate_of_id is None


def _confirm(session, report, official_id, severity="minor"):
    service.verify(session, report, official_id, "true", severity=severity)
    session.commit()


def test_only_the_first_valid_report_earns(session, settings, catalogue, people):
    t0 = utcnow() - timedelta(minutes=30)
    first = file(session, settings, phone=PHONE, now=t0)
    dup = file(
        session, settings, phone=PHONE2, lat=_metres_north(40), now=t0 + timedelta(minutes=10)
    )
    assert dup.duplicate_of_id == first.id
    _confirm(session, first, people["official"].id)
    reward = service.approve_reward(session, settings, first.id, people["reward"].id)
    session.commit()
    assert reward.amount == 20 and reward.status == RewardStatus.APPROVED.value
    check = service.eligibility(session, settings, dup)
    assert not check.eligible
    with pytest.raises(ServiceError) as err:
        service.approve_reward(session, settings, dup.id, people["reward"].id)
    assert err.value.status_code == 409
    session.rollback()
    # Even when an official later calls the duplicate true, the problem is already rewarded.
    _confirm(session, dup, people["official"].id)
    assert not service.eligibility(session, settings, dup).eligible


def test_a_later_report_earns_when_the_first_was_not_true(session, settings, catalogue, people):
    t0 = utcnow() - timedelta(minutes=30)
    first = file(session, settings, phone=PHONE, now=t0)
    dup = file(
        session, settings, phone=PHONE2, lat=_metres_north(40), now=t0 + timedelta(minutes=5)
    )
    service.verify(session, first, people["official"].id, "false")
    _confirm(session, dup, people["official"].id)
    assert service.eligibility(session, settings, dup).eligible


def test_no_phone_no_reward_and_staff_are_excluded(session, settings, catalogue, people):
    anonymous = file(session, settings)
    _confirm(session, anonymous, people["official"].id)
    assert not service.eligibility(session, settings, anonymous).eligible
    service.add_staff_phone(session, settings, "138 1234 5678", label="城管队员")
    session.commit()
    staff = file(session, settings, category_code="street_vending", phone=PHONE)
    _confirm(session, staff, people["official"].id)
    check = service.eligibility(session, settings, staff)
    assert not check.eligible and "staff" in check.reason
    with pytest.raises(ConflictError):
        service.add_staff_phone(session, settings, "+8613812345678")


def test_tariff_and_monthly_cap(session, settings, catalogue, people):
    capped = settings.model_copy(update={"report_monthly_cap": 250})
    a = file(session, capped, category_code="illegal_construction", phone=PHONE)
    _confirm(session, a, people["official"].id, "serious")
    first = service.approve_reward(session, capped, a.id, people["reward"].id)
    session.commit()
    assert (first.tariff_amount, first.amount) == (300, 250)
    b = file(session, capped, category_code="street_vending", phone=PHONE, lat=_metres_north(900))
    _confirm(session, b, people["official"].id)
    check = service.eligibility(session, capped, b)
    assert not check.eligible and check.params == {"cap": 250}
    # Another reporter is not affected; next month the cap starts afresh.
    c = file(
        session, capped, category_code="street_lamp_out", phone=PHONE2, lat=_metres_north(1900)
    )
    _confirm(session, c, people["official"].id)
    assert service.eligibility(session, capped, c).amount == 10
    next_month = utcnow() + timedelta(days=32)
    assert service.eligibility(session, capped, b, next_month).amount == 20


def test_major_rewards_need_a_second_different_officer(session, settings, catalogue, people):
    report = file(session, settings, category_code="illegal_construction", phone=PHONE)
    _confirm(session, report, people["official"].id, "major")
    reward = service.approve_reward(session, settings, report.id, people["reward"].id)
    session.commit()
    assert reward.major and reward.amount == 1000
    assert reward.status == RewardStatus.AWAITING_SECOND.value
    with pytest.raises(ConflictError):
        service.pay_reward(session, reward.id, people["reward"].id)
    session.rollback()
    with pytest.raises(ForbiddenError):
        service.approve_reward(session, settings, report.id, people["reward"].id)
    session.rollback()
    done = service.approve_reward(session, settings, report.id, people["reward2"].id)
    session.commit()
    assert done.status == RewardStatus.APPROVED.value and done.second_by == people["reward2"].id
    with pytest.raises(ConflictError):
        service.approve_reward(session, settings, report.id, people["reward2"].id)
    session.rollback()
    payout = service.pay_reward(session, reward.id, people["reward"].id, reference="T-1")
    session.commit()
    assert payout.amount == 1000
    with pytest.raises(ConflictError):
        service.pay_reward(session, reward.id, people["reward2"].id)


def test_verification_is_frozen_once_rewarded(session, settings, catalogue, people):
    report = file(session, settings, phone=PHONE)
    _confirm(session, report, people["official"].id)
    service.approve_reward(session, settings, report.id, people["reward"].id)
    session.commit()
    with pytest.raises(ConflictError):
        service.verify(session, report, people["official"].id, "false")


def test_link_by_hand_moves_the_duplicates_along(session, settings, catalogue, people):
    t0 = utcnow() - timedelta(hours=2)
    a = file(session, settings, now=t0)
    a_dup = file(session, settings, lat=_metres_north(50), now=t0 + timedelta(minutes=5))
    far = file(session, settings, lat=_metres_north(5000), now=t0 - timedelta(minutes=5))
    service.verify(session, a, people["official"].id, "duplicate", duplicate_of=far.tracking_code)
    session.commit()
    session.refresh(a_dup)
    assert a.duplicate_of_id == far.id and a_dup.duplicate_of_id == far.id
    with pytest.raises(ServiceError) as err:
        service.verify(session, far, people["official"].id, "duplicate", duplicate_of=str(a.id))
    assert err.value.field == "duplicate_of"


def test_retention_and_rotation_cover_the_reporter_contact(session, settings, catalogue, engine):
    assert ("report", "reporter_phone_enc") in {(t.name, c) for t, c in encrypted_columns()}
    assert ("report", "reporter_name_enc") in {(t.name, c) for t, c in encrypted_columns()}
    old = file(session, settings, phone=PHONE, name="李四", now=utcnow() - timedelta(days=400))
    new = file(session, settings, phone=PHONE2, category_code="street_vending")
    result = apply_retention(engine, 365)
    assert result.cleared["report"] == 1
    session.expire_all()
    old_row, new_row = session.get(Report, old.id), session.get(Report, new.id)
    assert old_row.reporter_phone_enc is None and old_row.reporter_hash is None
    assert old_row.reporter_name_enc is None and old_row.category_code == "exposed_garbage"
    assert new_row.reporter_phone_enc is not None


def test_scope_of_officials(session, settings, catalogue, make_user):
    here = file(session, settings)
    there = file(session, settings, category_code="toilet_unclean", facility_code="WC-0001")
    official = make_user("street", Role.OFFICIAL, STREET)
    assert service.report_for(session, official, here.id).id == here.id
    with pytest.raises(ForbiddenError):
        service.report_for(session, official, there.id)
    assert {r.id for r in service.list_reports(session, official)} == {here.id}
    county = make_user("county", Role.OFFICIAL, "371302")
    assert {r.id for r in service.list_reports(session, county)} == {here.id, there.id}
    assert session.exec(select(Reward)).all() == []


def test_key_rotation_reencrypts_the_reporter_contact(session, settings, catalogue, engine):
    from cryptography.fernet import Fernet

    from participation.core.maintenance import rotate_keys

    report = file(session, settings, phone=PHONE, name="孙八")
    new_key = Fernet.generate_key().decode()
    rotated = settings.model_copy(update={"data_keys": f"{new_key},{settings.data_keys}"})
    counts = rotate_keys(engine, Vault(rotated))
    assert counts["report.reporter_phone_enc"] == 1 and counts["report.reporter_name_enc"] == 1
    only_new = Vault(settings.model_copy(update={"data_keys": new_key}))
    session.expire_all()
    row = session.get(Report, report.id)
    assert only_new.decrypt(row.reporter_phone_enc) == "+8613812345678"
    assert only_new.decrypt(row.reporter_name_enc) == "孙八"


def test_retention_clears_the_reporter_hash_of_old_rewards(
    session, settings, catalogue, people, engine
):
    report = file(session, settings, phone=PHONE, now=utcnow() - timedelta(days=400))
    _confirm(session, report, people["official"].id)
    reward = service.approve_reward(
        session, settings, report.id, people["reward"].id, now=utcnow() - timedelta(days=399)
    )
    session.commit()
    result = apply_retention(engine, 365)
    assert result.cleared["report_reward"] == 1
    session.expire_all()
    row = session.get(Reward, reward.id)
    assert row.reporter_hash is None and row.amount == 20 and row.month
