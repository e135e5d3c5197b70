"""Serving the retail site inside a T&D test process.

`RetailSiteClient` sends each of its requests through the retail site's URLs, middleware,
sign-in, sessions, cookies and templates (config.settings.retail_site.in_process()), so a
test can use it beside an ordinary T&D client; the databases stay the test process's (the
`retail` alias holds apps.publication either way). `account_of` copies a T&D retail user
into the retail database as provisioning does (same id, user name, password hash and
session stamp), for as long as tests build people on the T&D side.

`view_on_retail_site` is how a test makes retail views for the audit trail: the person
opens pages on the retail site, which logs what it showed in its view log, and the
collector copies the log into the trail. That is the only way a retail view enters it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.db import connections
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.audit import collector
from apps.publication.models import RetailAccount
from config.settings import retail_site

BACKEND = "apps.retail.backends.RetailAccountBackend"
LIST = "/"


def detail(reference: str) -> str:
    return reverse("retail-detail", args=[reference], urlconf="config.urls_retail")


def search(term: str) -> str:
    return f"{LIST}?{urlencode({'q': term})}"


def account_of(user: Any) -> RetailAccount:
    account, _ = RetailAccount.objects.update_or_create(
        id=user.pk,
        defaults={
            "username": user.username,
            "display_name": user.display_name,
            "password": user.password,
            "is_active": user.is_active,
            "must_change_password": user.must_change_password,
            "session_stamp": user.session_stamp,
        },
    )
    return account


def view_on_retail_site(user: Any, *paths: str) -> None:
    """`user` (a T&D retail user, copied to the retail database by `account_of`) opens
    each path on the retail site (LIST, `search(...)`, `detail(...)`); every page must
    be shown. Then the collector runs, so the views are in the trail as RETAIL_VIEWED
    events with the time each page was shown."""
    client = RetailSiteClient()
    client.force_login(account_of(user))
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
    collect_retail_views()


def collect_retail_views() -> None:
    """The collector's run, as its periodic task makes it a minute on: PostgreSQL does not
    roll its sequences back with a test, so a test's first log row follows a gap, which
    the collector passes only once the row is SETTLE_SECONDS old."""
    collector.retail_views_collect(
        now=timezone.now() + dt.timedelta(seconds=collector.SETTLE_SECONDS)
    )


class RetailSiteClient(Client):
    def request(self, **request: Any) -> Any:
        with override_settings(**retail_site.in_process()):
            return super().request(**request)

    def force_login(self, user: Any, backend: str | None = None) -> None:
        with override_settings(**retail_site.in_process()):
            super().force_login(user, backend or BACKEND)

    def logout(self) -> None:
        with override_settings(**retail_site.in_process()):
            super().logout()

    @property
    def session(self) -> Any:
        with override_settings(**retail_site.in_process()):
            return super().session


class AllQueries:
    """The queries of every database connection (the retail site's are in `retail`)."""

    def __init__(self) -> None:
        self._contexts = {alias: CaptureQueriesContext(connections[alias]) for alias in connections}

    def __enter__(self) -> AllQueries:
        for context in self._contexts.values():
            context.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        for context in self._contexts.values():
            context.__exit__(*exc)

    @property
    def sql(self) -> list[str]:
        return [q["sql"] for c in self._contexts.values() for q in c.captured_queries]

    def __len__(self) -> int:
        return len(self.sql)
