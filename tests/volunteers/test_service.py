"""Volunteers services: registration and approval, assignments, visits (own only, until
submitted), findings become problems, the problem state machine, rates for scoring."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlmodel import select

from participation.accounts.models import User
from participation.core.errors import ConflictError, ForbiddenError, ServiceError
from participation.core.timeutil import utcnow
from participation.geography.models import UnitBoundary
from participation.media import service as media
from participation.volunteers import service
from participation.volunteers.geo import point_in_polygon
from participation.volunteers.models import Problem, ProblemEvent
from tests.media.images import png_bytes
from tests.volunteers.conftest import FAR_STREET, OTHER_STREET, STREET, add_volunteer


def all_pass(world, **override):
    results = {i["code"]: "pass" for i in world.standard.items}
    results.update(override)
    return results


def logged_visit(session, settings, world, *, fail="C1", street=STREET):
    """A draft visit with a complete checklist, one failed item and its finding (with photo)."""
    v = world.volunteer_user
    visit = service.start_visit(session, v, standard_id=world.standard.id)
    service.update_visit(
        session, v, visit.id, street_code=street, results=all_pass(world, **{fail: "fail"})
    )
    photo = service.store_finding_photo(session, settings, v, visit.id, png_bytes())
    service.add_finding(
        session,
        v,
        visit.id,
        category="",
        item_code=fail,
        description="垃圾堆在路边",
        photo_keys=[photo.key],
    )
    session.commit()
    return visit


# ---------------------------------------------------------------- registration


def test_application_and_approval_create_a_volunteer_account(session, settings, world):
    v = service.apply(
        session,
        settings,
        name="王芳",
        phone="139 0000 0002",
        street_code=STREET,
        username="wangfang",
        password="secret-123",
    )
    session.commit()
    assert v.status == "applied" and v.user_id is None and v.phone_enc != "13900000002"
    assert service.masked_phone(settings, v).startswith("139") and "*" in service.masked_phone(
        settings, v
    )
    with pytest.raises(ForbiddenError):
        service.decide(session, world.other_official, v.id, approve=True)
    service.decide(session, world.street_official, v.id, approve=True)
    session.commit()
    user = session.get(User, v.user_id)
    assert user.role == "volunteer" and user.unit_code == STREET and user.active
    from participation.accounts.service import authenticate

    assert authenticate(session, "wangfang", "secret-123") is not None
    with pytest.raises(ConflictError):
        service.decide(session, world.street_official, v.id, approve=True)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": ""}, "name"),
        ({"phone": "12345"}, "phone"),
        ({"street_code": "371302"}, "street_code"),
        ({"street_code": "999"}, "street_code"),
        ({"username": "a b"}, "username"),
        ({"username": "vol1"}, "username"),
        ({"password": "short"}, "password"),
        ({"phone": "13800000001"}, "phone"),
    ],
)
def test_bad_applications_name_the_field(session, settings, world, kwargs, field):
    data = {
        "name": "李雷",
        "phone": "13700000003",
        "street_code": STREET,
        "username": "lilei",
        "password": "secret-123",
    }
    data.update(kwargs)
    with pytest.raises(ServiceError) as info:
        service.apply(session, settings, **data)
    assert info.value.field == field


def test_rejection_and_deactivation(session, settings, world):
    v = service.apply(
        session,
        settings,
        name="张三",
        phone="13700000004",
        street_code=STREET,
        username="zhangsan",
        password="secret-123",
    )
    service.decide(session, world.county_official, v.id, approve=False)
    assert v.status == "rejected" and v.user_id is None
    service.deactivate(session, world.street_official, world.volunteer.id, "vol1")
    session.commit()
    assert session.get(User, world.volunteer.user_id).active is False
    with pytest.raises(ForbiddenError):
        service.start_visit(session, world.volunteer_user)


def test_teams_and_assignments_respect_scope(session, world):
    team = service.create_team(session, world.street_official, "银雀山检查一组", STREET)
    service.set_team(session, world.street_official, world.volunteer.id, team.id)
    with pytest.raises(ForbiddenError):
        service.create_team(session, world.street_official, "x", OTHER_STREET)
    today = date.today()
    a = service.create_assignment(
        session,
        world.street_official,
        unit_code=STREET,
        period_start=today,
        period_end=today + timedelta(days=30),
        team_id=team.id,
        standard_id=world.standard.id,
    )
    assert [x.id for x in service.assignments_of(session, world.volunteer, today)] == [a.id]
    with pytest.raises(ServiceError) as info:
        service.create_assignment(
            session,
            world.street_official,
            unit_code=STREET,
            period_start=today,
            period_end=today - timedelta(days=1),
            team_id=team.id,
        )
    assert info.value.field == "period_end"
    with pytest.raises(ForbiddenError):
        service.create_assignment(
            session,
            world.other_official,
            unit_code=STREET,
            period_start=today,
            period_end=today,
            volunteer_id=world.volunteer.id,
        )
    visit = service.start_visit(session, world.volunteer_user, assignment_id=a.id)
    assert visit.street_code == STREET and visit.street_source == "chosen"


def test_standard_items_are_validated(session, world):
    with pytest.raises(ServiceError, match="unknown category") as info:
        service.create_standard(
            session, "x", [{"code": "A", "text": "t", "points": 5, "category": "nope"}]
        )
    assert info.value.field == "items"
    with pytest.raises(ServiceError, match="points"):
        service.create_standard(
            session, "x", [{"code": "A", "text": "t", "points": 0, "category": "greening"}]
        )


# ---------------------------------------------------------------- visits


def test_only_the_owner_edits_and_only_until_submitted(session, settings, world):
    visit = logged_visit(session, settings, world)
    _, other = add_volunteer(session, settings, world.street_official, "vol2", "13800000002")
    with pytest.raises(ForbiddenError):
        service.update_visit(session, other, visit.id, notes="mine now")
    with pytest.raises(ForbiddenError):
        service.readable_visit(session, other, visit.id)
    with pytest.raises(ForbiddenError):
        service.update_visit(session, world.street_official, visit.id, notes="x")
    service.submit_visit(session, world.volunteer_user, visit.id)
    session.commit()
    with pytest.raises(ConflictError) as info:
        service.update_visit(session, world.volunteer_user, visit.id, notes="later")
    assert info.value.field == "status"
    assert service.readable_visit(session, world.street_official, visit.id).id == visit.id
    with pytest.raises(ForbiddenError):
        service.readable_visit(session, world.other_official, visit.id)


def test_submission_needs_complete_checklist_street_and_findings(session, settings, world):
    v = world.volunteer_user
    visit = service.start_visit(session, v)
    with pytest.raises(ServiceError) as info:
        service.submit_visit(session, v, visit.id)
    assert info.value.field.startswith("result_")
    service.update_visit(session, v, visit.id, results=all_pass(world, C1="fail"))
    with pytest.raises(ServiceError) as info:
        service.submit_visit(session, v, visit.id)
    assert info.value.field == "street_code"
    service.update_visit(session, v, visit.id, street_code=STREET)
    with pytest.raises(ServiceError) as info:
        service.submit_visit(session, v, visit.id)
    assert info.value.field == "findings"
    with pytest.raises(ServiceError) as info:
        service.update_visit(session, v, visit.id, results={"C1": "maybe"})
    assert info.value.field == "result_C1"
    with pytest.raises(ServiceError) as info:
        service.update_visit(session, v, visit.id, lat=95.0, lon=118.0)
    assert info.value.field == "lat"


def test_submitted_finding_becomes_a_problem_with_category_deadline(session, settings, world):
    visit = logged_visit(session, settings, world)
    start = utcnow()
    visit, problems = service.submit_visit(session, world.volunteer_user, visit.id)
    session.commit()
    assert visit.status == "submitted" and visit.points == 15 and visit.hours >= 0.25
    assert visit.score == pytest.approx(100 * (65 - 10) / 65, abs=0.1)
    [problem] = problems
    assert problem.street_code == STREET and problem.status == "open"
    assert problem.category == "exposed_garbage"  # from the checklist item
    days = (problem.deadline - start).total_seconds() / 86400
    assert 0.99 < days < 1.01  # exposed garbage: 1 day
    [event] = service.events_of(session, problem.id)
    assert event.action == "create" and event.user_id == world.volunteer_user.id
    t = service.totals(session, [world.volunteer.id])[world.volunteer.id]
    assert (t.visits, t.findings, t.points) == (1, 1, 15)


def test_street_is_resolved_from_loaded_boundaries(session, settings, world):
    square = {
        "type": "Polygon",
        "coordinates": [[[118, 35], [118.1, 35], [118.1, 35.1], [118, 35.1], [118, 35]]],
    }
    other = {
        "type": "MultiPolygon",
        "coordinates": [[[[119, 35], [119.1, 35], [119.1, 35.1], [119, 35]]]],
    }
    session.add(UnitBoundary(unit_code=STREET, geometry=json.dumps(square)))
    session.add(UnitBoundary(unit_code=FAR_STREET, geometry=json.dumps(other)))
    session.commit()
    v = world.volunteer_user
    visit = service.start_visit(session, v)
    service.update_visit(session, v, visit.id, lat=35.05, lon=118.05, location_source="gps")
    assert (visit.street_code, visit.street_source) == (STREET, "boundary")
    service.update_visit(session, v, visit.id, lat=35.01, lon=119.08)
    assert visit.street_code == FAR_STREET
    service.update_visit(session, v, visit.id, lat=30.0, lon=100.0, street_code=OTHER_STREET)
    assert (visit.street_code, visit.street_source) == (OTHER_STREET, "chosen")


def test_point_in_polygon_with_a_hole():
    outer = [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]
    hole = [[4, 4], [6, 4], [6, 6], [4, 6], [4, 4]]
    assert point_in_polygon(1, 1, [outer, hole])
    assert not point_in_polygon(5, 5, [outer, hole])
    assert not point_in_polygon(11, 5, [outer, hole])


# ---------------------------------------------------------------- problems


def submitted_problem(session, settings, world, **kw):
    visit = logged_visit(session, settings, world, **kw)
    _, problems = service.submit_visit(session, world.volunteer_user, visit.id)
    session.commit()
    return problems[0]


def test_problem_state_machine(session, settings, world):
    p = submitted_problem(session, settings, world)
    so = world.street_official
    with pytest.raises(ConflictError) as info:
        service.transition(session, settings, so, p.id, "verify")
    assert info.value.field == "action"
    with pytest.raises(ServiceError) as info:
        service.transition(session, settings, so, p.id, "explode")
    assert info.value.field == "action"
    service.transition(session, settings, so, p.id, "assign", note="城管中队处理")
    with pytest.raises(ServiceError) as info:
        service.transition(session, settings, so, p.id, "rectify")
    assert info.value.field == "photo"
    service.transition(session, settings, so, p.id, "rectify", photo_data=png_bytes())
    with pytest.raises(ServiceError) as info:
        service.transition(session, settings, world.county_official, p.id, "reopen")
    assert info.value.field == "note"
    service.transition(session, settings, world.county_official, p.id, "reopen", note="仍有垃圾")
    assert p.status == "reopened" and p.rectified_at is None and p.reopen_count == 1
    service.transition(session, settings, so, p.id, "rectify", photo_data=png_bytes())
    service.transition(session, settings, world.county_official, p.id, "verify")
    session.commit()
    events = service.events_of(session, p.id)
    assert [(e.action, e.from_status, e.to_status) for e in events] == [
        ("create", "", "open"),
        ("assign", "open", "assigned"),
        ("rectify", "assigned", "rectified"),
        ("reopen", "rectified", "reopened"),
        ("rectify", "reopened", "rectified"),
        ("verify", "rectified", "verified"),
    ]
    assert all(e.at is not None for e in events)
    assert events[-1].user_id == world.county_official.id
    proofs = service.proof_photos(session, [e.id for e in events if e.action == "rectify"])
    assert sum(len(v) for v in proofs.values()) == 2


def test_problems_outside_scope_are_refused(session, settings, world):
    p = submitted_problem(session, settings, world)
    with pytest.raises(ForbiddenError):
        service.transition(session, settings, world.other_official, p.id, "assign")
    with pytest.raises(ForbiddenError):
        service.problem_in_scope(session, world.other_official, p.id)
    with pytest.raises(ForbiddenError):
        service.transition(session, settings, world.volunteer_user, p.id, "assign")
    assert [x.id for x in service.problems_in_scope(session, world.county_official)] == [p.id]
    assert service.problems_in_scope(session, world.other_official) == []
    assert [x.id for x in service.problems_in_scope(session, world.volunteer_user)] == [p.id]


def test_overdue_problems_are_flagged(session, settings, world):
    p = submitted_problem(session, settings, world)
    assert not service.is_overdue(p)
    p.deadline = utcnow() - timedelta(hours=1)
    session.add(p)
    session.commit()
    assert service.is_overdue(p)
    assert [x.id for x in service.problems_in_scope(session, world.admin, overdue=True)] == [p.id]


def test_rectification_rates_change_with_rectification(session, settings, world):
    p1 = submitted_problem(session, settings, world)
    p2 = submitted_problem(session, settings, world, fail="O1")
    today = date.today()
    period = (today - timedelta(days=1), today + timedelta(days=1))
    row = service.rectification_rates(session, *period)[STREET]
    assert (row.total, row.rectified, row.rate, row.on_time_rate) == (2, 0, 0.0, None)
    so = world.street_official
    service.transition(session, settings, so, p1.id, "assign")
    service.transition(session, settings, so, p1.id, "rectify", photo_data=png_bytes())
    session.commit()
    row = service.rectification_rates(session, *period)[STREET]
    assert (row.rectified, row.rate, row.on_time, row.on_time_rate) == (1, 0.5, 1, 1.0)
    p2.deadline = utcnow() - timedelta(hours=1)
    session.add(p2)
    session.commit()
    row = service.rectification_rates(session, *period)[STREET]
    assert (row.overdue, row.due, row.on_time_rate) == (1, 2, 0.5)
    named = service.rectification_rates(session, *period, street_codes=[STREET, OTHER_STREET])
    assert named[OTHER_STREET].total == 0 and named[OTHER_STREET].rate is None
    assert (
        service.rectification_rates(session, today + timedelta(days=5), today + timedelta(days=9))
        == {}
    )
    assert STREET in service.inspection_scores(session, *period)


def test_scoring_reads_the_rates_through_its_platform_source(session, settings, world):
    from participation.scoring.service import _platform_figures

    p = submitted_problem(session, settings, world)
    service.transition(session, settings, world.street_official, p.id, "assign")
    service.transition(
        session, settings, world.street_official, p.id, "rectify", photo_data=png_bytes()
    )
    session.commit()
    start, end = date.today() - timedelta(days=1), date.today() + timedelta(days=1)
    figures = _platform_figures(session, "rectification_rate", start, end)
    assert figures[STREET] == 100.0
    assert _platform_figures(session, "rectification_on_time", start, end)[STREET] == 100.0
    assert 0 <= _platform_figures(session, "inspection", start, end)[STREET] <= 100


def test_photo_access_follows_visit_and_problem_scope(session, settings, world):
    p = submitted_problem(session, settings, world)
    finding_id = p.finding_id
    [photo] = service.finding_photos(session, [finding_id])[finding_id]
    _, other_vol = add_volunteer(session, settings, world.street_official, "vol3", "13800000003")
    assert media.may_view(session, world.volunteer_user, photo)
    assert media.may_view(session, world.street_official, photo)
    assert media.may_view(session, world.county_official, photo)
    assert not media.may_view(session, world.other_official, photo)
    assert not media.may_view(session, other_vol, photo)
    assert not media.may_view(session, None, photo)
    service.transition(session, settings, world.street_official, p.id, "assign")
    service.transition(
        session, settings, world.street_official, p.id, "rectify", photo_data=png_bytes()
    )
    session.commit()
    event = session.exec(select(ProblemEvent).where(ProblemEvent.action == "rectify")).one()
    [proof] = service.proof_photos(session, [event.id])[event.id]
    assert media.may_view(session, world.volunteer_user, proof)
    assert media.may_view(session, world.county_official, proof)
    assert not media.may_view(session, world.other_official, proof)
    assert session.exec(select(Problem)).one().status == "rectified"
