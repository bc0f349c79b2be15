"""The append-only audit log of personal-data reads and sensitive actions."""

from __future__ import annotations

from typing import Protocol

from sqlmodel import Session

from participation.core.models import AuditEntry


class Actor(Protocol):
    """Anything with the identity of the person acting."""

    id: int
    username: str
    role: str


def record(
    session: Session,
    *,
    actor: Actor | None,
    action: str,
    subject_type: str,
    subject_id: str | int,
    reason: str = "",
    client: str = "",
) -> AuditEntry:
    """Append an audit entry (in the caller's transaction: no read without its record)."""
    entry = AuditEntry(
        actor_id=actor.id if actor else None,
        actor_name=actor.username if actor else "",
        actor_role=actor.role if actor else "",
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        reason=reason,
        client=client,
    )
    session.add(entry)
    return entry
