"""Request and response shapes of the media API."""

from __future__ import annotations

from dataclasses import dataclass

from litestar.datastructures import UploadFile
from pydantic import BaseModel


@dataclass
class PhotoUpload:
    """A multipart upload with one file field ``photo``."""

    photo: UploadFile | None = None


class PhotoOut(BaseModel):
    """A stored photo: its key (to attach it to a visit, finding or problem) and its size."""

    key: str
    content_type: str
    width: int
    height: int
    size_bytes: int
    url: str
