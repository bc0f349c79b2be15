"""City service codes (城市服务码): a QR code per facility opening the report form pre-filled.

Each code encodes the absolute URL ``<base>/report?facility=<code>``; the base is
``Settings.public_base_url`` or, on the web, the address of the request. Codes are drawn with
segno as PNG, SVG, or an A4 sheet of SVG codes for printing.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote
from xml.sax.saxutils import escape

import segno

from participation.reports.models import Facility

SHEET_COLUMNS = 3
SHEET_ROWS = 4
CELL_W, CELL_H = 70, 70  # millimetres (A4: 210 × 297)


def facility_url(base: str, code: str) -> str:
    """The absolute URL a facility's code opens."""
    return f"{base.rstrip('/')}/report?facility={quote(code)}"


def qr(url: str) -> segno.QRCode:
    """The QR code of ``url`` (error correction M: survives some dirt and wear)."""
    return segno.make(url, error="m", micro=False)


def png(url: str, scale: int = 8) -> bytes:
    """A PNG of the code of ``url``."""
    buf = io.BytesIO()
    qr(url).save(buf, kind="png", scale=scale, border=2)
    return buf.getvalue()


def svg(url: str, scale: int = 4) -> bytes:
    """A standalone SVG of the code of ``url``."""
    buf = io.BytesIO()
    qr(url).save(buf, kind="svg", scale=scale, border=2, xmldecl=True, svgns=True)
    return buf.getvalue()


def inline_svg(url: str, scale: int = 4) -> str:
    """An ``<svg>`` element of the code of ``url``, to embed in an HTML page."""
    return str(qr(url).svg_inline(scale=scale, border=2))


def _matrix_path(url: str) -> tuple[int, str]:
    """Size (modules) and an SVG path drawing the dark modules of the code of ``url``."""
    code = qr(url)
    parts = []
    for y, row in enumerate(code.matrix):
        for x, dark in enumerate(row):
            if dark:
                parts.append(f"M{x} {y}h1v1h-1z")
    return len(code.matrix), "".join(parts)


def sheet_svg(items: Sequence[tuple[Facility, str, str]], title: str = "") -> bytes:
    """A printable A4 sheet (or several pages stacked) of codes: ``(facility, url, caption)``.

    Each cell shows the code, the facility's service code and the caption."""
    per_page = SHEET_COLUMNS * SHEET_ROWS
    pages = max(1, -(-len(items) // per_page))
    height = 297 * pages
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="210mm" height="{height}mm" '
        f'viewBox="0 0 210 {height}" font-family="sans-serif">',
        f'<rect width="210" height="{height}" fill="#fff"/>',
    ]
    for page in range(pages):
        top = page * 297
        if title:
            out.append(
                f'<text x="105" y="{top + 12}" font-size="6" text-anchor="middle">'
                f"{escape(title)}</text>"
            )
        for i, (facility, url, caption) in enumerate(
            items[page * per_page : (page + 1) * per_page]
        ):
            col, row = i % SHEET_COLUMNS, i // SHEET_COLUMNS
            x = 0 + col * CELL_W
            y = top + 18 + row * CELL_H
            size, path = _matrix_path(url)
            box = 46.0
            scale = box / (size + 4)
            ox = x + (CELL_W - box) / 2
            out.append(
                f'<rect x="{x + 2}" y="{y}" width="{CELL_W - 4}" height="{CELL_H - 4}" '
                'fill="none" stroke="#999" stroke-width="0.2" stroke-dasharray="1 1"/>'
            )
            out.append(
                f'<g transform="translate({ox:.2f} {y + 2:.2f}) scale({scale:.4f}) '
                f'translate(2 2)"><path d="{path}" fill="#000"/></g>'
            )
            out.append(
                f'<text x="{x + CELL_W / 2}" y="{y + box + 9}" font-size="4.2" '
                f'text-anchor="middle" font-weight="bold">{escape(facility.code)}</text>'
            )
            out.append(
                f'<text x="{x + CELL_W / 2}" y="{y + box + 15}" font-size="3.4" '
                f'text-anchor="middle">{escape(caption[:40])}</text>'
            )
    out.append("</svg>")
    return "\n".join(out).encode("utf-8")


def write_codes(
    directory: Path, facilities: Sequence[Facility], base: str, *, formats: Sequence[str]
) -> list[Path]:
    """Write one PNG and/or SVG per facility, and a printable sheet, into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for facility in facilities:
        url = facility_url(base, facility.code)
        if "png" in formats:
            target = directory / f"{facility.code}.png"
            target.write_bytes(png(url))
            written.append(target)
        if "svg" in formats:
            target = directory / f"{facility.code}.svg"
            target.write_bytes(svg(url))
            written.append(target)
    if facilities:
        items = [(f, facility_url(base, f.code), f.name) for f in facilities]
        target = directory / "sheet.svg"
        target.write_bytes(sheet_svg(items))
        written.append(target)
    return written
