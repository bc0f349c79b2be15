"""Encryption at rest and keyed hashes for personal data (PIPL).

Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256); several keys may be configured, the
first encrypts and all decrypt, so keys can be rotated (`participation keys rotate`). Look-ups use
an HMAC-SHA256 keyed hash, never the plain value.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from participation.settings import Settings


class PersonalDataError(ValueError):
    """Encrypted personal data could not be decrypted with any configured key."""


class Vault:
    """Encrypts, decrypts and hashes personal data with the configured keys."""

    def __init__(self, settings: Settings) -> None:
        keys = settings.fernet_keys()
        if not keys:
            raise PersonalDataError("no data-encryption key is configured")
        self._fernet = MultiFernet([Fernet(k) for k in keys])
        self._hash_key = settings.hash_key.encode()

    def encrypt(self, value: str) -> str:
        """Ciphertext (URL-safe text) of ``value``."""
        return self._fernet.encrypt(value.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """Plain text of a ciphertext made by :meth:`encrypt` with any configured key."""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken as exc:
            raise PersonalDataError("personal data cannot be decrypted with the keys") from exc

    def rotate(self, token: str) -> str:
        """Re-encrypt ``token`` with the newest key."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except InvalidToken as exc:
            raise PersonalDataError("personal data cannot be decrypted with the keys") from exc

    def keyed_hash(self, value: str) -> str:
        """HMAC-SHA256 of ``value`` (hex), for de-duplication and look-up."""
        return hmac.new(self._hash_key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def mask_phone(phone: str) -> str:
    """A phone number with its middle digits hidden: ``+8613812345678`` → ``138****5678``."""
    digits = phone[3:] if phone.startswith("+86") else phone.lstrip("+")
    if len(digits) <= 4:
        return "*" * len(digits)
    head = digits[:3] if len(digits) >= 11 else digits[:2]
    return head + "*" * (len(digits) - len(head) - 4) + digits[-4:]
