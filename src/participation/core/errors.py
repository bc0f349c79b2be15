"""Errors raised by services and shown to users as HTTP 4xx with a translated message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from participation.core.i18n import N_


class ServiceError(Exception):
    """A request that cannot be carried out.

    ``message`` is an English msgid, translated at the edge;

    ``field`` names the offending input field (or CSV column), ``line`` the file line when the
    input was a file.
    """

    status_code = 400

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        line: int | None = None,
        status_code: int | None = None,
        **params: Any,
    ) -> None:
        self.message = message
        self.field = field
        self.line = line
        self.params = {"field": field, "line": line, **params}
        super().__init__(message % self.params)
        if status_code is not None:
            self.status_code = status_code


class NotFoundError(ServiceError):
    """The requested object does not exist (or is outside the caller's scope)."""

    status_code = 404


class ForbiddenError(ServiceError):
    """The caller's role or scope does not admit this."""

    status_code = 403


class ConflictError(ServiceError):
    """The request conflicts with the current state (e.g. a token already used)."""

    status_code = 409


def describe(exc: ServiceError, translate: Callable[..., str]) -> str:
    """The full message of ``exc``: prefixed with its line and field when it came from a file."""
    text = translate(exc.message, **exc.params)
    if exc.line is not None and exc.field and "%(line)" not in exc.message:
        return translate(
            N_("Line %(line)s, field %(field)s: %(message)s"),
            line=exc.line,
            field=exc.field,
            message=text,
        )
    if exc.line is not None and "%(line)" not in exc.message:
        return translate(N_("Line %(line)s: %(message)s"), line=exc.line, message=text)
    return text
