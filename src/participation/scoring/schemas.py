"""Request and response shapes of the scoring API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field


class VersionOut(BaseModel):
    """A scheme version."""

    id: int
    scheme_id: int
    version: int
    config: dict[str, Any] = Field(description="Validated scheme configuration")
    note: str = ""
    created_at: datetime


class SchemeOut(BaseModel):
    """A scheme with its latest version."""

    id: int
    code: str
    name: str
    name_en: str = ""
    latest: VersionOut


class SchemeIn(BaseModel):
    """A new scheme and its first version's configuration."""

    code: str = Field(pattern=r"^[a-z0-9_-]{1,40}$")
    name: str = Field(min_length=1, max_length=120)
    name_en: str = Field(default="", max_length=160)
    config: dict[str, Any]


class VersionIn(BaseModel):
    """A new version of a scheme."""

    config: dict[str, Any]
    note: str = Field(default="", max_length=300)


class AssessmentIn(BaseModel):
    """Compute the assessment of a period."""

    scheme_version_id: int
    label: str = Field(default="", max_length=80)
    period_start: date
    period_end: date


class AssessmentOut(BaseModel):
    """A stored assessment (summary, or with its full results)."""

    id: int
    scheme_version_id: int
    label: str
    period_start: date
    period_end: date
    computed_at: datetime
    inputs: dict[str, Any]
    results: dict[str, Any] | None = Field(
        default=None, description="Per-unit scores, CIs, ranks, grades, lists and method"
    )


class ValuesImportResult(BaseModel):
    """What an indicator import did."""

    rows: int
    created: int
    updated: int


class BulletinOut(BaseModel):
    """A bulletin."""

    id: int
    assessment_id: int
    title: str
    title_en: str = ""
    status: str
    published_at: datetime | None = None
