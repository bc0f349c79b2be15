"""The configuration of an assessment scheme version (考核方案), validated by pydantic.

A scheme version's ``config`` JSON names its components and their weights, how each component is
normalised and how its periods combine, how streets combine into counties, and the rules
(grading bands, praise/criticism, talks, escalation, flags). Version rows are immutable: a
change of rule is a new version, and every stored assessment names the version it used.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from participation.core.i18n import N_

ComponentKind = Literal[
    "survey",
    "rectification_rate",
    "rectification_on_time",
    "inspection",
    "verified_reports",
    "imported",
]

GRADE_LABELS: dict[str, str] = {
    "excellent": N_("excellent"),
    "good": N_("good"),
    "pass": N_("pass"),
    "fail": N_("fail"),
}
KIND_LABELS: dict[str, str] = {
    "survey": N_("satisfaction survey"),
    "rectification_rate": N_("rectification rate"),
    "rectification_on_time": N_("on-time rectification rate"),
    "inspection": N_("volunteer inspection score"),
    "verified_reports": N_("verified reports"),
    "imported": N_("imported indicator"),
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Normalisation(_Strict):
    """How a component's raw values become 0–100 scores.

    ``as_is``: already on 0–100 (a lower-better value becomes 100 − v); ``minmax``: rescaled so
    the worst unit is 0 and the best 100 (bounds fixed by ``minimum``/``maximum`` or observed
    across the units of a level); ``target``: 100 at the target, proportionally less below it.
    """

    method: Literal["as_is", "minmax", "target"] = "as_is"
    target: float | None = Field(default=None, gt=0)
    minimum: float | None = None
    maximum: float | None = None

    @model_validator(mode="after")
    def _check(self) -> Normalisation:
        if self.method == "target" and self.target is None:
            raise ValueError("target-based normalisation needs a target")
        if self.minimum is not None and self.maximum is not None and self.maximum <= self.minimum:
            raise ValueError("maximum must be above minimum")
        return self


class PeriodCombination(_Strict):
    """How the periods of a year combine: their mean, or monthly (1 − w) + year-end w."""

    method: Literal["mean", "monthly_yearend"] = "mean"
    yearend_weight: float = Field(default=0.4, ge=0, le=1)


class ComponentConfig(_Strict):
    """One component of the composite score."""

    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    label_zh: str = Field(min_length=1, max_length=80)
    label_en: str = Field(default="", max_length=120)
    kind: ComponentKind
    source: Literal["city", "provincial", "third_party"] | None = Field(
        default=None, description="Wave source of a survey component"
    )
    metric: Literal["mean", "p_satisfied"] = Field(
        default="mean", description="Survey estimate used: mean score or share satisfied (×100)"
    )
    indicator: str | None = Field(
        default=None, max_length=40, description="Indicator code of an imported component"
    )
    weight: float = Field(gt=0)
    normalisation: Normalisation = Normalisation()
    direction: Literal["higher", "lower"] = "higher"
    periods: PeriodCombination = PeriodCombination()

    @model_validator(mode="after")
    def _check(self) -> ComponentConfig:
        if self.kind == "survey" and self.source is None:
            raise ValueError(f"survey component {self.key} needs a source")
        if self.kind == "imported" and not self.indicator:
            raise ValueError(f"imported component {self.key} needs an indicator code")
        return self


class GradeBand(_Strict):
    """A grade and the lowest composite score that earns it."""

    grade: str = Field(pattern=r"^[a-z_]{1,20}$")
    minimum: float = Field(ge=0, le=100)


class Rules(_Strict):
    """What follows from the scores."""

    grades: list[GradeBand] = Field(
        default_factory=lambda: [
            GradeBand(grade="excellent", minimum=90),
            GradeBand(grade="good", minimum=80),
            GradeBand(grade="pass", minimum=70),
        ]
    )
    lowest_grade: str = "fail"
    talks_counties: int = Field(default=3, ge=0, description="Bottom N counties summoned (约谈)")
    talks_streets: int = Field(default=15, ge=0, description="Bottom M streets summoned")
    escalation_bottom: int = Field(default=3, ge=1, description="K: bottom-K membership counts")
    escalation_periods: int = Field(default=2, ge=1, description="C consecutive periods")
    red_flags: int = Field(default=2, ge=0, description="Top units awarded a red flag")
    yellow_flags: int = Field(default=2, ge=0, description="Bottom units given a yellow flag")
    confidence: float = Field(default=0.95, gt=0.5, lt=1)

    @field_validator("grades")
    @classmethod
    def _descending(cls, bands: list[GradeBand]) -> list[GradeBand]:
        return sorted(bands, key=lambda b: -b.minimum)


class Scenario(_Strict):
    """Alternative weights for the sensitivity view (component key → weight)."""

    name: str = Field(min_length=1, max_length=60)
    weights: dict[str, float]


class SchemeConfig(_Strict):
    """A whole scheme version."""

    components: list[ComponentConfig] = Field(min_length=1)
    unit_aggregation: Literal["mean", "population"] = Field(
        default="mean", description="County = mean of its streets, or population-weighted"
    )
    rules: Rules = Rules()
    scenarios: list[Scenario] = Field(
        default_factory=list,
        description="Sensitivity scenarios; when empty: each weight ±10 points and equal weights",
    )

    @model_validator(mode="after")
    def _check(self) -> SchemeConfig:
        keys = [c.key for c in self.components]
        if len(set(keys)) != len(keys):
            raise ValueError("component keys must be unique")
        for scenario in self.scenarios:
            unknown = set(scenario.weights) - set(keys)
            if unknown:
                raise ValueError(f"scenario {scenario.name} names unknown components {unknown}")
        return self

    def weights(self) -> dict[str, float]:
        """Component weights, normalised to sum to 1."""
        total = sum(c.weight for c in self.components)
        return {c.key: c.weight / total for c in self.components}


def linyi_config() -> SchemeConfig:
    """Linyi's scheme: 60% provincial + 40% city satisfaction, county = mean of streets."""
    return SchemeConfig(
        components=[
            ComponentConfig(
                key="provincial",
                label_zh="省级满意度调查",
                label_en="Provincial satisfaction survey",
                kind="survey",
                source="provincial",
                weight=60,
            ),
            ComponentConfig(
                key="city",
                label_zh="市级满意度调查",
                label_en="City satisfaction survey",
                kind="survey",
                source="city",
                weight=40,
            ),
        ]
    )


def parse_config(data: dict[str, Any]) -> SchemeConfig:
    """Validate a config dict (raises pydantic's ValidationError)."""
    return SchemeConfig.model_validate(data)
