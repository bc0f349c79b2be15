"""Dependencies injected into route handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlmodel import Session

from participation.settings import Settings


async def provide_session(state: State) -> AsyncIterator[Session]:
    """A database session for one request (handlers run in worker threads, never on the loop).

    Making the session does no I/O. Closing it does while it still holds a transaction, and is
    then done in a worker thread; a session its handler already closed needs no thread."""
    session = Session(state.engine, expire_on_commit=False)
    try:
        yield session
    finally:
        if session.in_transaction():
            await anyio.to_thread.run_sync(session.close)
        else:
            session.close()


def provide_settings(state: State) -> Settings:
    """The app's settings."""
    return state.settings  # type: ignore[no-any-return]


def provide_client(request: Request[Any, Any, Any]) -> str:
    """The client address (rate limits, audit)."""
    from participation.core.web import client_id

    return client_id(request)


# Explicitly marked dependency types for handler signatures (Litestar 3 stops inferring them).
DB = NamedDependency[Session]
AppSettings = NamedDependency[Settings]
Client = NamedDependency[str]
Locale = NamedDependency[str]
