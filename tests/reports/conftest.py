"""Fixtures of the reports tests: the Linyi units, the default categories and tariff, a few
facilities with city service codes, and a tiny JPEG."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image
from sqlmodel import Session

from participation.reports import service
from participation.reports.models import Facility

STREET = "371302002"  # 银雀山街道
OTHER_STREET = "371302001"  # 兰山街道
BIN_LAT, BIN_LON = 35.0605, 118.3430
PHONE = "13812345678"
PHONE2 = "13987654321"


@pytest.fixture
def catalogue(session: Session, linyi: None) -> dict[str, Facility]:
    """Categories, tariff and three facilities (a bin and a lamp in 银雀山, a toilet in 兰山)."""
    service.ensure_catalogue(session)
    made = {
        "bin": service.add_facility(
            session,
            code="BIN-0001",
            kind="bin",
            lat=BIN_LAT,
            lon=BIN_LON,
            name="银雀山路垃圾桶",
            street_code=STREET,
        ),
        "lamp": service.add_facility(
            session,
            code="LAMP-0001",
            kind="street_lamp",
            lat=35.0621,
            lon=118.3452,
            name="沂蒙路路灯",
            street_code=STREET,
        ),
        "toilet": service.add_facility(
            session,
            code="WC-0001",
            kind="public_toilet",
            lat=35.1042,
            lon=118.3561,
            name="兰山公厕",
            street_code=OTHER_STREET,
        ),
    }
    session.commit()
    return made


def jpeg_bytes(size: tuple[int, int] = (64, 48)) -> bytes:
    """A small JPEG."""
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(buf, format="JPEG")
    return buf.getvalue()


@pytest.fixture
def jpeg() -> bytes:
    """A small JPEG photo."""
    return jpeg_bytes()


def file(session: Session, settings: Any, **kw: Any) -> Any:
    """File a report through the service (defaults: exposed garbage at the bin, no phone)."""
    data = {
        "category_code": "exposed_garbage",
        "description": "垃圾堆在路边",
        "lat": BIN_LAT,
        "lon": BIN_LON,
        "street_code": STREET,
    }
    data.update(kw)
    now = data.pop("now", None)
    report = service.file_report(session, settings, service.ReportInput(**data), now=now)
    session.commit()
    return report
