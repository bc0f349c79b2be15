"""Photo upload (``POST /api/media/photos``) and serving (``GET /media/{key}``)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath
from litestar.response import Response

from participation.accounts.roles import Role
from participation.core.deps import DB, AppSettings, Locale
from participation.core.errors import ServiceError
from participation.core.i18n import N_, gettext
from participation.core.web import OptionalUserDep, UserDep, admits, public
from participation.media import service
from participation.media.models import Photo
from participation.media.schemas import PhotoOut, PhotoUpload

UPLOADERS = (Role.VOLUNTEER, Role.OFFICIAL, Role.ADMINISTRATOR)


def photo_out(photo: Photo) -> PhotoOut:
    """The API shape of a stored photo."""
    return PhotoOut(
        key=photo.key,
        content_type=photo.content_type,
        width=photo.width,
        height=photo.height,
        size_bytes=photo.size_bytes,
        url=service.url_of(photo),
    )


def read_upload(upload: Any) -> bytes:
    """The bytes of an uploaded file field (the request body limit bounds its size)."""
    if not isinstance(upload, UploadFile):
        raise ServiceError(N_("Choose a photo to upload."), field="photo")
    return upload.file.read()


@post(
    "/api/media/photos",
    opt=admits(*UPLOADERS),
    tags=["media"],
    operation_id="uploadPhoto",
    sync_to_thread=True,
    status_code=201,
)
def upload_photo(
    db: DB,
    settings: AppSettings,
    user: UserDep,
    data: Annotated[PhotoUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
) -> PhotoOut:
    """Upload one photo (multipart field ``photo``: JPEG, PNG or WebP, recognised by content).

    The photo is stored without its metadata (EXIF/GPS are stripped) and not yet attached to
    anything; pass its ``key`` when saving a visit finding, a rectification or a report.
    A file that is not such an image, or is larger than the upload limit, is refused with
    HTTP 400 naming the field ``photo``, and nothing is stored.
    """
    raw = read_upload(data.photo)
    try:
        photo = service.store_photo(db, settings, raw, owner_kind=service.PENDING, user_id=user.id)
        db.commit()
    except BaseException:
        db.rollback()
        raise
    return photo_out(photo)


@get("/media/{key:str}", opt=public(), include_in_schema=False, sync_to_thread=True)
def serve_photo(
    db: DB,
    settings: AppSettings,
    optional_user: OptionalUserDep,
    locale: Locale,
    key: FromPath[str],
) -> Response[bytes]:
    """The photo's bytes, for those its owning domain admits; 404 for everybody else."""
    not_found = NotFoundException(detail=gettext("This page does not exist.", locale))
    photo = db.exec(service.select_by_key(key)).first()
    if photo is None or not service.may_view(db, optional_user, photo):
        raise not_found
    try:
        content = service.read_photo(settings, photo)
    except FileNotFoundError:
        raise not_found from None
    return Response(
        content,
        media_type=photo.content_type,
        headers={
            "Cache-Control": "private, max-age=3600",
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": "inline",
        },
    )


route_handlers: list[Any] = [upload_photo, serve_photo]
