"""The inbox page: own entries only, newest first, paged; mark read (POST, CSRF); links
that respect the barrier; the unread count in the header at one query."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.notifications.models import InboxEntry, OutboxMessage
from apps.notifications.services import outbox_write, relay_due
from apps.publication.models import RetailInboxEntry
from apps.web.inbox.selectors import INBOX_PAGE_SIZE
from tests.conftest import advance

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


def _deliver(user, n=1, *, application=None, prefix="t"):
    for i in range(n):
        outbox_write(
            recipient_ids=[user.pk],
            kind="test",
            subject=f"[R-{prefix}{i:03d}] test",
            body="",
            dedupe_key=f"test:{prefix}{i}",
            application_id=application.pk if application else None,
        )
    relay_due()


def _client(user, **kwargs):
    client = Client(**kwargs)
    client.force_login(user)
    return client


def _rows(response):
    return re.findall(r'data-entry="(\d+)"', response.content.decode())


def test_the_inbox_lists_only_the_users_own_entries_newest_first(clerk, supervisor):
    _deliver(supervisor, 3, prefix="s")
    _deliver(clerk, 2, prefix="c")

    response = _client(clerk).get(reverse("inbox"))

    assert response.status_code == 200
    own = list(
        InboxEntry.objects.filter(user=clerk)
        .order_by("-created_at", "-id")
        .values_list("pk", flat=True)
    )
    assert [int(pk) for pk in _rows(response)] == own
    assert len(own) == 2


def test_the_inbox_is_paged(clerk):
    _deliver(clerk, INBOX_PAGE_SIZE + 3)
    client = _client(clerk)

    first = client.get(reverse("inbox"))
    second = client.get(reverse("inbox"), {"page": 2})

    assert len(_rows(first)) == INBOX_PAGE_SIZE
    assert len(_rows(second)) == 3
    assert not set(_rows(first)) & set(_rows(second))


def test_mark_one_read_and_all_read(clerk):
    _deliver(clerk, 3)
    client = _client(clerk)
    one = InboxEntry.objects.filter(user=clerk).earliest("id")

    response = client.post(reverse("inbox-read", args=[one.pk]), {"page": "1"})

    assert response.status_code == 302 and response["Location"] == reverse("inbox") + "?page=1"
    assert InboxEntry.objects.filter(user=clerk, read_at__isnull=True).count() == 2
    one.refresh_from_db()
    assert one.read_at is not None

    assert client.post(reverse("inbox-read-all")).status_code == 302
    assert not InboxEntry.objects.filter(user=clerk, read_at__isnull=True).exists()


def test_someone_elses_entry_cannot_be_marked(clerk, supervisor):
    _deliver(supervisor)
    theirs = InboxEntry.objects.get(user=supervisor)

    response = _client(clerk).post(reverse("inbox-read", args=[theirs.pk]))
    _client(clerk).post(reverse("inbox-read-all"))

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_marking_needs_the_csrf_token(clerk):
    _deliver(clerk)
    client = _client(clerk, enforce_csrf_checks=True)
    entry = InboxEntry.objects.get(user=clerk)

    assert client.post(reverse("inbox-read", args=[entry.pk])).status_code == 403
    assert client.post(reverse("inbox-read-all")).status_code == 403
    assert client.get(reverse("inbox-read-all")).status_code == 405
    entry.refresh_from_db()
    assert entry.read_at is None


def _badge(response):
    match = re.search(r'data-testid="inbox-unread">([^<]*)<', response.content.decode())
    return match.group(1) if match else None


def test_the_header_shows_the_unread_count_on_every_page_at_one_query(clerk, supervisor):
    _deliver(clerk, 4)
    _deliver(supervisor, 2, prefix="s")  # not counted for the clerk
    client = _client(clerk)

    with CaptureQueriesContext(connection) as queries:
        home = client.get(reverse("home"))
    counting = [q["sql"] for q in queries if "notifications_inboxentry" in q["sql"]]

    assert "4" in (_badge(home) or "")
    assert len(counting) == 1 and "LIMIT" in counting[0].upper()
    assert "4" in (_badge(client.get(reverse("clerk-list"))) or "")

    client.post(reverse("inbox-read-all"))
    assert _badge(client.get(reverse("home"))) is None


def test_a_long_backlog_shows_as_99_plus(clerk):
    _deliver(clerk, 101)
    client = _client(clerk)
    assert "99+" in (_badge(client.get(reverse("home"))) or "")
    InboxEntry.objects.filter(pk__in=InboxEntry.objects.order_by("id").values("pk")[:2]).update(
        read_at=timezone.now()
    )
    badge = _badge(client.get(reverse("home"))) or ""
    assert "99" in badge and "+" not in badge


def test_no_count_for_anonymous_pages(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200 and _badge(response) is None


def _link(response, entry):
    html = response.content.decode()
    row = re.search(rf'<tr data-entry="{entry.pk}"[^>]*>(.*?)</tr>', html, re.S)
    assert row is not None
    match = re.search(r'<a href="([^"]+)"', row.group(1))
    return match.group(1) if match else None


def test_each_reader_gets_the_page_they_may_open(
    new_application, clerk, supervisor, construction, auditor, administrator
):
    encoded = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    entered = advance(new_application(), "entered", clerk=clerk, supervisor=supervisor)
    released = advance(
        new_application(), "released", clerk=clerk, supervisor=supervisor, construction=construction
    )
    InboxEntry.objects.all().delete()
    OutboxMessage.objects.all().delete()
    expected: dict[Any, dict[Any, str | None]] = {
        supervisor: {
            encoded: reverse("review-page", args=[encoded.pk]),
            entered: reverse("application-detail", args=[entered.pk]),
        },
        clerk: {encoded: reverse("application-detail", args=[encoded.pk])},
        construction: {
            released: reverse("construction-detail", args=[released.pk]),
            entered: None,  # not released: not construction's to open
        },
        auditor: {entered: reverse("audit-application", args=[entered.pk])},
        administrator: {entered: None},
    }
    for user, cases in expected.items():
        for app in cases:
            _deliver(user, application=app, prefix=f"{user.pk}-{app.pk}-")
        response = _client(user).get(reverse("inbox"))
        for app, link in cases.items():
            entry = InboxEntry.objects.get(user=user, message__application=app)
            assert _link(response, entry) == link, (user.username, app.state)
            if link:
                assert _client(user).get(link).status_code == 200


def test_a_retail_readers_messages_go_to_the_retail_database_once(
    new_application, clerk, supervisor, retail_user
):
    # The retail site reads them there (apps.publication.RetailInboxEntry); the T&D inbox
    # of a retail person stays empty.
    visible = advance(new_application(), "verified", clerk=clerk, supervisor=supervisor)
    _deliver(retail_user, application=visible, prefix="v")
    message = OutboxMessage.objects.get(recipient=retail_user)

    entry = RetailInboxEntry.objects.get(account_id=retail_user.pk)
    assert (entry.message_id, entry.kind, entry.subject) == (message.pk, "test", message.subject)
    assert message.delivered_at is not None
    assert not InboxEntry.objects.filter(user=retail_user).exists()
    # a redelivery (the outbox row's update lost) writes nothing twice
    OutboxMessage.objects.filter(pk=message.pk).update(delivered_at=None)
    relay_due()
    assert RetailInboxEntry.objects.filter(account_id=retail_user.pk).count() == 1
