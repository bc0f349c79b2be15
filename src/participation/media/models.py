"""Tables of the media domain: one row per stored photo."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from participation.core.timeutil import utcnow


class Photo(SQLModel, table=True):
    """A photo stored on disk or in an S3-compatible store.

    ``key`` is a random URL-safe token naming the object in storage and in ``/media/{key}``;
    ``owner_kind``/``owner_id`` say what the photo belongs to (``visit``, ``finding``,
    ``problem``, ``report``...). The pixels were re-encoded on upload: no EXIF metadata is kept.
    """

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64, unique=True, index=True)
    owner_kind: str = Field(max_length=32, index=True)
    owner_id: int | None = Field(default=None, index=True)
    content_type: str = Field(max_length=32)
    size_bytes: int
    width: int
    height: int
    sha256: str = Field(max_length=64)
    storage: str = Field(max_length=8, description='"disk" or "s3"')
    created_at: datetime = Field(default_factory=utcnow)
    uploaded_by: int | None = Field(default=None, foreign_key="user_account.id")
