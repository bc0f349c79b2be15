"""Photo uploads: validation by content, metadata stripping, storage, access rules.

Guarantees
----------
* Only JPEG, PNG and WebP are accepted, recognised by their **content** (Pillow opens and
  verifies the bytes; a file name or declared content type is never consulted).
* Uploads larger than ``settings.max_upload_bytes`` are refused before decoding.
* EXIF and every other metadata block (GPS position, camera, comments, XMP) are dropped: the
  pixels are re-encoded into a fresh file after the EXIF orientation has been applied, so the
  stored photo looks upright and carries no metadata. Locations are kept only in the domains'
  own fields (visit coordinates, report location).
* Nothing half-written stays in storage. The object is written only after validation passed;
  if adding the row fails, the object is removed at once; and the object is tied to the
  session's transaction: when the transaction is rolled back (explicitly, or by closing the
  session without committing) the objects written in it are deleted. Deletions requested by
  :func:`delete_photo` happen only after the transaction commits, so a failed commit never
  leaves a row pointing at a missing file.

Access
------
Each owning domain registers who may see photos of its ``owner_kind`` with
:func:`register_access`. ``GET /media/{key}`` answers 404 (never 403: existence is not
revealed) unless :func:`may_view` admits the requester: administrators, the uploader, or the
registered check of the photo's kind.
"""

from __future__ import annotations

import hashlib
import secrets
import warnings
from collections.abc import Callable, Sequence
from datetime import timedelta
from io import BytesIO
from typing import TYPE_CHECKING, Any

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import event
from sqlmodel import Session, col, select

from participation.core.errors import NotFoundError, ServiceError
from participation.core.i18n import N_
from participation.core.timeutil import utcnow
from participation.media.models import Photo
from participation.media.storage import PhotoStore, store_for
from participation.settings import Settings

if TYPE_CHECKING:
    from participation.core.web import CurrentUser

FORMATS: dict[str, str] = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
MAX_PIXELS = 40_000_000
PENDING = "pending"
"""``owner_kind`` of photos uploaded through ``POST /api/media/photos`` and not attached yet."""

AccessCheck = Callable[[Session, "CurrentUser | None", Photo], bool]
_ACCESS: dict[str, AccessCheck] = {}

_WRITTEN = "media_written"
_TO_DELETE = "media_delete_after_commit"


def register_access(owner_kind: str, check: AccessCheck) -> None:
    """Declare who may see photos of ``owner_kind``.

    ``check(session, user, photo)`` gets the signed-in user (a
    :class:`participation.core.web.CurrentUser` with ``id``, ``role``, ``unit_code``) or None
    for an anonymous request, and returns True to admit. Registering again replaces the check.
    """
    _ACCESS[owner_kind] = check


def may_view(session: Session, user: CurrentUser | None, photo: Photo) -> bool:
    """True when ``user`` may see ``photo``: administrators, its uploader, or the kind's check."""
    if user is not None:
        if user.role == "administrator":
            return True
        if photo.uploaded_by is not None and photo.uploaded_by == user.id:
            return True
    check = _ACCESS.get(photo.owner_kind)
    if check is None or photo.owner_id is None:
        return False
    return bool(check(session, user, photo))


# ---------------------------------------------------------------- transaction bookkeeping


def _on_commit(session: Session) -> None:
    session.info.pop(_WRITTEN, None)
    pending: list[tuple[Settings, str, str]] = session.info.pop(_TO_DELETE, [])
    for settings, storage, key in pending:
        try:
            store_for(settings, storage).delete(key)
        except Exception:  # the row is gone; an orphan object is harmless
            continue


def _on_rollback(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is not None:
        return
    written: list[tuple[Settings, str, str]] = session.info.pop(_WRITTEN, [])
    session.info.pop(_TO_DELETE, None)
    for settings, storage, key in written:
        try:
            store_for(settings, storage).delete(key)
        except Exception:  # best effort; nothing refers to the object
            continue


def _track(session: Session) -> None:
    if session.info.get("media_hooks"):
        return
    event.listen(session, "after_commit", _on_commit)
    event.listen(session, "after_soft_rollback", _on_rollback)
    session.info["media_hooks"] = True


# ---------------------------------------------------------------- validation


def _refuse(message: str, **params: Any) -> ServiceError:
    return ServiceError(message, field="photo", **params)


def clean_image(data: bytes, max_bytes: int) -> tuple[bytes, str, int, int]:
    """Validate ``data`` as a photo and re-encode it without metadata.

    Returns ``(clean_bytes, content_type, width, height)``; raises :class:`ServiceError` naming
    the field ``photo`` for empty, oversized, undecodable or non-JPEG/PNG/WebP input.
    """
    if not data:
        raise _refuse(N_("The photo is empty."))
    if len(data) > max_bytes:
        raise _refuse(
            N_("The photo is too large (%(size)s MB); the limit is %(limit)s MB."),
            size=f"{len(data) / 1_048_576:.1f}",
            limit=f"{max_bytes / 1_048_576:.1f}",
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(BytesIO(data)) as probe:
                fmt = probe.format or ""
                if fmt not in FORMATS:
                    raise _refuse(N_("Only JPEG, PNG or WebP photos are accepted."))
                if probe.width * probe.height > MAX_PIXELS:
                    raise _refuse(N_("The photo has too many pixels."))
                probe.verify()
            with Image.open(BytesIO(data)) as img:
                img.load()
                upright = ImageOps.exif_transpose(img)
                return (*_encode(upright, fmt), upright.width, upright.height)
    except ServiceError:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        EOFError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        raise _refuse(N_("The file is not a readable JPEG, PNG or WebP photo.")) from exc


def _encode(img: Image.Image, fmt: str) -> tuple[bytes, str]:
    """Re-encode ``img`` in ``fmt`` with no metadata (fresh info, no EXIF, no ICC profile)."""
    if fmt == "JPEG":
        img = img.convert("RGB") if img.mode not in ("RGB", "L") else img
    elif fmt == "WEBP":
        img = img.convert("RGBA" if "A" in img.getbands() else "RGB")
    elif img.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"):
        img = img.convert("RGBA")
    clean = img.copy()
    clean.info = {}
    out = BytesIO()
    if fmt == "JPEG":
        clean.save(out, "JPEG", quality=88, optimize=True)
    elif fmt == "WEBP":
        clean.save(out, "WEBP", quality=85)
    else:
        clean.save(out, "PNG", optimize=True)
    return out.getvalue(), FORMATS[fmt]


# ---------------------------------------------------------------- storing and reading


def store_photo(
    session: Session,
    settings: Settings,
    data: bytes,
    *,
    owner_kind: str,
    owner_id: int | None = None,
    user_id: int | None = None,
) -> Photo:
    """Validate, clean and store a photo; add its row to ``session`` (the caller commits).

    The object is written after validation; if adding the row fails it is removed, and it is
    removed as well when the session's transaction is rolled back instead of committed.
    """
    clean, content_type, width, height = clean_image(data, settings.max_upload_bytes)
    store = store_for(settings)
    key = secrets.token_urlsafe(24)
    photo = Photo(
        key=key,
        owner_kind=owner_kind,
        owner_id=owner_id,
        content_type=content_type,
        size_bytes=len(clean),
        width=width,
        height=height,
        sha256=hashlib.sha256(clean).hexdigest(),
        storage=store.name,
        uploaded_by=user_id,
    )
    _track(session)
    store.put(key, clean, content_type)
    try:
        session.add(photo)
        session.flush()
    except BaseException:
        store.delete(key)
        raise
    session.info.setdefault(_WRITTEN, []).append((settings, store.name, key))
    return photo


def select_by_key(key: str) -> Any:
    """The query of the photo of ``key``."""
    return select(Photo).where(Photo.key == key)


def get_photo(session: Session, key: str) -> Photo:
    """The photo of ``key``; :class:`NotFoundError` when there is none."""
    photo = session.exec(select_by_key(key)).first()
    if photo is None:
        raise NotFoundError(N_("No such photo."), field="key")
    return photo


def attach(
    session: Session,
    keys: Sequence[str],
    owner_kind: str,
    owner_id: int,
    *,
    user_id: int | None = None,
) -> list[Photo]:
    """Attach uploaded, not yet attached photos (by key) to an owner.

    A photo already attached to another owner, an unknown key, or (when ``user_id`` is given)
    a photo uploaded by someone else is refused with a :class:`ServiceError` on field
    ``photos``. Attaching a photo again to the same owner is a no-op.
    """
    wanted = [k for k in dict.fromkeys(k.strip() for k in keys) if k]
    if not wanted:
        return []
    rows = {p.key: p for p in session.exec(select(Photo).where(col(Photo.key).in_(wanted)))}
    attached: list[Photo] = []
    for key in wanted:
        photo = rows.get(key)
        if photo is None:
            raise ServiceError(N_("Unknown photo %(key)s."), field="photos", key=key[:12])
        if photo.owner_id == owner_id and photo.owner_kind == owner_kind:
            attached.append(photo)
            continue
        if photo.owner_id is not None:
            raise ServiceError(
                N_("Photo %(key)s belongs to something else."), field="photos", key=key[:12]
            )
        if user_id is not None and photo.uploaded_by not in (None, user_id):
            raise ServiceError(
                N_("Photo %(key)s was uploaded by someone else."), field="photos", key=key[:12]
            )
        photo.owner_kind = owner_kind
        photo.owner_id = owner_id
        session.add(photo)
        attached.append(photo)
    session.flush()
    return attached


def photos_of(session: Session, owner_kind: str, owner_id: int) -> list[Photo]:
    """The photos of one owner, oldest first."""
    return list(
        session.exec(
            select(Photo)
            .where(Photo.owner_kind == owner_kind, Photo.owner_id == owner_id)
            .order_by(col(Photo.id))
        )
    )


def photos_of_many(
    session: Session, owner_kind: str, owner_ids: Sequence[int]
) -> dict[int, list[Photo]]:
    """The photos of several owners of one kind, by owner id."""
    found: dict[int, list[Photo]] = {i: [] for i in owner_ids}
    if not owner_ids:
        return found
    rows = session.exec(
        select(Photo)
        .where(Photo.owner_kind == owner_kind, col(Photo.owner_id).in_(list(owner_ids)))
        .order_by(col(Photo.id))
    )
    for photo in rows:
        if photo.owner_id is not None:
            found.setdefault(photo.owner_id, []).append(photo)
    return found


def _store_of(settings: Settings, photo: Photo) -> PhotoStore:
    return store_for(settings, photo.storage)


def read_photo(settings: Settings, photo: Photo) -> bytes:
    """The stored bytes of ``photo`` (``FileNotFoundError`` when the object is missing)."""
    return _store_of(settings, photo).get(photo.key)


def delete_photo(session: Session, settings: Settings, photo: Photo) -> None:
    """Delete the row now and the stored object once the transaction commits."""
    _track(session)
    session.delete(photo)
    session.flush()
    session.info.setdefault(_TO_DELETE, []).append((settings, photo.storage, photo.key))


def url_of(photo: Photo) -> str:
    """The URL serving ``photo``."""
    return f"/media/{photo.key}"


def prune_pending(session: Session, settings: Settings, older_than: timedelta) -> int:
    """Delete photos uploaded but never attached to anything, older than ``older_than``.

    Returns how many were deleted; their objects go once the caller commits.
    """
    cutoff = utcnow() - older_than
    stale = session.exec(
        select(Photo).where(
            Photo.owner_kind == PENDING,
            col(Photo.owner_id).is_(None),
            col(Photo.created_at) < cutoff,
        )
    ).all()
    for photo in stale:
        delete_photo(session, settings, photo)
    return len(stale)


def prune_orphan_files(session: Session, settings: Settings, older_than: timedelta) -> int:
    """Delete files under the upload directory that no photo row names (e.g. left by a
    rebuilt database), older than ``older_than``. Disk storage only; returns how many."""
    root = settings.upload_dir
    if not root.is_dir():
        return 0
    cutoff = (utcnow() - older_than).timestamp()
    candidates = {
        p.name: p
        for shard in root.iterdir()
        if shard.is_dir() and len(shard.name) == 2
        for p in shard.iterdir()
        if p.is_file() and p.stat().st_mtime < cutoff
    }
    if not candidates:
        return 0
    known: set[str] = set()
    names = sorted(candidates)
    for i in range(0, len(names), 500):
        known.update(session.exec(select(Photo.key).where(col(Photo.key).in_(names[i : i + 500]))))
    removed = 0
    for name, path in candidates.items():
        if name not in known:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
