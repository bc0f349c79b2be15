"""Tables of the reports domain: reward-for-report (有奖举报) and city service codes (城市服务码).

A resident files a :class:`Report` (public form, a facility's service code, or Open311); officials
triage and verify it (:class:`Verification`: 属实 / 不属实 / 重复); a reward officer approves a
:class:`Reward` by the published :class:`TariffEntry`, a second officer countersigns rewards above
the major threshold, and the finance office pays it (:class:`Payout`, one per reward).

The reporter's phone and name are encrypted (``*_enc``, rotated by ``participation keys
rotate``); ``reporter_hash`` is their keyed hash (monthly cap, staff exclusion). All three are
cleared by retention (``__pii_retention__``).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from participation.core.i18n import N_
from participation.core.timeutil import utcnow


class Severity(StrEnum):
    """How serious a reported problem is (a tariff dimension)."""

    MINOR = "minor"
    SERIOUS = "serious"
    MAJOR = "major"


class Status(StrEnum):
    """Where a report stands."""

    NEW = "new"  # filed, not yet looked at
    TRIAGED = "triaged"  # accepted into the verification queue (severity set)
    CONFIRMED = "confirmed"  # verified 属实
    REJECTED = "rejected"  # verified 不属实
    DUPLICATE = "duplicate"  # 重复: linked to an earlier report of the same problem


class Outcome(StrEnum):
    """The verdict of a verification."""

    TRUE = "true"  # 属实
    FALSE = "false"  # 不属实
    DUPLICATE = "duplicate"  # 重复


class RewardStatus(StrEnum):
    """Where a reward stands in the payout ledger."""

    AWAITING_SECOND = "awaiting_second"  # major reward approved once, needs a second officer
    APPROVED = "approved"  # approved (by two officers when major), not yet paid
    PAID = "paid"


class FacilityKind(StrEnum):
    """Kinds of public facilities carrying a city service code."""

    STREET_LAMP = "street_lamp"
    PUBLIC_TOILET = "public_toilet"
    BILLBOARD = "billboard"
    BIN = "bin"


DISPLAY: dict[str, str] = {
    Status.NEW.value: N_("Awaiting triage"),
    Status.TRIAGED.value: N_("Awaiting verification"),
    Status.CONFIRMED.value: N_("Verified true"),
    Status.REJECTED.value: N_("Verified not true"),
    Status.DUPLICATE.value: N_("Duplicate report"),
    RewardStatus.AWAITING_SECOND.value: N_("Awaiting second approval"),
    RewardStatus.APPROVED.value: N_("Approved, not yet paid"),
    RewardStatus.PAID.value: N_("Paid out"),
    Severity.MINOR.value: N_("Minor"),
    Severity.SERIOUS.value: N_("Serious"),
    Severity.MAJOR.value: N_("Major"),
    FacilityKind.STREET_LAMP.value: N_("Street lamp"),
    FacilityKind.PUBLIC_TOILET.value: N_("Public toilet"),
    FacilityKind.BILLBOARD.value: N_("Billboard"),
    FacilityKind.BIN.value: N_("Litter bin"),
}
"""English labels (msgids) of the stored codes of statuses, severities and facility kinds."""


class Category(SQLModel, table=True):
    """A kind of violation or problem residents may report (an Open311 service)."""

    __tablename__ = "report_category"

    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=80, description="English name")
    name_zh: str = Field(max_length=80, description="Chinese name")
    description: str = Field(default="", max_length=400)
    service_group: str = Field(default="", max_length=40, description="Open311 group")
    severities: list[str] = Field(
        default_factory=list,
        sa_column=Column(JSON, nullable=False),
        description="Likely severities, most usual first",
    )
    sort_order: int = 0
    active: bool = True

    def label(self, locale: str) -> str:
        """The name in ``locale``."""
        return self.name_zh if locale == "zh_CN" else self.name


class TariffEntry(SQLModel, table=True):
    """The published reward of a category at a severity, in yuan."""

    __tablename__ = "report_tariff"

    category_code: str = Field(foreign_key="report_category.code", primary_key=True, max_length=32)
    severity: str = Field(primary_key=True, max_length=16)
    amount: int = Field(ge=0)
    published_at: datetime = Field(default_factory=utcnow)


class Facility(SQLModel, table=True):
    """A public facility with a city service code (QR) opening the report form pre-filled."""

    __tablename__ = "report_facility"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True, index=True)
    kind: str = Field(max_length=24, index=True)
    name: str = Field(default="", max_length=120)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    street_code: str | None = Field(default=None, foreign_key="unit.code", max_length=12)
    categories: list[str] = Field(
        default_factory=list,
        sa_column=Column(JSON, nullable=False),
        description="Likely category codes, most likely first",
    )
    active: bool = True


class Report(SQLModel, table=True):
    """A resident's report of a problem."""

    __tablename__ = "report"
    __pii_retention__: ClassVar[tuple[str, tuple[str, ...]]] = (
        "created_at",
        ("reporter_phone_enc", "reporter_name_enc", "reporter_hash"),
    )

    id: int | None = Field(default=None, primary_key=True)
    tracking_code: str = Field(max_length=16, unique=True, index=True)
    category_code: str = Field(foreign_key="report_category.code", max_length=32, index=True)
    description: str = Field(default="", max_length=2000)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    address: str = Field(default="", max_length=200)
    street_code: str | None = Field(
        default=None, foreign_key="unit.code", max_length=12, index=True
    )
    street_source: str = Field(
        default="", max_length=12, description='"facility", "boundary" or "chosen"'
    )
    facility_id: int | None = Field(default=None, foreign_key="report_facility.id")
    source: str = Field(default="web", max_length=12, description='"web" or "open311"')
    media_url: str = Field(default="", max_length=500, description="Link sent through Open311")
    status: str = Field(default=Status.NEW.value, max_length=16, index=True)
    severity: str | None = Field(default=None, max_length=16)
    duplicate_of_id: int | None = Field(default=None, foreign_key="report.id", index=True)
    duplicate_auto: bool = False
    reporter_phone_enc: str | None = Field(default=None, max_length=500)
    reporter_name_enc: str | None = Field(default=None, max_length=500)
    reporter_hash: str | None = Field(default=None, max_length=64, index=True)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow)
    triaged_at: datetime | None = None
    triaged_by: int | None = Field(default=None, foreign_key="user_account.id")
    verified_at: datetime | None = None

    @property
    def problem_id(self) -> int:
        """The report first filed about this problem (itself unless a duplicate)."""
        assert self.id is not None
        return self.duplicate_of_id or self.id


class Verification(SQLModel, table=True):
    """One verification of a report by an official (history kept)."""

    __tablename__ = "report_verification"

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="report.id", index=True)
    outcome: str = Field(max_length=16)
    severity: str | None = Field(default=None, max_length=16)
    duplicate_of_id: int | None = Field(default=None, foreign_key="report.id")
    note: str = Field(default="", max_length=1000)
    official_id: int = Field(foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow)


class Reward(SQLModel, table=True):
    """The reward of a report: at most one per report and one per problem (the unique
    constraints make concurrent approvals exactly-once)."""

    __tablename__ = "report_reward"
    __pii_retention__: ClassVar[tuple[str, tuple[str, ...]]] = ("approved_at", ("reporter_hash",))
    __table_args__ = (
        UniqueConstraint("report_id", name="uq_report_reward_report"),
        UniqueConstraint("problem_id", name="uq_report_reward_problem"),
    )

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="report.id")
    problem_id: int = Field(foreign_key="report.id")
    category_code: str = Field(max_length=32)
    severity: str = Field(max_length=16)
    tariff_amount: int = Field(ge=0)
    amount: int = Field(ge=0, description="Paid amount (the tariff, limited by the monthly cap)")
    month: str = Field(max_length=7, index=True, description="YYYY-MM of the first approval")
    reporter_hash: str | None = Field(
        default=None, max_length=64, index=True, description="Cleared by retention"
    )
    status: str = Field(max_length=16, index=True)
    major: bool = False
    approved_by: int = Field(foreign_key="user_account.id")
    approved_at: datetime = Field(default_factory=utcnow)
    second_by: int | None = Field(default=None, foreign_key="user_account.id")
    second_at: datetime | None = None


class Payout(SQLModel, table=True):
    """A payment of a reward by the finance office (exactly one per reward)."""

    __tablename__ = "report_payout"

    id: int | None = Field(default=None, primary_key=True)
    reward_id: int = Field(foreign_key="report_reward.id", unique=True)
    amount: int = Field(ge=0)
    reference: str = Field(default="", max_length=80, description="Transfer or voucher number")
    paid_by: int = Field(foreign_key="user_account.id")
    paid_at: datetime = Field(default_factory=utcnow)


class StaffPhone(SQLModel, table=True):
    """The keyed hash of a staff member's phone: their reports earn no reward."""

    __tablename__ = "report_staff_phone"

    id: int | None = Field(default=None, primary_key=True)
    phone_hash: str = Field(max_length=64, unique=True)
    phone_masked: str = Field(max_length=20)
    label: str = Field(default="", max_length=80)
    user_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_by: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow)
