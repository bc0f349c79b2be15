"""Security at the edge: headers, CSRF, login throttling, rate limits, body size."""

import pytest
from litestar.testing import TestClient

from participation.accounts.roles import Role
from participation.app import create_app
from participation.core.ratelimit import RedisCounter, hit_database


def test_security_headers(client):
    r = client.get("/login")
    csp = r.headers["content-security-policy"]
    assert (
        "script-src 'self'" in csp
        and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    )
    assert "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "strict-transport-security" not in r.headers


def test_hsts_behind_tls(settings):
    app = create_app(settings.model_copy(update={"behind_tls": True}))
    with TestClient(app) as c:
        assert "max-age" in c.get("/health").headers["strict-transport-security"]


def test_form_post_without_csrf_token_is_refused(client, make_user):
    make_user("someone", Role.ADMINISTRATOR)
    r = client.post("/login", data={"username": "someone", "password": "test-pass-123"})
    assert r.status_code == 403


def test_login_is_throttled_after_repeated_failures(client, make_user, csrf):
    make_user("target", Role.ADMINISTRATOR)
    token = csrf(client)
    for _ in range(10):
        r = client.post(
            "/login",
            data={"username": "target", "password": "wrong-password"},
            headers={"x-csrftoken": token},
        )
        assert r.status_code == 401
    r = client.post(
        "/login",
        data={"username": "target", "password": "test-pass-123"},
        headers={"x-csrftoken": token},
    )
    assert r.status_code == 429
    assert "15" in r.text


def test_public_posts_are_rate_limited_per_client(settings):
    app = create_app(settings.model_copy(update={"public_rate_limit": 3}))
    with TestClient(app) as c:
        c.get("/login")
        token = c.cookies.get("csrftoken")
        codes = [
            c.post(
                "/login", data={"username": "x", "password": "y"}, headers={"x-csrftoken": token}
            ).status_code
            for _ in range(4)
        ]
    assert codes[:3] == [401, 401, 401]
    assert codes[3] == 429


def test_forged_forwarded_for_does_not_dodge_the_rate_limit(settings):
    """X-Forwarded-For from an untrusted peer is ignored; from a trusted proxy it names the
    client (the right-most hop that is not a proxy)."""
    from types import SimpleNamespace

    from participation.core.web import client_id

    app = create_app(settings.model_copy(update={"public_rate_limit": 3}))
    with TestClient(app) as c:
        c.get("/login")
        token = c.cookies.get("csrftoken")
        codes = [
            c.post(
                "/login",
                data={"username": "x", "password": "y"},
                headers={"x-csrftoken": token, "x-forwarded-for": f"10.0.0.{k}"},
            ).status_code
            for k in range(4)
        ]
    assert codes == [401, 401, 401, 429]

    def request(peer: str, forwarded: str | None) -> SimpleNamespace:
        headers = {"x-forwarded-for": forwarded} if forwarded else {}
        state = SimpleNamespace(
            settings=settings.model_copy(update={"trusted_proxies": "10.1.1.1"})
        )
        return SimpleNamespace(
            client=SimpleNamespace(host=peer), headers=headers, app=SimpleNamespace(state=state)
        )

    assert client_id(request("10.1.1.1", "203.0.113.9")) == "203.0.113.9"
    assert client_id(request("10.1.1.1", "6.6.6.6, 203.0.113.9, 10.1.1.1")) == "203.0.113.9"
    assert client_id(request("198.51.100.7", "203.0.113.9")) == "198.51.100.7"
    assert client_id(request("198.51.100.7", None)) == "198.51.100.7"


def test_database_counter_windows(engine):
    from datetime import UTC, datetime

    t0 = datetime(2026, 1, 1, 10, 0, 5, tzinfo=UTC)
    assert [hit_database(engine, "k", t0) for _ in range(3)] == [1, 2, 3]
    assert hit_database(engine, "k", t0.replace(minute=1)) == 1
    assert hit_database(engine, "other", t0) == 1


def test_redis_counter():
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/15").ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    from datetime import UTC, datetime

    counter = RedisCounter("redis://127.0.0.1:6379/15")
    t = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    key = f"test-{id(counter)}"
    assert [counter.hit(key, t) for _ in range(2)] == [1, 2]

    async def on_the_loop() -> list[int]:  # the middleware's way: same counters, no thread
        return [await counter.ahit(key, t) for _ in range(2)]

    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    def run(coro_fn):  # a thread of its own: browser tests may leave a loop in the main thread
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, coro_fn()).result()

    assert run(on_the_loop) == [3, 4]
    assert run(on_the_loop) == [5, 6]  # a new loop gets its own connection


def test_oversized_body_is_refused_early(settings, make_user, csrf):
    app = create_app(settings.model_copy(update={"max_body_bytes": 1024}))
    make_user("admin1", Role.ADMINISTRATOR)
    with TestClient(app) as c:
        from tests.conftest import login

        login(c, "admin1")
        r = c.post(
            "/api/units/import",
            files={"data": ("u.csv", b"x" * 5000, "text/csv")},
            headers={"x-csrftoken": csrf(c)},
        )
    assert r.status_code == 413
