"""Where photo bytes live: a directory on disk or an S3-compatible object store.

Both back ends store an object under the photo's random key. The disk store shards objects by
the first two characters of the key (``<upload_dir>/ab/abcdef...``) and writes atomically (a
temporary file in the same directory, then ``os.replace``), so a reader never sees half a file.
The S3 store speaks plain HTTP to any S3-compatible server (AWS, MinIO, Ceph, OSS in S3 mode)
with requests signed by AWS Signature Version 4 (:func:`sign_v4`).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import quote, urlsplit

import httpx

from participation.settings import Settings

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


class PhotoStore(Protocol):
    """A place to put, get and delete objects by key."""

    name: str

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store ``data`` under ``key`` (replacing any object of that key)."""

    def get(self, key: str) -> bytes:
        """The bytes stored under ``key``; ``FileNotFoundError`` when there are none."""

    def delete(self, key: str) -> None:
        """Remove the object ``key`` (no error when it is already gone)."""


class DiskStore:
    """Objects as files under ``root``, sharded by the first two characters of the key."""

    name = "disk"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_of(self, key: str) -> Path:
        """The file of ``key``."""
        if not key or "/" in key or "\\" in key or key.startswith("."):
            raise ValueError("invalid storage key")
        return self.root / key[:2] / key

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Write ``data`` atomically: temporary file in the shard directory, then rename."""
        target = self.path_of(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        """The file's bytes."""
        return self.path_of(key).read_bytes()

    def delete(self, key: str) -> None:
        """Remove the file (and its shard directory when it becomes empty)."""
        path = self.path_of(key)
        path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            path.parent.rmdir()


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret_key: str, date_stamp: str, region: str, service: str) -> bytes:
    """The SigV4 signing key derived from the secret key, date, region and service."""
    k_date = _hmac(("AWS4" + secret_key).encode("utf-8"), date_stamp)
    k_region = _hmac(k_date, region)
    k_service = _hmac(k_region, service)
    return _hmac(k_service, "aws4_request")


def _canonical_query(query: str) -> str:
    if not query:
        return ""
    pairs = []
    for part in query.split("&"):
        name, _, value = part.partition("=")
        pairs.append((quote(name, safe="-_.~"), quote(value, safe="-_.~")))
    return "&".join(f"{n}={v}" for n, v in sorted(pairs))


def sign_v4(
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    payload_sha256: str,
    access_key: str,
    secret_key: str,
    region: str,
    service: str,
    now: datetime | None = None,
) -> dict[str, str]:
    """Sign a request with AWS Signature Version 4.

    Returns the headers to send: ``headers`` plus ``host``, ``x-amz-date`` and
    ``Authorization``. Every given header is signed. ``payload_sha256`` is the hex SHA-256 of
    the body (S3 also wants it sent as ``x-amz-content-sha256``; the caller adds that header).

    References: AWS, "Create a signed AWS API request" (Signature Version 4), and the
    SigV4 test suite (``get-vanilla``), which ``tests/media/test_storage.py`` reproduces.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    date_stamp = now.strftime("%Y%m%d")
    parts = urlsplit(url)
    host = parts.netloc
    all_headers = {k.lower(): " ".join(str(v).strip().split()) for k, v in headers.items()}
    all_headers.setdefault("host", host)
    all_headers["x-amz-date"] = amz_date
    names = sorted(all_headers)
    canonical_headers = "".join(f"{n}:{all_headers[n]}\n" for n in names)
    signed_headers = ";".join(names)
    canonical_uri = quote(parts.path or "/", safe="/-_.~")
    canonical_request = "\n".join(
        [
            method.upper(),
            canonical_uri,
            _canonical_query(parts.query),
            canonical_headers,
            signed_headers,
            payload_sha256,
        ]
    )
    scope = f"{date_stamp}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            amz_date,
            scope,
            hashlib.sha256(canonical_request.encode("utf-8")).hexdigest(),
        ]
    )
    signature = hmac.new(
        signing_key(secret_key, date_stamp, region, service),
        string_to_sign.encode("utf-8"),
        hashlib.sha256,
    ).hexdigest()
    result = dict(headers)
    result["host"] = all_headers["host"]
    result["x-amz-date"] = amz_date
    result["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
        f"SignedHeaders={signed_headers}, Signature={signature}"
    )
    return result


class S3Error(RuntimeError):
    """The object store answered with an error."""


class S3Store:
    """Objects in a bucket of an S3-compatible store (path-style URLs, SigV4-signed)."""

    name = "s3"

    def __init__(
        self,
        endpoint: str,
        bucket: str,
        access_key: str,
        secret_key: str,
        region: str = "us-east-1",
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.bucket = bucket
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region
        self.transport = transport
        self.timeout = timeout

    def url_of(self, key: str) -> str:
        """The path-style URL of the object ``key``."""
        return f"{self.endpoint}/{quote(self.bucket, safe='')}/{quote(key, safe='')}"

    def _request(
        self, method: str, key: str, body: bytes = b"", extra: dict[str, str] | None = None
    ) -> httpx.Response:
        url = self.url_of(key)
        payload_hash = hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256
        headers = {"x-amz-content-sha256": payload_hash, **(extra or {})}
        signed = sign_v4(
            method=method,
            url=url,
            headers=headers,
            payload_sha256=payload_hash,
            access_key=self.access_key,
            secret_key=self.secret_key,
            region=self.region,
            service="s3",
        )
        with httpx.Client(transport=self.transport, timeout=self.timeout) as client:
            return client.request(method, url, content=body or None, headers=signed)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """PUT the object."""
        response = self._request("PUT", key, data, {"content-type": content_type})
        if response.status_code >= 300:
            raise S3Error(f"S3 PUT {key}: HTTP {response.status_code}")

    def get(self, key: str) -> bytes:
        """GET the object; ``FileNotFoundError`` on 404."""
        response = self._request("GET", key)
        if response.status_code == 404:
            raise FileNotFoundError(key)
        if response.status_code >= 300:
            raise S3Error(f"S3 GET {key}: HTTP {response.status_code}")
        return response.content

    def delete(self, key: str) -> None:
        """DELETE the object (404 is fine: already gone)."""
        response = self._request("DELETE", key)
        if response.status_code >= 300 and response.status_code != 404:
            raise S3Error(f"S3 DELETE {key}: HTTP {response.status_code}")


_transport_override: dict[str, httpx.BaseTransport] = {}


def use_s3_transport(transport: httpx.BaseTransport | None) -> None:
    """Route S3 requests through ``transport`` (tests use an in-process fake S3 server)."""
    if transport is None:
        _transport_override.pop("s3", None)
    else:
        _transport_override["s3"] = transport


def store_for(settings: Settings, storage: str | None = None) -> PhotoStore:
    """The store of ``settings`` (S3 when ``s3_url`` is set, else disk), or the named one."""
    wanted = storage or ("s3" if settings.s3_url else "disk")
    if wanted == "s3":
        if not settings.s3_url or not settings.s3_bucket:
            raise S3Error("photo stored in S3 but PARTICIPATION_S3_URL/S3_BUCKET are not set")
        return S3Store(
            settings.s3_url,
            settings.s3_bucket,
            settings.s3_access_key,
            settings.s3_secret_key,
            settings.s3_region,
            transport=_transport_override.get("s3"),
        )
    return DiskStore(settings.upload_dir)
