"""The dialer boundary: how a call is placed.

A SIP/PBX click-to-call system plugs in by implementing :class:`Dialer` and being installed
with :func:`set_dialer_factory`; the default :class:`ManualDialer` places no call and gives the
interviewer a ``tel:`` link to dial by hand (or with a softphone registered for ``tel:`` links).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from participation.core.crypto import Vault
from participation.settings import Settings
from participation.surveys.models import SampleCase


@dataclass(frozen=True, slots=True)
class DialResult:
    """What the dialer did: ``placed`` when it started the call itself; ``href`` a link the
    interviewer follows to call (``tel:`` for the manual dialer); ``display`` the number shown."""

    placed: bool
    href: str
    display: str
    message: str = ""


class Interviewer(Protocol):
    """The interviewer placing the call."""

    id: int
    username: str


class Dialer(Protocol):
    """Places a call from an interviewer to a sample case's number."""

    def dial(self, case: SampleCase, interviewer: Interviewer) -> DialResult:
        """Start (or prepare) the call to the case's number."""
        ...


class ManualDialer:
    """No telephony integration: the interviewer dials through a ``tel:`` link."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault

    def dial(self, case: SampleCase, interviewer: Interviewer) -> DialResult:
        """A ``tel:`` link to the case's number (the caller audits the plain read)."""
        number = self.vault.decrypt(case.phone_enc) if case.phone_enc else ""
        digits = "".join(ch for ch in number if ch.isdigit() or ch == "+")
        return DialResult(placed=False, href=f"tel:{digits}" if digits else "", display=number)


def _manual(settings: Settings) -> Dialer:
    return ManualDialer(Vault(settings))


_factory: Callable[[Settings], Dialer] = _manual


def get_dialer(settings: Settings) -> Dialer:
    """The configured dialer (the manual one unless another factory was installed)."""
    return _factory(settings)


def set_dialer_factory(factory: Callable[[Settings], Dialer] | None) -> None:
    """Install a dialer factory (a PBX integration, or a fake in tests); None restores manual."""
    global _factory
    _factory = factory or _manual
