"""Request and response models of the surveys API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field


class QuestionnaireOut(BaseModel):
    """A questionnaire version (without its definition)."""

    id: int
    code: str
    version: int
    title_zh: str
    title_en: str
    locked: bool
    items: int
    created_at: datetime


class QuestionnaireDetail(QuestionnaireOut):
    """A questionnaire version with its definition."""

    definition: dict[str, Any]


class DefinitionIn(BaseModel):
    """A questionnaire definition (JSON; see ``participation.surveys.questionnaire``)."""

    definition: dict[str, Any]


class WaveIn(BaseModel):
    """A new wave."""

    name: str = Field(max_length=120)
    questionnaire_id: int | None = None
    source: str = "city"
    period_start: date
    period_end: date
    field_start: date | None = None
    field_end: date | None = None
    modes: list[str] = Field(default_factory=lambda: ["phone", "web"])
    target_per_street: int = Field(default=40, ge=0, le=10000)


class WaveForm(BaseModel):
    """The new-wave HTML form."""

    name: str = ""
    questionnaire_id: str = ""
    source: str = "city"
    period_start: str = ""
    period_end: str = ""
    field_start: str = ""
    field_end: str = ""
    modes: list[str] | str = Field(default_factory=list)
    target_per_street: str = "40"


class WaveOut(BaseModel):
    """A wave."""

    id: int
    name: str
    source: str
    questionnaire_id: int | None
    period_start: date
    period_end: date
    field_start: date | None
    field_end: date | None
    modes: list[str]
    status: str
    target_per_street: int
    allocation_method: str | None
    sample_total: int | None


class StatusIn(BaseModel):
    """A wave status change."""

    status: str


class AllocationIn(BaseModel):
    """Allocation parameters (see ``participation.surveys.allocation.plan_allocation``)."""

    method: str = "equal"
    per_street: int | None = Field(default=None, ge=0, le=10000)
    total: int | None = Field(default=None, ge=0)
    sd: float = Field(default=20.0, gt=0)
    target_moe: float | None = Field(default=None, gt=0)
    p: float = Field(default=0.5, gt=0, lt=1)
    deff: float = Field(default=1.5, ge=1)
    minimum: int = Field(default=0, ge=0)
    mobile_share: float = Field(default=0.6, ge=0, le=1)


class AllocationRow(BaseModel):
    """The allocation of one street with its expected margins of error."""

    street_code: str
    street_name: str
    population: int
    n: int
    mobile: int
    landline: int
    moe_mean: float | None
    moe_proportion: float | None


class AllocationOut(BaseModel):
    """A wave's allocation."""

    method: str
    total: int
    rows: list[AllocationRow]


class FrameImportOut(BaseModel):
    """The report of a frame import."""

    imported: int
    duplicates: int
    do_not_call: int
    invalid: list[dict[str, Any]]


class SelectIn(BaseModel):
    """Sample selection options."""

    seed: int | None = None
    replicates: int = Field(default=4, ge=1, le=50)
    oversample: float = Field(default=2.0, ge=1, le=20)
    exclude_recent: int | None = Field(default=None, ge=0, le=24)


class SelectOut(BaseModel):
    """The report of a selection."""

    seed: int
    selected: int
    replicates: int
    short: dict[str, int]


class ReleaseIn(BaseModel):
    """The replicate to release."""

    replicate: int = Field(ge=1)


class CountOut(BaseModel):
    """How many rows an action touched."""

    count: int


class ResultOut(BaseModel):
    """A wave's estimate for one unit."""

    unit_code: str
    unit_name: str
    level: str
    n: int
    mean: float | None
    se: float | None
    ci_low: float | None
    ci_high: float | None
    p_satisfied: float | None
    p_se: float | None
    p_ci_low: float | None
    p_ci_high: float | None
    dimensions: dict[str, Any]
    method: str
    model_based: bool = Field(
        default=False,
        description="A model-based estimate (e.g. Fay–Herriot EBLUP), not a direct survey one",
    )
