"""Web-edge helpers shared by every domain: who is asking, what they may do, how pages render.

Every route handler declares who it admits, through ``opt``:

* ``opt=public()`` — anyone, residents included (web survey, report form, public bulletins);
* ``opt=admits(Role.OFFICIAL, ...)`` — signed-in users with one of these roles.

The global :func:`access_guard` refuses any handler that declares neither (fail closed), and a
test walks the route table to check every non-public route refuses anonymous requests.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import anyio
from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.enums import ScopeType
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.handlers import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.response import Redirect, Template
from litestar.types import ASGIApp, Receive, Scope, Send
from markupsafe import Markup
from sqlalchemy import Engine
from sqlmodel import Session, select

from participation.accounts.models import LoginSession, User
from participation.accounts.roles import Role
from participation.core.errors import ServiceError, describe
from participation.core.i18n import DEFAULT_LOCALE, N_, Formatter, gettext, negotiate
from participation.core.timeutil import utcnow
from participation.settings import Settings

SESSION_COOKIE = "participation_session"
LANG_COOKIE = "lang"


@dataclass(frozen=True, slots=True)
class CurrentUser:
    """The signed-in user of a request (a plain snapshot, safe to pass between threads)."""

    id: int
    username: str
    display_name: str
    role: str
    unit_code: str | None

    def has(self, *roles: Role) -> bool:
        """True when the user holds one of ``roles``."""
        return self.role in {r.value for r in roles}


def public() -> dict[str, Any]:
    """Handler option: admits anyone, residents without an account included."""
    return {"public": True}


def admits(*roles: Role) -> dict[str, Any]:
    """Handler option: admits signed-in users holding one of ``roles``."""
    if not roles:
        raise ValueError("admits() needs at least one role")
    return {"roles": tuple(r.value for r in roles)}


def hash_session_id(raw: str) -> str:
    """The stored form of a session id (the cookie value is never stored)."""
    return hashlib.sha256(raw.encode()).hexdigest()


def _load_user(engine: Engine, raw: str) -> CurrentUser | None:
    with Session(engine) as session:
        row = session.exec(
            select(User, LoginSession)
            .join(LoginSession, LoginSession.user_id == User.id)  # type: ignore[arg-type]
            .where(LoginSession.id_hash == hash_session_id(raw))
        ).first()
        if row is None:
            return None
        user, login = row
        if login.expires_at < utcnow() or not user.active or user.id is None:
            return None
        return CurrentUser(user.id, user.username, user.display_name, user.role, user.unit_code)


def create_login_session(session: Session, user: User, settings: Settings, client: str) -> str:
    """Start a login session for ``user``; returns the raw id to put in the cookie."""
    raw = secrets.token_urlsafe(32)
    assert user.id is not None
    session.add(
        LoginSession(
            id_hash=hash_session_id(raw),
            user_id=user.id,
            expires_at=utcnow() + timedelta(hours=settings.session_hours),
            client=client[:80],
        )
    )
    return raw


class AuthMiddleware(ASGIMiddleware):
    """Puts the signed-in user (or None) into ``scope["user"]`` and the locale into state."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Resolve the user and locale, then call the app."""
        if scope["type"] == "http":
            request: Request[Any, Any, Any] = Request(scope)
            raw = request.cookies.get(SESSION_COOKIE)
            user = None
            if raw:
                engine = scope["app"].state.engine
                user = await anyio.to_thread.run_sync(_load_user, engine, raw)
            scope["user"] = user
            settings: Settings = scope["app"].state.settings
            locale = negotiate(
                request.query_params.get("lang"),
                request.cookies.get(LANG_COOKIE),
                request.headers.get("accept-language"),
                settings.default_locale,
            )
            scope.setdefault("state", {})["locale"] = locale
        await next_app(scope, receive, send)


def current_user(connection: ASGIConnection[Any, Any, Any, Any]) -> CurrentUser | None:
    """The signed-in user, or None."""
    return connection.scope.get("user")  # type: ignore[return-value]


def require_user(connection: ASGIConnection[Any, Any, Any, Any]) -> CurrentUser:
    """The signed-in user; raises 401 when nobody is signed in."""
    user = current_user(connection)
    if user is None:
        raise NotAuthorizedException(detail=gettext("Please sign in.", locale_of(connection)))
    return user


def locale_of(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The negotiated locale of a request."""
    state = connection.scope.get("state") or {}
    return state.get("locale", DEFAULT_LOCALE)


async def access_guard(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Global guard: admit only what the handler declares (``public`` or ``roles``).

    A coroutine, so that it runs on the event loop: it does no I/O (the user was resolved by
    :class:`AuthMiddleware`), and Litestar would run a plain function in a worker thread."""
    opt = handler.opt
    if opt.get("public"):
        return
    roles = opt.get("roles")
    if not roles:
        raise PermissionDeniedException(detail="This route declares no roles; refused.")
    user = require_user(connection)
    if user.role not in roles:
        raise PermissionDeniedException(
            detail=gettext("Your role does not give access to this page.", locale_of(connection))
        )


def provide_user(request: Request[Any, Any, Any]) -> CurrentUser:
    """Dependency: the signed-in user (guards have already refused anonymous requests)."""
    return require_user(request)


def provide_optional_user(request: Request[Any, Any, Any]) -> CurrentUser | None:
    """Dependency: the signed-in user or None on public routes."""
    return current_user(request)


def provide_locale(request: Request[Any, Any, Any]) -> str:
    """Dependency: the request's locale."""
    return locale_of(request)


class Page(Template):
    """A template response whose ``csrf_input`` is markup (Litestar passes it as plain text)."""

    def create_template_context(self, request: Request[Any, Any, Any]) -> dict[str, Any]:
        """The context with ``csrf_input`` marked safe for autoescaping."""
        context = super().create_template_context(request)
        context["csrf_input"] = Markup(context["csrf_input"])
        return context


def render(request: Request[Any, Any, Any], template: str, **context: Any) -> Template:
    """Render ``template`` with the request's translations, formatter, user and locale."""
    from participation.core.templating import template_globals

    context.update(template_globals(request))
    return Page(template_name=template, context=context)


def client_id(request: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The client address used for rate limits and audit.

    ``X-Forwarded-For`` is believed only from a trusted proxy (``Settings.trusted_proxies``):
    the client is then the right-most hop that is not itself a trusted proxy. From anyone
    else the header is ignored, so a client cannot dodge its rate limit by inventing it."""
    peer = request.client.host if request.client else "unknown"
    forwarded = request.headers.get("x-forwarded-for")
    if not forwarded:
        return peer
    settings = getattr(request.app.state, "settings", None)
    trusted = {
        a.strip() for a in (settings.trusted_proxies if settings else "").split(",") if a.strip()
    }
    if peer not in trusted:
        return peer
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    for hop in reversed(hops):
        if hop not in trusted:
            return hop[:80]
    return hops[0][:80] if hops else peer


def _wants_html(request: Request[Any, Any, Any]) -> bool:
    if request.url.path.startswith(("/api/", "/open311/")):
        return False
    accept = request.headers.get("accept", "")
    return "text/html" in accept or not accept or request.method == "GET"


def service_error_handler(request: Request[Any, Any, Any], exc: ServiceError) -> Response[Any]:
    """Translate a :class:`ServiceError` into a 4xx answer naming the field."""
    locale = locale_of(request)
    message = describe(exc, lambda msg, **kw: gettext(msg, locale, **kw))
    body: dict[str, Any] = {"status_code": exc.status_code, "detail": message}
    if exc.field:
        body["field"] = exc.field
    if exc.line is not None:
        body["line"] = exc.line
    if _wants_html(request):
        response = render(
            request,
            "error.html",
            status_code=exc.status_code,
            message=message,
            field=exc.field,
            line=exc.line,
        )
        response.status_code = exc.status_code
        return response  # type: ignore[return-value]
    return Response(body, status_code=exc.status_code)


def http_error_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """Pages: send anonymous visitors to the sign-in page; API: JSON errors."""
    locale = locale_of(request)
    if isinstance(exc, NotAuthorizedException) and _wants_html(request):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return Redirect(path=f"/login?next={target}", status_code=303)  # type: ignore[return-value]
    detail = exc.detail
    body: dict[str, Any] = {"status_code": exc.status_code, "detail": detail}
    if isinstance(exc, ValidationException) and exc.extra:
        body["extra"] = exc.extra
        fields = [e.get("key") for e in exc.extra if isinstance(e, dict) and e.get("key")]
        if fields:
            body["field"] = fields[0]
            body["detail"] = gettext("Invalid value for %(field)s.", locale, field=fields[0])
    if _wants_html(request) and exc.status_code in (403, 404, 405, 413, 429):
        messages = {
            403: N_("Your role does not give access to this page."),
            404: N_("This page does not exist."),
            405: N_("This method is not allowed here."),
            413: N_("The request is too large."),
            429: N_("Too many requests. Please wait a moment and try again."),
        }
        response = render(
            request,
            "error.html",
            status_code=exc.status_code,
            message=gettext(messages[exc.status_code], locale),
            field=None,
            line=None,
        )
        response.status_code = exc.status_code
        return response  # type: ignore[return-value]
    return Response(body, status_code=exc.status_code, headers=getattr(exc, "headers", None))


# The database's integer columns are 32-bit on PostgreSQL; larger ids cannot exist.
MAX_ID = 2**31 - 1


def bad_input_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Hostile input that fails below the services: integers the database cannot hold
    (``OverflowError``, ``DataError``), multipart bodies without the file part (Litestar
    raises ``RuntimeError`` from ``StopIteration``) or with a field that is not UTF-8 text
    (``UnicodeDecodeError``). 404 for an impossible id in the path,
    400 otherwise, naming the field; anything else stays a logged 500."""
    locale = locale_of(request)
    if isinstance(exc, RuntimeError) and not isinstance(exc.__cause__, StopIteration):
        logging.getLogger("participation").error("unhandled error", exc_info=exc)
        return Response({"status_code": 500, "detail": "Internal Server Error"}, status_code=500)
    for name, value in request.path_params.items():
        if isinstance(value, int) and not -MAX_ID - 1 <= value <= MAX_ID:
            body = {
                "status_code": 404,
                "detail": gettext("This page does not exist.", locale),
                "field": name,
            }
            return Response(body, status_code=404)
    body = {
        "status_code": 400,
        "detail": gettext("Invalid value for %(field)s.", locale, field="data"),
        "field": "data",
    }
    return Response(body, status_code=400)


def formatter(request: Request[Any, Any, Any]) -> Formatter:
    """A formatter bound to the request's locale."""
    return Formatter(locale_of(request))


UserDep = NamedDependency[CurrentUser]
OptionalUserDep = NamedDependency[CurrentUser | None]
