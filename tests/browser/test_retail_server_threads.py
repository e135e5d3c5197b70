"""The in-process retail site's settings belong to its server's threads only.

While a retail request is in the middle of its work, the test's thread (which sets up data
through the services and checks permissions) and the T&D live server must still read the
T&D site's settings: authentication backends, URLs, template engines. With
override_settings, which changes the whole process, they did not, and the browser tests
failed now and then (a clerk refused a permission by the retail backend).
"""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings
from django.template import engines

from config.settings import retail_site
from tests.browser.conftest import settings_in_threads

RETAIL_PROCESSOR = "apps.retail.context_processors.reader"


def _processors() -> list[str]:
    return list(engines["django"].engine.context_processors)  # type: ignore[attr-defined]


def test_the_retail_settings_are_read_in_the_retail_threads_only() -> None:
    td_urlconf = settings.ROOT_URLCONF
    td_backends = list(settings.AUTHENTICATION_BACKENDS)
    assert RETAIL_PROCESSOR not in _processors()  # cached before the retail site starts
    overrides = retail_site.in_process()
    scope = threading.local()
    seen: dict[str, Any] = {}
    inside = threading.Event()
    release = threading.Event()

    def retail_request() -> None:
        scope.active = True
        seen["urlconf"] = settings.ROOT_URLCONF
        seen["backends"] = list(settings.AUTHENTICATION_BACKENDS)
        seen["processors"] = _processors()
        inside.set()
        release.wait(timeout=10)  # the request is still running while the test reads
        seen["urlconf after"] = settings.ROOT_URLCONF

    with settings_in_threads(overrides, scope):
        worker = threading.Thread(target=retail_request)
        worker.start()
        assert inside.wait(timeout=10)
        assert td_urlconf == settings.ROOT_URLCONF
        assert list(settings.AUTHENTICATION_BACKENDS) == td_backends
        assert RETAIL_PROCESSOR not in _processors()
        release.set()
        worker.join(timeout=10)

    assert seen["urlconf"] == seen["urlconf after"] == overrides["ROOT_URLCONF"]
    assert seen["backends"] == overrides["AUTHENTICATION_BACKENDS"] != td_backends
    assert RETAIL_PROCESSOR in seen["processors"]
    # Afterwards the settings and the engines are the T&D site's again, in every thread.
    assert type(settings).__name__ == "LazySettings"
    assert td_urlconf == settings.ROOT_URLCONF
    assert RETAIL_PROCESSOR not in _processors()
