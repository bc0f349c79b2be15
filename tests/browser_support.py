"""Browser-test fixtures: a live server on the test database and a Chromium page.

Browser tests are marked ``browser``. They need Debian's Chromium (``/usr/bin/chromium``) and the
Playwright package; when either is missing they are skipped with the reason (never passed).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

CHROMIUM = os.environ.get("PARTICIPATION_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    """A running server: its base URL."""

    url: str

    def __call__(self, path: str = "/") -> str:
        """The absolute URL of ``path``."""
        return self.url + path


@pytest.fixture
def live_server(app: Any) -> Iterator[LiveServer]:
    """Serve the test app with uvicorn on a free loopback port, in a background thread."""
    import uvicorn

    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the live server did not start")
        time.sleep(0.02)
    yield LiveServer(f"http://127.0.0.1:{port}")
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def _browser() -> Iterator[Any]:
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_context_args() -> dict[str, Any]:
    """Options of the browser context (override in a test module for a phone viewport)."""
    return {"viewport": {"width": 1280, "height": 900}, "locale": "zh-CN"}


@pytest.fixture
def page(_browser: Any, browser_context_args: dict[str, Any]) -> Iterator[Any]:
    """A fresh Chromium page (its own cookies); accepts downloads."""
    context = _browser.new_context(accept_downloads=True, **browser_context_args)
    context.set_default_timeout(15000)
    pg = context.new_page()
    yield pg
    context.close()


PHONE_VIEWPORT = {
    "viewport": {"width": 360, "height": 740},
    "locale": "zh-CN",
    "is_mobile": True,
    "has_touch": True,
}
