"""Playwright for Python driving Debian's Chromium against pytest-django's live server.

Without /usr/bin/chromium the browser tests skip with the reason; under CI
(SHADAN_REQUIRE_SERVICES=true) they fail instead, so CI can never pass by skipping.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import threading
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


@contextlib.contextmanager
def settings_in_threads(overrides: dict[str, Any], scope: threading.local) -> Iterator[None]:
    """`overrides` as the settings of the threads that set `scope.active`, and of no other.

    override_settings changes the settings of the whole process: while a retail request
    ran under it, the test's own thread and the T&D live server read the retail site's
    settings too (its authentication backends refused a clerk's permission; its URLs
    answered the T&D site's pages), and two retail requests overlapping in their threads
    could leave them in place for good. Here the retail server's threads read `overrides`
    (and the template engines built from its TEMPLATES); every other thread reads the
    settings as they are. LazySettings caches each value it reads in its instance
    dictionary, so the scoped names are answered before that cache is looked at."""
    from django.conf import settings
    from django.template import engines
    from django.template.utils import EngineHandler

    retail_engines = EngineHandler(templates=overrides.get("TEMPLATES"))
    settings_class = type(settings)
    engines_class = type(engines)

    class ScopedSettings(settings_class):  # type: ignore[misc, valid-type]
        def __getattribute__(self, name: str) -> Any:
            if name in overrides and getattr(scope, "active", False):
                return overrides[name]
            return super().__getattribute__(name)

    class ScopedEngines(engines_class):  # type: ignore[misc, valid-type]
        # EngineHandler's methods reach its configuration through these three names.
        def __getattribute__(self, name: str) -> Any:
            if name in ("templates", "_templates", "_engines") and getattr(scope, "active", False):
                return getattr(retail_engines, name)
            return super().__getattribute__(name)

    # LazyObject answers `__class__` for the object it wraps: set the proxy's own class
    # through object's slot.
    set_class = object.__dict__["__class__"].__set__
    set_class(settings, ScopedSettings)
    set_class(engines, ScopedEngines)
    try:
        yield
    finally:
        set_class(settings, settings_class)
        set_class(engines, engines_class)


@pytest.fixture
def retail_live_server(live_server: Any) -> Iterator[str]:
    """The retail site, served beside the T&D live server from the same test databases:
    a second server whose request threads, and only those, run under the retail site's
    settings (config.settings.retail_site.in_process(): its URLs, middleware, sign-in,
    sessions, cookie names, templates; see settings_in_threads). A real retail process
    would need a database file both processes open (tests/retail/test_separate_process.py
    does that); pytest-django's live server shares in-memory SQLite connections between
    threads only."""
    import urllib.parse

    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.db import connections

    from config.settings import retail_site

    retail = threading.local()

    class RetailRequest(WSGIRequestHandler):
        # One thread per connection (ThreadedWSGIServer): the whole request, its
        # response's body and its closing included, is the retail site's.
        def handle(self) -> None:
            retail.active = True
            try:
                super().handle()
            finally:
                retail.active = False

        def log_message(self, *args: Any) -> None:
            pass

    # The T&D live server's host name: cookies ignore ports, as with `make run`'s two
    # sites on one host (the language cookie is shared, the session cookies are not).
    host = urllib.parse.urlsplit(live_server.url).hostname or "localhost"
    retail_settings = {**retail_site.in_process(), "ALLOWED_HOSTS": [host]}

    shared = {
        conn.alias: conn
        for conn in connections.all()
        if conn.vendor == "sqlite" and conn.is_in_memory_db()  # type: ignore[attr-defined]
    }
    with settings_in_threads(retail_settings, retail):
        # The middleware (and the session engine it imports) is loaded once, here: under
        # the retail site's settings.
        retail.active = True
        try:
            app = StaticFilesHandler(WSGIHandler())
        finally:
            retail.active = False
        server = ThreadedWSGIServer(
            (host, 0), RetailRequest, allow_reuse_address=False, connections_override=shared
        )
        server.set_app(app)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://{host}:{server.server_port}"
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)
