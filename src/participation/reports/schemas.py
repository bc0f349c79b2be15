"""Request and response shapes of the reports JSON API and of Open311 GeoReport v2."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class CategoryOut(BaseModel):
    """A reportable category with its published tariff (yuan by severity)."""

    code: str
    name: str
    name_zh: str
    severities: list[str]
    tariff: dict[str, int]


class TariffOut(BaseModel):
    """The published tariff and the rules around it."""

    categories: list[CategoryOut]
    major_threshold: int = Field(description="Rewards above this need a second officer")
    monthly_cap: int = Field(description="Most one reporter is awarded per calendar month")


class TariffEntryIn(BaseModel):
    """A new published amount for a category at a severity."""

    category_code: str
    severity: str
    amount: int = Field(ge=0, le=1_000_000)


class FacilityOut(BaseModel):
    """A facility with its service code and the URL its QR code opens."""

    id: int
    code: str
    kind: str
    name: str
    lat: float
    lon: float
    street_code: str | None
    categories: list[str]
    url: str


class FacilityIn(BaseModel):
    """A new facility."""

    code: str = Field(min_length=3, max_length=32)
    kind: str
    name: str = ""
    lat: float
    lon: float
    street_code: str | None = None
    categories: list[str] | None = None


class ReportSummary(BaseModel):
    """A report in lists (no reporter data)."""

    id: int
    tracking_code: str
    category_code: str
    status: str
    severity: str | None
    street_code: str | None
    street_name: str
    created_at: datetime
    duplicate_of_id: int | None
    has_contact: bool


class VerificationOut(BaseModel):
    """One verification."""

    outcome: str
    severity: str | None
    duplicate_of_id: int | None
    note: str
    official_id: int
    created_at: datetime


class RewardOut(BaseModel):
    """The reward of a report."""

    id: int
    status: str
    amount: int
    tariff_amount: int
    major: bool
    month: str
    approved_by: int
    approved_at: datetime
    second_by: int | None
    second_at: datetime | None
    paid_at: datetime | None = None


class ContactOut(BaseModel):
    """The reporter's contact: masked, plus the plain values for reward officers (audited)."""

    phone_masked: str
    name_masked: str
    phone: str | None = None
    name: str | None = None


class ReportDetail(ReportSummary):
    """A report with its verification history, duplicates, photos and reward."""

    description: str
    lat: float | None
    lon: float | None
    address: str
    facility_code: str | None
    source: str
    duplicate_auto: bool
    duplicates: list[int]
    photos: list[str] = Field(description="URLs under /media/ (access-checked)")
    verifications: list[VerificationOut]
    reward: RewardOut | None
    contact: ContactOut | None = Field(
        default=None, description="Masked for everyone but reward officers"
    )
    reward_eligible: bool
    reward_note: str


class TriageIn(BaseModel):
    """Triage: the severity, optionally a corrected category or street."""

    severity: str
    category_code: str | None = None
    street_code: str | None = None


class VerifyIn(BaseModel):
    """A verification: ``true`` (属实), ``false`` (不属实) or ``duplicate`` (重复)."""

    outcome: str
    severity: str | None = None
    duplicate_of: str | None = Field(
        default=None, description="Report number or tracking code of the earlier report"
    )
    note: str = ""


class PayIn(BaseModel):
    """A payment of an approved reward."""

    reference: str = ""


class PayoutOut(BaseModel):
    """A recorded payment."""

    reward_id: int
    amount: int
    reference: str
    paid_at: datetime


class LedgerRowOut(BaseModel):
    """A reward in the payout ledger (phone masked)."""

    reward_id: int
    report_id: int
    tracking_code: str
    category_code: str
    severity: str
    amount: int
    status: str
    month: str
    approved_by: str
    second_by: str
    paid_by: str
    paid_at: datetime | None
    reference: str
    phone_masked: str


class StaffPhoneIn(BaseModel):
    """A staff phone to exclude from rewards."""

    phone: str
    label: str = ""
    user_id: int | None = None


class StaffPhoneOut(BaseModel):
    """A registered staff phone (masked; only its keyed hash is stored)."""

    id: int
    phone_masked: str
    label: str
    user_id: int | None
    created_at: datetime


class TrackOut(BaseModel):
    """What a tracking code reveals: the report's progress and its reward, nothing personal."""

    tracking_code: str
    category: str
    status: str
    outcome: str | None
    created_at: datetime
    reward_status: str | None
    reward_amount: int | None
