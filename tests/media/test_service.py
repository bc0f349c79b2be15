"""Photo validation by content, metadata stripping, storage and transaction safety."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import select

from participation.core.errors import ServiceError
from participation.media import service
from participation.media.models import Photo
from participation.media.storage import DiskStore
from tests.media.images import GPS_IFD, PDF_BYTES, jpeg_with_gps, png_bytes, webp_bytes


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_png_jpeg_webp_are_stored_by_content(session, settings):
    for data, ctype in (
        (png_bytes(), "image/png"),
        (jpeg_with_gps(), "image/jpeg"),
        (webp_bytes(), "image/webp"),
    ):
        photo = service.store_photo(session, settings, data, owner_kind="visit", owner_id=1)
        assert photo.content_type == ctype
        assert photo.storage == "disk"
        stored = service.read_photo(settings, photo)
        assert len(stored) == photo.size_bytes
        assert Image.open(BytesIO(stored)).size == (photo.width, photo.height)
        path = DiskStore(settings.upload_dir).path_of(photo.key)
        assert path.parent.name == photo.key[:2] and path.exists()
    session.commit()
    assert len(session.exec(select(Photo)).all()) == 3


@pytest.mark.parametrize(
    "data",
    [PDF_BYTES, b"just some text pretending to be a .jpg\n", b"\xff\xd8\xff\xe0garbage", b""],
    ids=["pdf", "text", "broken-jpeg", "empty"],
)
def test_not_an_image_is_refused_and_nothing_is_stored(session, settings, data):
    with pytest.raises(ServiceError) as info:
        service.store_photo(session, settings, data, owner_kind="visit")
    assert info.value.field == "photo"
    assert files_under(settings.upload_dir) == []
    assert session.exec(select(Photo)).all() == []


def test_gif_is_refused_although_it_is_an_image(session, settings):
    out = BytesIO()
    Image.new("RGB", (4, 4)).save(out, "GIF")
    with pytest.raises(ServiceError, match="JPEG, PNG or WebP") as info:
        service.store_photo(session, settings, out.getvalue(), owner_kind="visit")
    assert info.value.field == "photo"
    assert files_under(settings.upload_dir) == []


def test_too_large_is_refused_and_nothing_is_stored(session, settings):
    small = settings.model_copy(update={"max_upload_bytes": 1000})
    big = Image.effect_noise((200, 200), 60).convert("RGB")
    out = BytesIO()
    big.save(out, "PNG")
    assert len(out.getvalue()) > 1000
    with pytest.raises(ServiceError, match="too large") as info:
        service.store_photo(session, small, out.getvalue(), owner_kind="visit")
    assert info.value.field == "photo"
    assert files_under(settings.upload_dir) == []


def test_exif_gps_is_stripped_and_orientation_applied(session, settings):
    original = jpeg_with_gps((40, 20), orientation=6)  # 6: rotate 90° clockwise to display
    assert Image.open(BytesIO(original)).getexif().get_ifd(GPS_IFD)
    photo = service.store_photo(session, settings, original, owner_kind="visit")
    stored = service.read_photo(settings, photo)
    img = Image.open(BytesIO(stored))
    exif = img.getexif()
    assert len(exif) == 0 and not exif.get_ifd(GPS_IFD)
    assert "exif" not in img.info
    assert b"SpyCam" not in stored and b"Exif" not in stored
    assert img.size == (20, 40) == (photo.width, photo.height)


def test_png_text_chunks_are_dropped(session, settings):
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", "home address 123")
    out = BytesIO()
    Image.new("RGB", (5, 5)).save(out, "PNG", pnginfo=info)
    photo = service.store_photo(session, settings, out.getvalue(), owner_kind="visit")
    assert b"home address" not in service.read_photo(settings, photo)


def test_rollback_removes_the_stored_object(session, settings):
    photo = service.store_photo(session, settings, png_bytes(), owner_kind="visit")
    assert len(files_under(settings.upload_dir)) == 1
    session.rollback()
    assert files_under(settings.upload_dir) == []
    assert photo.key


def test_failed_row_write_removes_the_object(session, settings, monkeypatch):
    def broken_flush(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(session, "flush", broken_flush)
    with pytest.raises(RuntimeError):
        service.store_photo(session, settings, png_bytes(), owner_kind="visit")
    assert files_under(settings.upload_dir) == []


def test_commit_keeps_the_object_and_delete_removes_it_after_commit(session, settings):
    photo = service.store_photo(session, settings, png_bytes(), owner_kind="visit")
    session.commit()
    session.rollback()  # a later rollback does not touch committed photos
    assert len(files_under(settings.upload_dir)) == 1
    service.delete_photo(session, settings, photo)
    assert len(files_under(settings.upload_dir)) == 1  # still there until the commit
    session.commit()
    assert files_under(settings.upload_dir) == []


def test_attach_and_photos_of(session, settings, make_user):
    alice = make_user("alice", "volunteer")
    bob = make_user("bob", "volunteer")
    a = service.store_photo(session, settings, png_bytes(), owner_kind="pending", user_id=alice.id)
    b = service.store_photo(session, settings, png_bytes(), owner_kind="pending", user_id=bob.id)
    session.commit()
    assert service.attach(session, [a.key], "finding", 7, user_id=alice.id) == [a]
    assert [p.key for p in service.photos_of(session, "finding", 7)] == [a.key]
    assert service.attach(session, [a.key], "finding", 7) == [a]  # again: no-op
    with pytest.raises(ServiceError, match="belongs to something else") as info:
        service.attach(session, [a.key], "finding", 8)
    assert info.value.field == "photos"
    with pytest.raises(ServiceError, match="someone else"):
        service.attach(session, [b.key], "finding", 8, user_id=alice.id)
    with pytest.raises(ServiceError, match="Unknown photo"):
        service.attach(session, ["nope"], "finding", 8)


def test_unattached_uploads_are_pruned_after_a_while(session, settings):
    from datetime import timedelta

    from participation.core.timeutil import utcnow

    old = service.store_photo(session, settings, png_bytes(), owner_kind=service.PENDING)
    fresh = service.store_photo(session, settings, png_bytes(), owner_kind=service.PENDING)
    kept = service.store_photo(session, settings, png_bytes(), owner_kind="visit", owner_id=1)
    old.created_at = kept.created_at = utcnow() - timedelta(days=2)
    session.commit()
    assert service.prune_pending(session, settings, timedelta(hours=24)) == 1
    session.commit()
    assert {p.key for p in session.exec(select(Photo))} == {fresh.key, kept.key}
    assert len(files_under(settings.upload_dir)) == 2


@pytest.mark.parametrize("fmt", ["WEBP", "PNG"])
def test_exif_gps_is_stripped_from_webp_and_png(session, settings, fmt):
    src = Image.open(BytesIO(jpeg_with_gps()))
    exif = src.getexif()
    out = BytesIO()
    src.save(out, fmt, exif=exif.tobytes())
    original = out.getvalue()
    assert Image.open(BytesIO(original)).getexif().get_ifd(GPS_IFD)
    photo = service.store_photo(session, settings, original, owner_kind="visit")
    stored = service.read_photo(settings, photo)
    img = Image.open(BytesIO(stored))
    assert img.format == fmt and not img.getexif().get_ifd(GPS_IFD) and len(img.getexif()) == 0
    assert b"SpyCam" not in stored


def test_files_without_a_record_are_pruned(session, settings):
    import os
    from datetime import timedelta

    kept = service.store_photo(session, settings, png_bytes(), owner_kind="visit", owner_id=1)
    session.commit()
    orphan = settings.upload_dir / "zz" / "zzorphan"
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"left by an earlier database")
    old = 1_000_000_000
    for path in files_under(settings.upload_dir):
        os.utime(path, (old, old))
    assert service.prune_orphan_files(session, settings, timedelta(hours=1)) == 1
    assert [p.name for p in files_under(settings.upload_dir)] == [kept.key]
