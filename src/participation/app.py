"""The Litestar application factory."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Router
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig
from litestar.utils.sync import AsyncCallable
from sqlalchemy.exc import DataError

from participation import __version__
from participation.core import routes as core_routes
from participation.core.deps import provide_client, provide_session, provide_settings
from participation.core.errors import ServiceError
from participation.core.openapi import document_errors
from participation.core.ratelimit import RateLimitMiddleware
from participation.core.security import make_security_headers_hook
from participation.core.templating import STATIC_DIR, TEMPLATES_DIR, configure_environment
from participation.core.web import (
    AuthMiddleware,
    access_guard,
    bad_input_handler,
    http_error_handler,
    provide_locale,
    provide_optional_user,
    provide_user,
    public,
    service_error_handler,
)
from participation.db import check_schema, get_engine
from participation.settings import Settings, get_settings


def domain_route_handlers() -> list[Any]:
    """Route handlers of every domain, in a fixed order."""
    from participation.accounts import routes as accounts
    from participation.dashboards import routes as dashboards
    from participation.fieldwork import routes as fieldwork
    from participation.geography import routes as geography
    from participation.media import routes as media
    from participation.reports import routes as reports
    from participation.scoring import routes as scoring
    from participation.surveys import routes as surveys
    from participation.volunteers import routes as volunteers

    handlers: list[Any] = list(core_routes.route_handlers)
    domains = (
        accounts,
        geography,
        media,
        surveys,
        fieldwork,
        volunteers,
        reports,
        scoring,
        dashboards,
    )
    for module in domains:
        handlers.extend(module.route_handlers)
    document_errors(handlers)
    return handlers


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the app for ``settings`` (the environment's when omitted)."""
    settings = settings or get_settings()
    engine = get_engine(settings)
    if settings.check_schema:
        check_schema(engine)  # refuse to start on an outdated schema, with a clear message

    template_config = TemplateConfig(
        directory=TEMPLATES_DIR,
        engine=JinjaTemplateEngine,
        engine_callback=lambda e: configure_environment(e.engine),
    )
    app = Litestar(
        route_handlers=[
            *domain_route_handlers(),
            create_static_files_router(
                path="/static",
                directories=[STATIC_DIR],
                opt={"public": True},
                include_in_schema=False,
            ),
        ],
        state=State({"settings": settings, "engine": engine}),
        dependencies={
            "db": Provide(provide_session),
            "settings": Provide(provide_settings, sync_to_thread=False),
            "user": Provide(provide_user, sync_to_thread=False),
            "optional_user": Provide(provide_optional_user, sync_to_thread=False),
            "locale": Provide(provide_locale, sync_to_thread=False),
            "client": Provide(provide_client, sync_to_thread=False),
        },
        guards=[access_guard],
        middleware=[AuthMiddleware(), RateLimitMiddleware()],
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_secure=settings.behind_tls,
            cookie_samesite="lax",
            exclude_from_csrf_key="exclude_from_csrf",
        ),
        template_config=template_config,
        exception_handlers={
            ServiceError: service_error_handler,
            HTTPException: http_error_handler,
            OverflowError: bad_input_handler,
            DataError: bad_input_handler,
            RuntimeError: bad_input_handler,
            UnicodeDecodeError: bad_input_handler,
        },
        before_send=[make_security_headers_hook(settings.behind_tls)],
        openapi_config=OpenAPIConfig(
            title="participation API",
            version=__version__,
            description="Citizen-satisfaction surveys and public participation for "
            "city-management bureaus. HTML pages are not listed; every JSON endpoint is.",
            path="/schema",
            openapi_router=Router(
                path="/schema", route_handlers=[], opt=public(), include_in_schema=False
            ),
            render_plugins=[SwaggerRenderPlugin()],
        ),
        request_max_body_size=settings.max_body_bytes,
        debug=settings.debug,
    )
    unwrap_double_thread_wrappers(app)
    return app


def unwrap_double_thread_wrappers(app: Litestar) -> None:
    """Undo Litestar 2.x wrapping a ``sync_to_thread`` handler for the worker thread twice.

    When several handlers share a path, Litestar registers the earlier ones again and wraps
    their (already wrapped) function once more: the handler then returns a coroutine instead of
    its response, which breaks handlers returning a ``Template`` or ``Redirect``. One wrapper is
    what Litestar means to apply; this strips the extra ones."""
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            fn = getattr(handler, "_fn", None)
            while isinstance(fn, AsyncCallable) and isinstance(fn.func, AsyncCallable):
                fn = fn.func
            if fn is not None and fn is not getattr(handler, "_fn", None):
                handler._fn = fn
