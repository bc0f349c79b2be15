"""Tables of the scoring domain: schemes and their immutable versions, imported indicator
values, computed assessments and bulletins (通报)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from participation.core.i18n import N_
from participation.core.timeutil import utcnow


class BulletinStatus(StrEnum):
    """Life cycle of a bulletin: draft → approved → published."""

    DRAFT = "draft"
    APPROVED = "approved"
    PUBLISHED = "published"


STATUS_LABELS: dict[str, str] = {
    BulletinStatus.DRAFT.value: N_("draft"),
    BulletinStatus.APPROVED.value: N_("approved"),
    BulletinStatus.PUBLISHED.value: N_("published"),
}


class Scheme(SQLModel, table=True):
    """An assessment scheme (考核方案); its rules live in its versions."""

    __tablename__ = "scoring_scheme"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True, index=True)
    name: str = Field(max_length=120)
    name_en: str = Field(default="", max_length=160)
    created_at: datetime = Field(default_factory=utcnow)


class SchemeVersion(SQLModel, table=True):
    """One immutable version of a scheme: its validated configuration (see ``config.py``)."""

    __tablename__ = "scoring_scheme_version"
    __table_args__ = (UniqueConstraint("scheme_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    scheme_id: int = Field(foreign_key="scoring_scheme.id", index=True)
    version: int = Field(ge=1)
    config: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    note: str = Field(default="", max_length=300)
    created_by: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow)


class ImportedValue(SQLModel, table=True):
    """A value of an imported indicator for one unit and period (e.g. case closure rate)."""

    __tablename__ = "scoring_imported_value"
    __table_args__ = (UniqueConstraint("indicator", "unit_code", "period"),)

    id: int | None = Field(default=None, primary_key=True)
    indicator: str = Field(max_length=40, index=True)
    unit_code: str = Field(foreign_key="unit.code", max_length=12, index=True)
    period: str = Field(max_length=7, description="YYYY (year) or YYYY-MM (month)")
    value: float
    imported_at: datetime = Field(default_factory=utcnow)


class Assessment(SQLModel, table=True):
    """A computed assessment of a period under one scheme version (results as JSON)."""

    __tablename__ = "scoring_assessment"

    id: int | None = Field(default=None, primary_key=True)
    scheme_version_id: int = Field(foreign_key="scoring_scheme_version.id", index=True)
    label: str = Field(max_length=80)
    period_start: date
    period_end: date = Field(index=True)
    inputs: dict[str, Any] = Field(
        default_factory=dict,
        sa_column=Column(JSON, nullable=False),
        description="What went in: wave ids per source, imported indicators",
    )
    results: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    computed_by: int | None = Field(default=None, foreign_key="user_account.id")
    computed_at: datetime = Field(default_factory=utcnow)


class Bulletin(SQLModel, table=True):
    """A bulletin (通报) of an assessment: draft → approved → published."""

    __tablename__ = "scoring_bulletin"

    id: int | None = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="scoring_assessment.id", index=True)
    title: str = Field(max_length=200)
    title_en: str = Field(default="", max_length=200)
    note: str = Field(default="", max_length=2000)
    status: str = Field(default=BulletinStatus.DRAFT.value, max_length=12, index=True)
    created_by: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow)
    approved_by: int | None = Field(default=None, foreign_key="user_account.id")
    approved_at: datetime | None = None
    published_at: datetime | None = Field(default=None, index=True)
