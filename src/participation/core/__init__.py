"""Shared machinery: errors, i18n, crypto, audit, web helpers."""
