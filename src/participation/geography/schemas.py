"""Request and response shapes of the geography API."""

from __future__ import annotations

from pydantic import BaseModel, Field


class UnitOut(BaseModel):
    """An administrative unit."""

    code: str = Field(description="Official statistical division code")
    name: str
    name_en: str = ""
    level: str = Field(description="province, city, county, street or community")
    parent_code: str | None = None
    population: int | None = Field(default=None, description="Adult population, when known")
    children: int = Field(default=0, description="Number of units directly under this one")


class PopulationCellOut(BaseModel):
    """Population of a unit in one sex × age-group cell."""

    sex: str
    age_group: str
    population: int


class UnitDetail(UnitOut):
    """A unit with its ancestors, children and population cells."""

    ancestors: list[UnitOut] = []
    units: list[UnitOut] = Field(default=[], description="Units directly under this one")
    cells: list[PopulationCellOut] = []


class ImportResult(BaseModel):
    """What an import did."""

    rows: int
    created: int
    updated: int
    unchanged: int
