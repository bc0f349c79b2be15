"""Platform-wide routes: health, home, sign-in, language, vendor assets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import plotly
from litestar import Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import File, Redirect, Template
from pydantic import BaseModel, Field
from sqlalchemy import text

from participation import __version__
from participation.accounts import service as accounts
from participation.accounts.roles import ALL_ROLES
from participation.core.deps import DB, AppSettings, Client
from participation.core.i18n import SUPPORTED_LOCALES, gettext, normalise_locale
from participation.core.web import (
    LANG_COOKIE,
    SESSION_COOKIE,
    UserDep,
    admits,
    create_login_session,
    hash_session_id,
    locale_of,
    public,
    render,
)

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


class Health(BaseModel):
    """Health of the service."""

    status: str = Field(description="ok when the database answers")
    version: str
    database: str = Field(description="sqlite or postgresql")


@get("/health", opt=public(), tags=["platform"], operation_id="health", sync_to_thread=True)
def health(db: DB, settings: AppSettings) -> Health:
    """Liveness and database check."""
    db.exec(text("SELECT 1"))  # type: ignore[call-overload]
    return Health(
        status="ok",
        version=__version__,
        database="sqlite" if settings.is_sqlite else "postgresql",
    )


@get("/", opt=public(), include_in_schema=False, sync_to_thread=False)
def home(request: Request[Any, Any, Any]) -> Template:
    """The landing page: links to what the visitor may use."""
    return render(request, "home.html")


@get("/vendor/plotly.min.js", opt=public(), include_in_schema=False, sync_to_thread=False)
def plotly_js() -> File:
    """plotly.js bundled with the installed plotly package (matches its figure JSON)."""
    return File(
        path=PLOTLY_JS, media_type="application/javascript", content_disposition_type="inline"
    )


@get("/login", opt=public(), include_in_schema=False, sync_to_thread=False)
def login_page(request: Request[Any, Any, Any]) -> Template:
    """The sign-in form."""
    target = request.query_params.get("next", "/")
    return render(request, "login.html", next=_safe_next(target), error=None, username="")


class LoginForm(BaseModel):
    """Sign-in form fields."""

    username: str = ""
    password: str = ""
    next: str = "/"


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") else "/"


@post("/login", opt=public(), include_in_schema=False, sync_to_thread=True, status_code=303)
def login_submit(
    request: Request[Any, Any, Any],
    db: DB,
    settings: AppSettings,
    client: Client,
    data: Annotated[LoginForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Response[Any]:
    """Check the credentials (throttled per username and client) and start a session."""
    locale = locale_of(request)
    key = f"{data.username.strip().lower()}|{client}"
    if accounts.recent_failures(db, key) >= settings.login_rate_limit:
        response = render(
            request,
            "login.html",
            next=_safe_next(data.next),
            username=data.username,
            error=gettext("Too many failed sign-ins. Please wait 15 minutes.", locale),
        )
        response.status_code = 429
        return response  # type: ignore[return-value]
    user = accounts.authenticate(db, data.username, data.password)
    if user is None:
        accounts.record_failure(db, key)
        db.commit()
        response = render(
            request,
            "login.html",
            next=_safe_next(data.next),
            username=data.username,
            error=gettext("Wrong username or password.", locale),
        )
        response.status_code = 401
        return response  # type: ignore[return-value]
    accounts.clear_failures(db, key)
    raw = create_login_session(db, user, settings, client)
    db.commit()
    redirect = Redirect(path=_safe_next(data.next), status_code=303)
    redirect.set_cookie(
        SESSION_COOKIE,
        raw,
        httponly=True,
        samesite="lax",
        secure=settings.behind_tls,
        max_age=settings.session_hours * 3600,
        path="/",
    )
    return redirect  # type: ignore[return-value]


@post(
    "/logout", opt=admits(*ALL_ROLES), include_in_schema=False, sync_to_thread=True, status_code=303
)
def logout(request: Request[Any, Any, Any], db: DB, user: UserDep) -> Response[Any]:
    """End the session."""
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        accounts.end_session(db, hash_session_id(raw))
        db.commit()
    redirect = Redirect(path="/", status_code=303)
    redirect.delete_cookie(SESSION_COOKIE, path="/")
    return redirect  # type: ignore[return-value]


@get("/lang/{code:str}", opt=public(), include_in_schema=False, sync_to_thread=False)
def switch_language(request: Request[Any, Any, Any], code: FromPath[str]) -> Redirect:
    """Remember the chosen language in a cookie and go back."""
    locale = normalise_locale(code) or locale_of(request)
    target = _safe_next(request.query_params.get("next", "/"))
    redirect = Redirect(path=target, status_code=303)
    redirect.set_cookie(LANG_COOKIE, locale, max_age=365 * 24 * 3600, samesite="lax", path="/")
    return redirect


class Me(BaseModel):
    """The signed-in user."""

    id: int
    username: str
    display_name: str
    role: str
    unit_code: str | None
    locale: str = Field(description=f"one of {', '.join(SUPPORTED_LOCALES)}")


@get("/api/me", opt=admits(*ALL_ROLES), tags=["accounts"], operation_id="me", sync_to_thread=False)
def me(request: Request[Any, Any, Any], user: UserDep) -> Me:
    """Who am I."""
    return Me(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        unit_code=user.unit_code,
        locale=locale_of(request),
    )


route_handlers: list[Any] = [
    health,
    home,
    plotly_js,
    login_page,
    login_submit,
    logout,
    switch_language,
    me,
]
