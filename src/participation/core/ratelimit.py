"""Per-client rate limits on public endpoints, shared by every app process.

Counters live in Redis when ``PARTICIPATION_REDIS_URL`` is set, otherwise in the database
(``rate_counter``, a fixed one-minute window per key, updated with one atomic upsert), so several
workers behind one database enforce one limit.
"""

from __future__ import annotations

import asyncio
import weakref
from datetime import datetime, timedelta
from typing import Any

import anyio
from litestar import Request
from litestar.enums import ScopeType
from litestar.exceptions import TooManyRequestsException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send
from sqlalchemy import Engine, case
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from participation.core.models import RateCounter
from participation.core.timeutil import utcnow

WINDOW = timedelta(minutes=1)


def _window_start(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


def hit_database(engine: Engine, key: str, now: datetime | None = None) -> int:
    """Count one request for ``key`` in the current window; returns the count so far."""
    start = _window_start(now or utcnow())
    insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    table = RateCounter.__table__  # type: ignore[attr-defined]
    stmt = insert(table).values(key=key, window_start=start, count=1)
    stale = table.c.window_start < start
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={
            "count": case((stale, 1), else_=table.c.count + 1),
            "window_start": case((stale, start), else_=table.c.window_start),
        },
    ).returning(table.c.count)
    with engine.begin() as conn:
        return int(conn.execute(stmt).scalar_one())


# INCR, and EXPIRE on the window's first hit, as one atomic command with one reply.
_HIT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""
_TTL = int(WINDOW.total_seconds()) + 5


class RedisCounter:
    """Fixed-window counters in Redis: one Lua call per hit (INCR, EXPIRE on the first).

    :meth:`ahit` is used on the event loop (no worker thread per request), with one client
    per loop, since an asyncio connection belongs to the loop that opened it."""

    def __init__(self, url: str) -> None:
        import redis

        self.url = url
        self._client = redis.Redis.from_url(url)
        self._script = self._client.register_script(_HIT_SCRIPT)
        self._async: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()

    @staticmethod
    def _key(key: str, now: datetime | None) -> str:
        start = _window_start(now or utcnow())
        return f"participation:rate:{key}:{int(start.timestamp())}"

    def hit(self, key: str, now: datetime | None = None) -> int:
        """Count one request for ``key`` in the current window; returns the count so far."""
        return int(self._script(keys=[self._key(key, now)], args=[_TTL]))

    async def ahit(self, key: str, now: datetime | None = None) -> int:
        """:meth:`hit` for the running event loop."""
        import redis.asyncio

        loop = asyncio.get_running_loop()
        script = self._async.get(loop)
        if script is None:
            client = redis.asyncio.Redis.from_url(self.url)
            script = self._async[loop] = client.register_script(_HIT_SCRIPT)
        return int(await script(keys=[self._key(key, now)], args=[_TTL]))


def limit_group(path: str) -> str:
    """The group a public path counts against (survey, report, open311, other)."""
    for prefix, group in (("/s/", "survey"), ("/report", "report"), ("/open311", "open311")):
        if path.startswith(prefix):
            return group
    return "public"


class RateLimitMiddleware(ASGIMiddleware):
    """Refuses (429) a client exceeding ``Settings.public_rate_limit`` requests per minute on
    public routes that change data or are meant for external apps (``opt["rate_limit"]``)."""

    scopes = (ScopeType.HTTP,)

    def __init__(self) -> None:
        self._redis: dict[str, RedisCounter] = {}

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Count and possibly refuse the request, then call the app."""
        handler = scope.get("route_handler")
        opt = getattr(handler, "opt", {}) or {}
        method = scope.get("method", "GET")
        limited = opt.get("public") and (method not in ("GET", "HEAD") or opt.get("rate_limit"))
        if limited:
            from participation.core.web import client_id

            app = scope["app"]
            settings = app.state.settings
            request: Request[Any, Any, Any] = Request(scope)
            key = f"{limit_group(scope['path'])}|{client_id(request)}"
            if settings.redis_url:
                counter = self._redis.get(settings.redis_url)
                if counter is None:
                    counter = self._redis[settings.redis_url] = RedisCounter(settings.redis_url)
                count = await counter.ahit(key)
            else:
                count = await anyio.to_thread.run_sync(hit_database, app.state.engine, key)
            if count > settings.public_rate_limit:
                raise TooManyRequestsException(
                    detail="Too many requests. Please wait a moment and try again.",
                    headers={"retry-after": "60"},
                )
        await next_app(scope, receive, send)
