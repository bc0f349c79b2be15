"""Tables of geography: the unit tree and population per demographic cell."""

from __future__ import annotations

from enum import StrEnum

from sqlmodel import Field, SQLModel

from participation.core.i18n import N_


class Level(StrEnum):
    """Level of an administrative unit."""

    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"  # 县区/开发区
    STREET = "street"  # 街道/乡镇
    COMMUNITY = "community"  # 社区/村


LEVEL_ORDER = {
    Level.PROVINCE: 0,
    Level.CITY: 1,
    Level.COUNTY: 2,
    Level.STREET: 3,
    Level.COMMUNITY: 4,
}

SEXES = ("male", "female")

# Names shown for levels and sexes (templates translate the stored value with ``_()``).
LABELS: tuple[str, ...] = (
    N_("province"),
    N_("city"),
    N_("county"),
    N_("street"),
    N_("community"),
    N_("male"),
    N_("female"),
)
AGE_GROUPS = ("18-29", "30-44", "45-59", "60+")


class UnitBase(SQLModel):
    """Fields of an administrative unit."""

    code: str = Field(primary_key=True, max_length=12, description="Official division code")
    name: str = Field(max_length=80, description="Official Chinese name")
    name_en: str = Field(default="", max_length=120, description="English name (optional)")
    level: str = Field(max_length=16, index=True)
    parent_code: str | None = Field(
        default=None, foreign_key="unit.code", index=True, max_length=12
    )
    population: int | None = Field(default=None, ge=0, description="Adult population")


class Unit(UnitBase, table=True):
    """An administrative unit keyed by its statistical division code."""

    __tablename__ = "unit"


class PopulationCell(SQLModel, table=True):
    """Adult population of one unit in one sex × age-group cell (weighting margins)."""

    __tablename__ = "population_cell"

    unit_code: str = Field(foreign_key="unit.code", primary_key=True, max_length=12)
    sex: str = Field(primary_key=True, max_length=8)
    age_group: str = Field(primary_key=True, max_length=8)
    population: int = Field(ge=0)


class UnitBoundary(SQLModel, table=True):
    """A unit's boundary as GeoJSON geometry (optional; enables maps and point lookup)."""

    __tablename__ = "unit_boundary"

    unit_code: str = Field(foreign_key="unit.code", primary_key=True, max_length=12)
    geometry: str = Field(description="GeoJSON geometry (Polygon or MultiPolygon), as text")
