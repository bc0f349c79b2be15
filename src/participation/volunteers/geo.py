"""Which street a point lies in, from the GeoJSON boundaries of ``unit_boundary``.

Pure Python ray casting (even–odd rule) over Polygon and MultiPolygon rings, holes included,
with a bounding-box test first. Coordinates are GeoJSON order: longitude, latitude.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from participation.geography.models import Level, Unit, UnitBoundary

Ring = Sequence[Sequence[float]]


def point_in_ring(lon: float, lat: float, ring: Ring) -> bool:
    """Even–odd ray casting: True when (lon, lat) is inside the closed ring."""
    inside = False
    n = len(ring)
    if n < 3:
        return False
    j = n - 1
    for i in range(n):
        xi, yi = float(ring[i][0]), float(ring[i][1])
        xj, yj = float(ring[j][0]), float(ring[j][1])
        if (yi > lat) != (yj > lat):
            x_cross = xi + (lat - yi) * (xj - xi) / (yj - yi)
            if lon < x_cross:
                inside = not inside
        j = i
    return inside


def point_in_polygon(lon: float, lat: float, polygon: Sequence[Ring]) -> bool:
    """Inside the outer ring and outside every hole."""
    if not polygon or not point_in_ring(lon, lat, polygon[0]):
        return False
    return not any(point_in_ring(lon, lat, hole) for hole in polygon[1:])


def polygons_of(geometry: dict) -> list[Sequence[Ring]]:
    """The polygons of a GeoJSON Polygon or MultiPolygon (other types: none)."""
    kind = geometry.get("type")
    if kind == "Polygon":
        return [geometry.get("coordinates") or []]
    if kind == "MultiPolygon":
        return list(geometry.get("coordinates") or [])
    if kind == "Feature":
        return polygons_of(geometry.get("geometry") or {})
    return []


@dataclass(frozen=True)
class Shape:
    """A street's parsed boundary with its bounding box."""

    code: str
    polygons: list[Sequence[Ring]]
    bbox: tuple[float, float, float, float]

    def contains(self, lon: float, lat: float) -> bool:
        """True when the point is inside the boundary."""
        x0, y0, x1, y1 = self.bbox
        if not (x0 <= lon <= x1 and y0 <= lat <= y1):
            return False
        return any(point_in_polygon(lon, lat, p) for p in self.polygons)


def _shape(code: str, text: str) -> Shape | None:
    try:
        polygons = polygons_of(json.loads(text))
    except (ValueError, TypeError, AttributeError):
        return None
    xs = [float(pt[0]) for poly in polygons for ring in poly[:1] for pt in ring]
    ys = [float(pt[1]) for poly in polygons for ring in poly[:1] for pt in ring]
    if not xs:
        return None
    return Shape(code, polygons, (min(xs), min(ys), max(xs), max(ys)))


def street_shapes(session: Session) -> list[Shape]:
    """The loaded boundaries of streets (empty when none is loaded)."""
    rows = session.exec(
        select(UnitBoundary.unit_code, UnitBoundary.geometry)
        .join(Unit, col(Unit.code) == col(UnitBoundary.unit_code))
        .where(Unit.level == Level.STREET.value)
        .order_by(col(UnitBoundary.unit_code))
    ).all()
    shapes = [_shape(code, text) for code, text in rows]
    return [s for s in shapes if s is not None]


def street_at(session: Session, lat: float, lon: float) -> tuple[str | None, bool]:
    """(street code containing the point or None, whether any street boundary is loaded)."""
    shapes = street_shapes(session)
    for shape in shapes:
        if shape.contains(lon, lat):
            return shape.code, True
    return None, bool(shapes)


@dataclass(frozen=True)
class MapPath:
    """A street outline projected for an SVG map."""

    code: str
    d: str


@dataclass(frozen=True)
class PinMap:
    """Street outlines in SVG user units, with the geographic box they cover.

    Equirectangular projection scaled by cos(latitude) at the box's middle, which is accurate
    enough for picking a point within a county.
    """

    width: int
    height: int
    bbox: tuple[float, float, float, float]
    paths: list[MapPath]

    def project(self, lon: float, lat: float) -> tuple[float, float]:
        """SVG coordinates of a point."""
        x0, y0, x1, y1 = self.bbox
        return (
            round((lon - x0) / (x1 - x0) * self.width, 2),
            round((y1 - lat) / (y1 - y0) * self.height, 2),
        )


def pin_map(shapes: Sequence[Shape], width: int = 320) -> PinMap | None:
    """An SVG map of ``shapes`` (None without shapes)."""
    if not shapes:
        return None
    x0 = min(s.bbox[0] for s in shapes)
    y0 = min(s.bbox[1] for s in shapes)
    x1 = max(s.bbox[2] for s in shapes)
    y1 = max(s.bbox[3] for s in shapes)
    if x1 <= x0 or y1 <= y0:
        return None
    pad_x, pad_y = (x1 - x0) * 0.03, (y1 - y0) * 0.03
    x0, x1, y0, y1 = x0 - pad_x, x1 + pad_x, y0 - pad_y, y1 + pad_y
    aspect = (y1 - y0) / ((x1 - x0) * math.cos(math.radians((y0 + y1) / 2)))
    height = max(80, min(4 * width, round(width * aspect)))
    frame = PinMap(width, height, (x0, y0, x1, y1), [])
    paths: list[MapPath] = []
    for shape in shapes:
        parts: list[str] = []
        for polygon in shape.polygons:
            for ring in polygon:
                points = [frame.project(float(p[0]), float(p[1])) for p in ring]
                if len(points) < 3:
                    continue
                parts.append("M" + " L".join(f"{x:g} {y:g}" for x, y in points) + " Z")
        paths.append(MapPath(shape.code, " ".join(parts)))
    return PinMap(width, height, (x0, y0, x1, y1), paths)
