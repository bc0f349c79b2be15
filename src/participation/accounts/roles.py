"""The roles of the platform and what each may see."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A user's role.

    Residents have no account: they reach the platform by token or through public forms.
    """

    ADMINISTRATOR = "administrator"
    OFFICIAL = "official"
    SUPERVISOR = "supervisor"
    INTERVIEWER = "interviewer"
    VOLUNTEER = "volunteer"
    REWARD_OFFICER = "reward_officer"


ALL_ROLES: tuple[Role, ...] = tuple(Role)
STAFF_ROLES: tuple[Role, ...] = (
    Role.ADMINISTRATOR,
    Role.OFFICIAL,
    Role.SUPERVISOR,
    Role.INTERVIEWER,
    Role.REWARD_OFFICER,
)
