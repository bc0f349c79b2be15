"""Platform pieces: plotly.js from the installed package, settings from the environment, demo."""

from pathlib import Path

import plotly
from sqlmodel import Session, func, select

from participation.accounts.models import User
from participation.db import engine_for
from participation.geography.models import PopulationCell, Unit
from participation.settings import Settings, load_settings


def test_plotly_js_is_served_from_the_installed_package(client):
    r = client.get("/vendor/plotly.min.js")
    assert r.status_code == 200
    bundled = (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_bytes()
    assert r.content == bundled
    assert not list(Path(__file__).resolve().parents[1].glob("frontend/**/plotly*.js"))


def test_settings_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PARTICIPATION_DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("PARTICIPATION_DEFAULT_LOCALE", "en")
    settings = load_settings()
    assert settings.database_url == "postgresql+psycopg://u@h/db"
    assert settings.default_locale == "en" and not settings.is_sqlite
    # Secrets not given are generated once and kept, so every worker shares them.
    again = load_settings()
    assert settings.secret_key and settings.secret_key == again.secret_key
    assert settings.fernet_keys() == again.fernet_keys()


def test_default_database_is_sqlite_in_the_working_directory(monkeypatch):
    monkeypatch.delenv("PARTICIPATION_DATABASE_URL", raising=False)
    assert Settings().database_url == "sqlite:///participation.db"


def test_demo_builds_linyi(tmp_path, monkeypatch):
    from participation.demo import build_demo

    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    settings = load_settings(database_url=url, upload_dir=tmp_path / "uploads")
    accounts = build_demo(settings, seed=7, echo=lambda _m: None)
    roles = {role for _, _, role, _ in accounts}
    assert roles >= {
        "administrator",
        "official",
        "supervisor",
        "interviewer",
        "volunteer",
        "reward_officer",
    }
    with Session(engine_for(url)) as session:
        levels = dict(session.exec(select(Unit.level, func.count()).group_by(Unit.level)).all())
        assert levels["county"] == 13 and levels["street"] == 156 and levels["city"] == 1
        assert session.exec(select(func.count()).select_from(PopulationCell)).one() == 156 * 8
        city = session.get(Unit, "3713")
        assert city.population and city.population > 1_000_000
        assert session.exec(select(func.count()).select_from(User)).one() >= len(accounts)
    engine_for(url).dispose()


def test_handlers_sharing_a_path_are_wrapped_for_threads_once(settings):
    """Litestar wraps earlier sync handlers of a shared path twice; the app undoes it, so a
    page and a form post on one path both answer (not a 500 from a stray coroutine)."""
    from litestar import Litestar, get, post
    from litestar.response import Redirect
    from litestar.routes import HTTPRoute
    from litestar.testing import TestClient
    from litestar.utils.sync import AsyncCallable

    from participation.app import create_app, unwrap_double_thread_wrappers

    @get("/x", sync_to_thread=True)
    def page() -> Redirect:
        return Redirect("/a")

    @post("/x", sync_to_thread=True, status_code=200)
    def form() -> Redirect:
        return Redirect("/b")

    toy = Litestar([page, form])
    unwrap_double_thread_wrappers(toy)
    with TestClient(toy) as c:
        assert c.get("/x", follow_redirects=False).status_code == 302
        assert c.post("/x", follow_redirects=False).status_code == 302

    app = create_app(settings)
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler in route.route_handlers:
                fn = getattr(handler, "_fn", None)
                assert not (isinstance(fn, AsyncCallable) and isinstance(fn.func, AsyncCallable)), (
                    f"{route.path} {handler.handler_name} is wrapped twice"
                )
