"""Small test images built with Pillow (shared by the media, volunteers and reports tests)."""

from __future__ import annotations

from io import BytesIO

from PIL import Image

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def png_bytes(size: tuple[int, int] = (8, 6), color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A small PNG."""
    out = BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def jpeg_with_gps(size: tuple[int, int] = (40, 20), orientation: int | None = None) -> bytes:
    """A JPEG whose EXIF holds a GPS position (Linyi), a camera model and optionally an
    orientation tag."""
    img = Image.new("RGB", size, (20, 120, 200))
    exif = Image.Exif()
    exif[0x0110] = "SpyCam 3000"  # Model
    if orientation is not None:
        exif[ORIENTATION] = orientation
    exif[GPS_IFD] = {
        1: "N",
        2: (35.0, 3.0, 0.0),
        3: "E",
        4: (118.0, 21.0, 0.0),
    }
    out = BytesIO()
    img.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def webp_bytes(size: tuple[int, int] = (10, 10)) -> bytes:
    """A small WebP."""
    out = BytesIO()
    Image.new("RGB", size, (0, 200, 0)).save(out, "WEBP")
    return out.getvalue()


PDF_BYTES = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
