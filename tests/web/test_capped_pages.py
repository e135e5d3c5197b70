"""No page view counts a whole table (issue 17 goal 5): the auditors' home and review
pages, the administrators' badges, the inbox and the clerk's returned list count up to
the cap and then say "more than", in both languages. The cap is lowered for the test
where each page reads it."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.access_review import selectors as review_selectors
from apps.access_review.services import access_sample
from apps.accounts.models import PasswordResetRequest, PasswordResetStatus
from apps.audit.models import AuditAction, AuditEvent
from apps.web import views as home_views
from apps.web.auditors.reviews import views as review_views
from apps.web.inbox import selectors as inbox_selectors
from tests.web.inbox.test_inbox import _deliver

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


def _client(user, language: str = "en") -> Client:
    client = Client(headers={"accept-language": language})
    client.force_login(user)
    return client


def _counts(queries: CaptureQueriesContext, table: str) -> list[str]:
    return [
        q["sql"]
        for q in queries.captured_queries
        if "COUNT(" in q["sql"].upper() and table in q["sql"]
    ]


@pytest.fixture
def three_waiting(construction) -> None:
    """Three sampled accesses waiting for review."""
    day = timezone.localdate() - dt.timedelta(days=2)
    for n in range(3):
        AuditEvent.objects.create(
            actor=construction,
            action=AuditAction.PII_READ,
            actor_division="td",
            object_label=f"read {n}",
            occurred_at=timezone.now() - dt.timedelta(days=2, minutes=n),
        )
    access_sample(day=day, size=10)


def _text(html: str, testid: str) -> str:
    found = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</p>', html, re.S)
    assert found, testid
    return re.sub(r"\s+", " ", found.group(1)).strip()


def test_the_auditors_home_counts_the_waiting_items_up_to_the_cap(
    auditor, three_waiting, monkeypatch
):
    monkeypatch.setattr(review_selectors, "COUNT_CAP", 2)

    with CaptureQueriesContext(connection) as queries:
        html = _client(auditor).get(reverse("home")).content.decode()

    assert _text(html, "review-count") == (
        "More than 2 sampled accesses wait for review, oldest first."
    )
    counts = _counts(queries, "access_review_reviewitem")
    assert counts and all("LIMIT 3" in sql for sql in counts)
    ja = _client(auditor, "ja").get(reverse("home")).content.decode()
    assert _text(ja, "review-count") == "2 件を超える抽出アクセスが点検待ちです（古い順）。"


def test_at_the_cap_the_auditors_home_gives_the_exact_count(auditor, three_waiting, monkeypatch):
    monkeypatch.setattr(review_selectors, "COUNT_CAP", 3)

    html = _client(auditor).get(reverse("home")).content.decode()

    assert _text(html, "review-count") == "3 sampled accesses wait for review, oldest first."


def test_the_review_queue_pages_within_the_cap_and_says_more_than(
    auditor, three_waiting, monkeypatch
):
    monkeypatch.setattr(review_views, "COUNT_CAP", 2)
    monkeypatch.setattr(review_views, "PAGE_SIZE", 1)

    with CaptureQueriesContext(connection) as queries:
        html = _client(auditor).get(reverse("access-review-queue")).content.decode()

    assert _text(html, "review-count") == (
        "More than 2 sampled accesses wait for review, oldest first."
    )
    assert "Page 1 of 2" in html
    counts = _counts(queries, "access_review_reviewitem")
    assert counts and all("LIMIT 3" in sql for sql in counts)


def test_the_administrators_badge_says_more_than_past_the_cap(
    administrator, clerk, supervisor, monkeypatch
):
    for user in (clerk, supervisor):
        PasswordResetRequest.objects.create(
            user=user, proposed_by=administrator, status=PasswordResetStatus.PENDING
        )
    monkeypatch.setattr(home_views, "COUNT_CAP", 1)

    html = _client(administrator).get(reverse("home")).content.decode()
    ja = _client(administrator, "ja").get(reverse("home")).content.decode()

    assert '<span class="badge">More than 1 waiting</span>' in html
    assert '<span class="badge">1 件超待ち</span>' in ja
    monkeypatch.setattr(home_views, "COUNT_CAP", 2)
    html = _client(administrator).get(reverse("home")).content.decode()
    assert '<span class="badge">2 waiting</span>' in html


def test_the_inbox_says_more_than_past_the_cap_and_lists_the_newest(clerk, monkeypatch):
    _deliver(clerk, 3)
    monkeypatch.setattr(inbox_selectors, "COUNT_CAP", 2)

    with CaptureQueriesContext(connection) as queries:
        html = _client(clerk).get(reverse("inbox")).content.decode()

    assert _text(html, "inbox-count") == "More than 2 messages; the newest 2 are listed."
    counts = _counts(queries, "notifications_inboxentry")
    # The header's unread badge has its own cap (tests/web/test_persona.py); the list's
    # count reads at most the cap and one more.
    assert any("LIMIT 3" in sql for sql in counts)
    assert not any("LIMIT" not in sql for sql in counts)
    ja = _client(clerk, "ja").get(reverse("inbox")).content.decode()
    assert _text(ja, "inbox-count") == (
        "2 件を超えるメッセージがあります。新しい順に 2 件を表示しています。"
    )


def test_the_returned_list_counts_up_to_the_cap_and_pages_within_it(
    clerk, supervisor, new_application, monkeypatch
):
    from apps.applications import services
    from apps.web.applications.views import clerk as clerk_views
    from tests.conftest import advance

    returned = []
    for _ in range(3):
        app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
        services.application_return(
            acting_user=supervisor, application_id=app.pk, reason="備考を見直してください。"
        )
        returned.append(app.pk)
    monkeypatch.setattr(clerk_views, "COUNT_CAP", 2)
    monkeypatch.setattr(clerk_views, "PAGE_SIZE", 1)
    client = _client(clerk)

    with CaptureQueriesContext(connection) as queries:
        first = client.get(reverse("clerk-returned")).content.decode()
    # Read before the next request: Django empties the query log when one starts.
    counts = _counts(queries, "applications_application")
    past = client.get(reverse("clerk-returned"), {"page": 3}).content.decode()

    assert counts and all("LIMIT 3" in sql for sql in counts)
    assert "Page 1 of 2" in first
    # The oldest return first; a page past the cap gives the last page within it.
    assert f'data-application="{returned[0]}"' in first
    assert f'data-application="{returned[1]}"' in past
