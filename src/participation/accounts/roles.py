"""The roles of the platform and what each may see."""

from __future__ import annotations

from enum import StrEnum

from participation.core.i18n import N_


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


ROLE_LABELS: dict[str, str] = {
    Role.ADMINISTRATOR.value: N_("administrator"),
    Role.OFFICIAL.value: N_("official"),
    Role.SUPERVISOR.value: N_("supervisor"),
    Role.INTERVIEWER.value: N_("interviewer"),
    Role.VOLUNTEER.value: N_("volunteer"),
    Role.REWARD_OFFICER.value: N_("reward_officer"),
}
