"""The one place where configuration is read.

Every setting comes from an environment variable ``PARTICIPATION_<NAME>``; ``get_settings()``
returns the cached object. Nothing else in the package reads ``os.environ``.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from cryptography.fernet import Fernet
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

KEY_FILE = "participation.keys"


class Settings(BaseSettings):
    """Platform settings, read from ``PARTICIPATION_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="PARTICIPATION_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///participation.db",
        description="SQLAlchemy URL. Default: SQLite file participation.db in the working "
        "directory; postgresql+psycopg://user@host/db switches to PostgreSQL.",
    )
    secret_key: str = Field(
        default="",
        description="Key for signing session and CSRF tokens. Empty: generated once and kept in "
        "participation.keys in the working directory (shared by all workers there).",
    )
    data_keys: str = Field(
        default="",
        description="Comma-separated Fernet keys encrypting personal data at rest; the first "
        "encrypts, all decrypt (key rotation). Empty: generated once into participation.keys.",
    )
    hash_key: str = Field(
        default="",
        description="Key of the keyed hash (HMAC-SHA256) used to look up phone numbers without "
        "decrypting them. Empty: generated once into participation.keys.",
    )
    default_locale: Literal["zh_CN", "en"] = Field(
        default="zh_CN", description="Locale used when the request names none."
    )
    timezone: str = Field(default="Asia/Shanghai", description="Local time zone of the city.")
    upload_dir: Path = Field(
        default=Path("uploads"), description="Directory where uploaded photos are stored."
    )
    max_upload_bytes: int = Field(
        default=8 * 1024 * 1024, description="Largest accepted photo upload, in bytes."
    )
    s3_url: str = Field(
        default="",
        description="Endpoint of an S3-compatible store for uploaded photos (e.g. "
        "https://s3.example.com); empty keeps photos on disk under upload_dir.",
    )
    s3_bucket: str = Field(default="", description="Bucket of the S3-compatible photo store.")
    s3_access_key: str = Field(default="", description="Access key id of the S3 photo store.")
    s3_secret_key: str = Field(default="", description="Secret access key of the S3 photo store.")
    s3_region: str = Field(
        default="us-east-1", description="Region used to sign requests to the S3 photo store."
    )
    max_body_bytes: int = Field(
        default=12 * 1024 * 1024, description="Largest accepted request body, in bytes."
    )
    redis_url: str = Field(
        default="",
        description="redis:// URL for shared rate-limit counters; empty keeps them in the "
        "database.",
    )
    session_hours: int = Field(default=12, description="Lifetime of a login session, in hours.")
    trusted_proxies: str = Field(
        default="127.0.0.1,::1",
        description="Comma-separated addresses of reverse proxies whose X-Forwarded-For header is "
        "believed when telling clients apart (rate limits, audit); anyone else's is ignored.",
    )
    behind_tls: bool = Field(
        default=False, description="Set when served over HTTPS: secure cookies and HSTS."
    )
    public_rate_limit: int = Field(
        default=120,
        description="Requests per minute per client allowed on public endpoints "
        "(web survey, report form, Open311).",
    )
    login_rate_limit: int = Field(
        default=10, description="Failed logins per 15 minutes per username and client."
    )
    retention_days: int = Field(
        default=365,
        description="Days after which sample-frame numbers and reporter contacts are deleted "
        "by `participation retention`.",
    )
    public_base_url: str = Field(
        default="",
        description="Absolute address of the public site (e.g. https://12319.example.gov.cn), "
        "used in printed city service codes; empty: the address of the request.",
    )
    report_duplicate_metres: float = Field(
        default=200.0,
        description="Reports of the same category within this distance (metres) of an earlier "
        "one, inside the duplicate window, are linked to it as duplicates.",
    )
    report_duplicate_hours: float = Field(
        default=72.0,
        description="Time window (hours) in which a nearby report of the same category is a "
        "duplicate of an earlier one.",
    )
    report_monthly_cap: int = Field(
        default=1000,
        description="Most a reporter (by phone) may be awarded per calendar month, in yuan.",
    )
    report_major_threshold: int = Field(
        default=500,
        description="Rewards above this amount (yuan) need a second reward officer's approval.",
    )
    check_schema: bool = Field(
        default=True, description="Refuse to start when the database schema is outdated."
    )
    debug: bool = Field(default=False, description="Litestar debug mode (tracebacks in pages).")

    def fernet_keys(self) -> list[bytes]:
        """The data-encryption keys, newest first."""
        return [k.strip().encode() for k in self.data_keys.split(",") if k.strip()]

    @property
    def is_sqlite(self) -> bool:
        """True when the database is SQLite."""
        return self.database_url.startswith("sqlite")


def _fill_generated_keys(settings: Settings) -> Settings:
    """Fill empty secrets from (or into) the key file in the working directory."""
    missing = [n for n in ("secret_key", "data_keys", "hash_key") if not getattr(settings, n)]
    if not missing:
        return settings
    path = Path(KEY_FILE)
    stored: dict[str, str] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if "=" in line:
                k, v = line.split("=", 1)
                stored[k.strip()] = v.strip()
    changed = False
    generators = {
        "secret_key": lambda: secrets.token_urlsafe(48),
        "data_keys": lambda: Fernet.generate_key().decode(),
        "hash_key": lambda: secrets.token_urlsafe(32),
    }
    for name in missing:
        if name not in stored:
            stored[name] = generators[name]()
            changed = True
    if changed:
        path.write_text("".join(f"{k}={v}\n" for k, v in stored.items()), encoding="utf-8")
        path.chmod(0o600)
    return settings.model_copy(update={n: stored[n] for n in missing})


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once from the environment)."""
    return _fill_generated_keys(Settings())


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment with explicit overrides (tests, CLI options)."""
    return _fill_generated_keys(Settings(**overrides))  # type: ignore[arg-type]
