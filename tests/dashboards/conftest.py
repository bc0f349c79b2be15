"""Fixtures of the dashboards tests (the scoring tests' mini city)."""

from tests.scoring.conftest import mini_city, scheme_version

__all__ = ["mini_city", "scheme_version"]
