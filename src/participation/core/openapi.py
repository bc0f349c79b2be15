"""The error answers of every JSON operation, documented in /schema/openapi.json.

Handlers declare who they admit and raise service errors; the edge turns these into 4xx JSON
answers (``{"status_code", "detail", "field"?, "line"?}``). :func:`document_errors` adds them to
each handler's ``raises`` so the OpenAPI document lists every status code a client may get:

* 400 bad input (validation or a :class:`~participation.core.errors.ServiceError`), everywhere;
* 401 and 403 on routes that admit roles (not signed in / role or scope refused);
* 404 everywhere (unknown ids in the path, body or query);
* 409 on operations that change data (conflicts: a used token, a case held by another);
* 413 on operations with a body; 429 on public operations that are rate-limited.

Handlers answering their own errors in another shape (Open311's ``[{"code", "description"}]``)
name that shape in ``opt["error_body"]``; it documents their 400, 403, 404 and 409 answers.
"""

from __future__ import annotations

from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    TooManyRequestsException,
    ValidationException,
)
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec

OWN_SHAPE = (400, 403, 404, 409)


class ConflictException(HTTPException):
    """409: the request conflicts with the current state."""

    status_code = 409
    detail = "Conflict"


class TooLargeException(HTTPException):
    """413: the body is larger than allowed."""

    status_code = 413
    detail = "Request Entity Too Large"


def _errors_of(handler: HTTPRouteHandler) -> list[type[HTTPException]]:
    methods = handler.http_methods - {"OPTIONS", "HEAD"}
    changes = bool(methods - {"GET"})
    public = bool(handler.opt.get("public"))
    errors: list[type[HTTPException]] = [ValidationException, NotFoundException]
    if not public:
        errors += [NotAuthorizedException, PermissionDeniedException]
    if changes:
        errors += [ConflictException, TooLargeException]
    if public and (changes or handler.opt.get("rate_limit")):
        errors.append(TooManyRequestsException)
    return errors


def document_errors(handlers: Iterable[Any]) -> None:
    """Add the error answers each JSON handler can give to its ``raises`` (idempotent)."""
    for handler in handlers:
        if not isinstance(handler, HTTPRouteHandler) or handler.include_in_schema is False:
            continue
        raises = list(handler.raises or [])
        responses = dict(handler.responses or {})
        body = handler.opt.get("error_body")
        for error in _errors_of(handler):
            if body is not None and error.status_code in OWN_SHAPE:
                responses.setdefault(
                    error.status_code,
                    ResponseSpec(
                        data_container=body,
                        description=HTTPStatus(error.status_code).phrase,
                        generate_examples=False,
                    ),
                )
            elif error not in raises:
                raises.append(error)
        handler.raises = raises
        handler.responses = responses or None
