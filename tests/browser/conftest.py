"""Playwright for Python driving Debian's Chromium against pytest-django's live server.

Without /usr/bin/chromium the browser tests skip with the reason; under CI
(SHADAN_REQUIRE_SERVICES=true) they fail instead, so CI can never pass by skipping.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("SHADAN_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Playwright's sync API keeps an event loop in this thread; the ORM calls the tests make
# to set up data are still plain synchronous calls on the test thread.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium); browser tests skipped"
        if os.environ.get("SHADAN_REQUIRE_SERVICES") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    _warn_without_japanese_font()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _warn_without_japanese_font() -> None:
    """Without a CJK font Chromium draws every Japanese character as a box: the tests still
    pass, but the screenshots the README links to are unreadable."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return
    found = subprocess.run(  # noqa: S603 (fixed arguments)
        [fc_list, ":lang=ja", "family"], capture_output=True, text=True, check=False
    ).stdout.strip()
    if not found:
        warnings.warn(
            "no Japanese font installed (apt-get install fonts-ipafont-gothic): "
            "screenshots will show boxes instead of Japanese text",
            stacklevel=2,
        )


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    context = browser.new_context(
        locale="ja-JP", timezone_id="Asia/Tokyo", base_url=live_server.url
    )
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()


def sign_in(page: Any, username: str, password: str, site: str = "") -> None:
    """Sign in on the T&D live server, or on the retail site at `site`."""
    page.goto(f"{site}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("main button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def sign_out(page: Any) -> None:
    page.click("form[action$='/accounts/logout/'] button")
    page.wait_for_url(re.compile(r".*/accounts/login/.*"))


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def retail_live_server(live_server: Any) -> Iterator[str]:
    """The retail site, served beside the T&D live server from the same test databases:
    a second server thread whose every request runs under the retail site's settings
    (config.settings.retail_site.in_process(): its URLs, middleware, sign-in, sessions,
    cookie names, templates). A real retail process would need a database file both
    processes open (tests/retail/test_separate_process.py does that); pytest-django's
    live server shares in-memory SQLite connections between threads only. The browser
    drives one site at a time, so the two never answer at once."""
    import threading
    import urllib.parse

    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.db import connections
    from django.test import override_settings

    from config.settings import retail_site

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    # The T&D live server's host name: cookies ignore ports, as with `make run`'s two
    # sites on one host (the language cookie is shared, the session cookies are not).
    host = urllib.parse.urlsplit(live_server.url).hostname or "localhost"
    retail_settings = {**retail_site.in_process(), "ALLOWED_HOSTS": [host]}

    class RetailSite:
        def __init__(self) -> None:
            with override_settings(**retail_settings):
                self.app = StaticFilesHandler(WSGIHandler())

        def __call__(self, environ: Any, start_response: Any) -> Any:
            with override_settings(**retail_settings):
                return self.app(environ, start_response)

    shared = {
        conn.alias: conn
        for conn in connections.all()
        if conn.vendor == "sqlite" and conn.is_in_memory_db()  # type: ignore[attr-defined]
    }
    server = ThreadedWSGIServer(
        (host, 0), Quiet, allow_reuse_address=False, connections_override=shared
    )
    server.set_app(RetailSite())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
