"""The S3 signer against AWS's published SigV4 examples; the S3 store against a fake server."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

import httpx
import pytest
from sqlmodel import select

from participation.core.errors import ServiceError
from participation.media import service
from participation.media.models import Photo
from participation.media.storage import (
    EMPTY_SHA256,
    S3Store,
    sign_v4,
    signing_key,
    use_s3_transport,
)
from tests.media.images import PDF_BYTES, png_bytes


def test_sigv4_get_vanilla_test_vector():
    """AWS Signature Version 4 test suite, ``get-vanilla``."""
    headers = sign_v4(
        method="GET",
        url="https://example.amazonaws.com/",
        headers={},
        payload_sha256=EMPTY_SHA256,
        access_key="AKIDEXAMPLE",
        secret_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        region="us-east-1",
        service="service",
        now=datetime(2015, 8, 30, 12, 36, 0, tzinfo=UTC),
    )
    assert headers["x-amz-date"] == "20150830T123600Z"
    assert headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=host;x-amz-date, "
        "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    )


def test_sigv4_s3_get_object_example():
    """Amazon S3 API reference, "Signature calculations for the Authorization header",
    example GET Object (``Range: bytes=0-9``)."""
    headers = sign_v4(
        method="GET",
        url="https://examplebucket.s3.amazonaws.com/test.txt",
        headers={"Range": "bytes=0-9", "x-amz-content-sha256": EMPTY_SHA256},
        payload_sha256=EMPTY_SHA256,
        access_key="AKIAIOSFODNN7EXAMPLE",
        secret_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        region="us-east-1",
        service="s3",
        now=datetime(2013, 5, 24, tzinfo=UTC),
    )
    assert headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    )


class FakeS3:
    """An in-memory S3 server that checks every request's SigV4 signature."""

    def __init__(self, access_key: str, secret_key: str) -> None:
        self.access_key = access_key
        self.secret_key = secret_key
        self.objects: dict[str, tuple[bytes, str]] = {}
        self.requests: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        auth = request.headers.get("authorization", "")
        m = re.match(
            r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/s3/aws4_request, "
            r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$",
            auth,
        )
        if not m or m.group(1) != self.access_key:
            return httpx.Response(403)
        if request.headers["x-amz-content-sha256"] != hashlib.sha256(body).hexdigest():
            return httpx.Response(400)
        signed = {n: request.headers[n] for n in m.group(4).split(";") if n != "x-amz-date"}
        expected = sign_v4(
            method=request.method,
            url=str(request.url),
            headers=signed,
            payload_sha256=request.headers["x-amz-content-sha256"],
            access_key=self.access_key,
            secret_key=self.secret_key,
            region=m.group(3),
            service="s3",
            now=datetime.strptime(request.headers["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(
                tzinfo=UTC
            ),
        )
        if expected["Authorization"] != auth:
            return httpx.Response(403)
        path = request.url.path
        self.requests.append(f"{request.method} {path}")
        if request.method == "PUT":
            self.objects[path] = (body, request.headers.get("content-type", ""))
            return httpx.Response(200)
        if path not in self.objects:
            return httpx.Response(404)
        if request.method == "GET":
            data, ctype = self.objects[path]
            return httpx.Response(200, content=data, headers={"content-type": ctype})
        if request.method == "DELETE":
            del self.objects[path]
            return httpx.Response(204)
        return httpx.Response(405)


def test_s3_store_put_get_delete_with_checked_signatures():
    fake = FakeS3("AK", "SK")
    store = S3Store("http://s3.test", "photos", "AK", "SK", transport=httpx.MockTransport(fake))
    store.put("abc", b"hello", "image/png")
    assert fake.objects["/photos/abc"] == (b"hello", "image/png")
    assert store.get("abc") == b"hello"
    store.delete("abc")
    with pytest.raises(FileNotFoundError):
        store.get("abc")
    wrong = S3Store("http://s3.test", "photos", "AK", "bad", transport=httpx.MockTransport(fake))
    with pytest.raises(RuntimeError, match="403"):
        wrong.put("x", b"1", "image/png")


@pytest.fixture
def s3_settings(settings):
    fake = FakeS3("AK", "SK")
    use_s3_transport(httpx.MockTransport(fake))
    yield (
        settings.model_copy(
            update={
                "s3_url": "http://s3.test",
                "s3_bucket": "photos",
                "s3_access_key": "AK",
                "s3_secret_key": "SK",
            }
        ),
        fake,
    )
    use_s3_transport(None)


def test_photos_go_to_s3_when_configured(session, s3_settings):
    settings, fake = s3_settings
    photo = service.store_photo(session, settings, png_bytes(), owner_kind="visit")
    session.commit()
    assert photo.storage == "s3"
    assert f"/photos/{photo.key}" in fake.objects
    assert service.read_photo(settings, photo)[:8] == b"\x89PNG\r\n\x1a\n"
    assert not settings.upload_dir.exists() or not any(settings.upload_dir.rglob("*"))
    with pytest.raises(ServiceError):
        service.store_photo(session, settings, PDF_BYTES, owner_kind="visit")
    assert len(fake.objects) == 1
    service.delete_photo(session, settings, photo)
    session.commit()
    assert fake.objects == {}
    assert session.exec(select(Photo)).all() == []


def test_s3_object_is_removed_on_rollback(session, s3_settings):
    settings, fake = s3_settings
    service.store_photo(session, settings, png_bytes(), owner_kind="visit")
    assert len(fake.objects) == 1
    session.rollback()
    assert fake.objects == {}


def test_signing_key_is_derived_per_day_region_service():
    assert signing_key("k", "20260101", "r", "s3") != signing_key("k", "20260102", "r", "s3")
