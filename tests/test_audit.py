"""The audit log: written in the caller's transaction, append-only, readable by administrators."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from participation.accounts.roles import Role
from participation.core.audit import record
from participation.core.models import AuditEntry
from participation.core.web import CurrentUser


def test_audit_log_is_append_only(session):
    actor = CurrentUser(1, "officer", "Officer", "reward_officer", None)
    record(
        session,
        actor=actor,
        action="view_reporter_phone",
        subject_type="report",
        subject_id=7,
        reason="pay reward",
    )
    session.commit()
    entry = session.exec(select(AuditEntry)).one()
    assert (entry.actor_name, entry.action, entry.subject_id) == (
        "officer",
        "view_reporter_phone",
        "7",
    )
    with pytest.raises(DBAPIError, match="append-only"):
        session.exec(text("UPDATE audit_log SET reason = 'x'"))  # type: ignore[call-overload]
    session.rollback()
    with pytest.raises(DBAPIError, match="append-only"):
        session.exec(text("DELETE FROM audit_log"))  # type: ignore[call-overload]
    session.rollback()
    assert session.exec(select(AuditEntry)).one().reason == "pay reward"


def test_administrators_read_the_audit_log(session, client_as):
    record(
        session, actor=None, action="export_payouts", subject_type="ledger", subject_id="2026-11"
    )
    session.commit()
    admin = client_as(Role.ADMINISTRATOR)
    entries = admin.get("/api/audit").json()
    assert entries[0]["action"] == "export_payouts"
    assert "export_payouts" in admin.get("/admin/audit").text
    assert client_as(Role.SUPERVISOR).get("/api/audit").status_code == 403
