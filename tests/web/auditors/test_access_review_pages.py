"""The review pages over HTTP: the queue, an item with its form, the reviewed list and the
share reviewed per period. Which role may open them is in tests/web/test_role_matrix.py."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse

from apps.access_review.models import ReviewItem
from apps.access_review.selectors import review_shares
from apps.access_review.services import access_review_mark, access_sample
from apps.audit.models import AuditAction
from tests.access_review.conftest import DAY, jst

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])

AFTER = jst(DAY + dt.timedelta(days=2))


@pytest.fixture
def as_auditor(auditor) -> Client:
    client = Client()
    client.force_login(auditor)
    return client


@pytest.fixture
def items(access, new_application, retail_user):
    application = new_application()
    # Inserted newest first: the queue must still show the oldest access first.
    access(jst(DAY, 15), obj=application)
    access(jst(DAY, 9), action=AuditAction.RETAIL_VIEWED, actor=retail_user, obj=application)
    access(jst(DAY, 12), obj=application)
    access_sample(day=DAY, size=10, now=AFTER)
    return list(ReviewItem.objects.order_by("event__occurred_at"))


def _item_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'data-item="(\d+)"', html)]


def test_the_queue_lists_waiting_items_oldest_first(as_auditor, items, auditor):
    access_review_mark(acting_user=auditor, item_id=items[1].pk, outcome="legitimate")

    response = as_auditor.get(reverse("access-review-queue"))

    assert response.status_code == 200
    assert _item_ids(response.content.decode()) == [items[0].pk, items[2].pk]


def test_the_queue_is_paginated(as_auditor, access):
    for minute in range(30):
        access(jst(DAY, 10, minute))
    access_sample(day=DAY, size=30, now=AFTER)

    first = as_auditor.get(reverse("access-review-queue"))
    second = as_auditor.get(reverse("access-review-queue"), {"page": 2})

    assert len(_item_ids(first.content.decode())) == 25
    assert len(_item_ids(second.content.decode())) == 5


def test_the_item_page_shows_the_event_and_the_form(as_auditor, items):
    item = items[1]  # the retail view
    application = item.event.object_label

    response = as_auditor.get(reverse("access-review-item", args=[item.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="review-form"' in html
    assert item.event.actor_username in html and application in html
    assert 'name="outcome"' in html and 'name="note"' in html


def test_marking_an_item_from_its_page(as_auditor, items, auditor):
    item = items[0]

    response = as_auditor.post(
        reverse("access-review-item", args=[item.pk]),
        {"outcome": "legitimate", "note": "受付業務", "version": item.version},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("access-review-item", args=[items[1].pk])
    item.refresh_from_db()
    assert (item.outcome, item.note, item.reviewed_by) == ("legitimate", "受付業務", auditor)


def test_after_the_last_verdict_the_reviewer_is_back_on_the_queue(as_auditor, items, auditor):
    for item in items[:2]:
        access_review_mark(acting_user=auditor, item_id=item.pk, outcome="legitimate")
    last = items[2]

    response = as_auditor.post(
        reverse("access-review-item", args=[last.pk]),
        {"outcome": "legitimate", "note": "", "version": last.version},
    )

    assert response["Location"] == reverse("access-review-queue")


def test_the_next_item_is_never_the_reviewers_own_access(as_auditor, auditor, access):
    first = access(jst(DAY, 8))
    access(jst(DAY, 9), actor=auditor)  # older than the other one still waiting
    other = access(jst(DAY, 10))
    access_sample(day=DAY, size=10, now=AFTER)
    item = ReviewItem.objects.get(event=first)

    response = as_auditor.post(
        reverse("access-review-item", args=[item.pk]),
        {"outcome": "legitimate", "note": "", "version": item.version},
    )

    following = ReviewItem.objects.get(event=other)
    assert response["Location"] == reverse("access-review-item", args=[following.pk])


def test_bad_input_keeps_the_note(as_auditor, items):
    item = items[0]
    note = "本人に 090-1111-2222 で確認"

    response = as_auditor.post(
        reverse("access-review-item", args=[item.pk]),
        {"outcome": "suspicious", "note": note, "version": item.version},
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-field="note"' in html and "has-error" in html
    assert note in html  # what was typed stays, to be reworded
    item.refresh_from_db()
    assert item.outcome == ""


def test_the_page_answers_the_real_customers_name_exactly_like_any_other_name(
    as_auditor, access, new_application
):
    customer = "鵜飼 審査子"
    application = new_application(customer_name=customer, customer_name_kana="ウカイ シンサコ")
    access(jst(DAY, 10), obj=application)
    access(jst(DAY, 11), obj=application)
    access(jst(DAY, 12), obj=application)  # still waiting after both: each goes on to it
    access_sample(day=DAY, size=10, now=AFTER)
    real, other, _waiting = ReviewItem.objects.order_by("event__occurred_at")

    def mark(item: ReviewItem, name: str) -> tuple[int, list[tuple[str, int]], str]:
        response = as_auditor.post(
            reverse("access-review-item", args=[item.pk]),
            {"outcome": "suspicious", "note": f"{name}さんの記録", "version": item.version},
            follow=True,
        )
        page = response.content.decode().replace(f"#{item.pk}", "#N")
        messages = re.findall(r'class="message[^"]*"[^>]*>(.*?)<', page, re.S)
        chain = [(re.sub(r"\d+", "N", url), status) for url, status in response.redirect_chain]
        return response.status_code, chain, "".join(messages)

    assert mark(real, customer) == mark(other, "佐藤 花子")
    assert set(
        ReviewItem.objects.filter(pk__in=[real.pk, other.pk]).values_list("outcome", flat=True)
    ) == {"suspicious"}


def test_a_missing_verdict_keeps_the_note(as_auditor, items):
    item = items[0]

    response = as_auditor.post(
        reverse("access-review-item", args=[item.pk]), {"note": "要確認", "version": 1}
    )

    assert response.status_code == 200
    assert "要確認" in response.content.decode()
    assert ReviewItem.objects.get(pk=item.pk).outcome == ""


def test_a_second_review_of_the_same_item_is_refused_on_the_page(as_auditor, items, auditor2):
    item = items[0]
    access_review_mark(acting_user=auditor2, item_id=item.pk, outcome="legitimate")

    response = as_auditor.post(
        reverse("access-review-item", args=[item.pk]),
        {"outcome": "suspicious", "note": "要確認", "version": 1},
    )

    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    item.refresh_from_db()
    assert (item.outcome, item.reviewed_by) == ("legitimate", auditor2)


def test_own_access_shows_no_form_and_a_post_is_refused(access, auditor):
    own = access(jst(DAY, 10), actor=auditor)
    access_sample(day=DAY, size=5, now=AFTER)
    item = ReviewItem.objects.get(event=own)
    client = Client()
    client.force_login(auditor)

    page = client.get(reverse("access-review-item", args=[item.pk])).content.decode()
    response = client.post(
        reverse("access-review-item", args=[item.pk]),
        {"outcome": "legitimate", "version": 1},
    )

    assert 'data-testid="own-access"' in page and 'data-testid="review-form"' not in page
    assert response.status_code == 200
    assert ReviewItem.objects.get(pk=item.pk).outcome == ""


def test_an_unknown_item_is_404(as_auditor):
    assert as_auditor.get(reverse("access-review-item", args=[999999])).status_code == 404


def test_the_reviewed_list_filters_by_verdict(as_auditor, items, auditor):
    access_review_mark(acting_user=auditor, item_id=items[0].pk, outcome="legitimate")
    access_review_mark(
        acting_user=auditor, item_id=items[1].pk, outcome="suspicious", note="要確認"
    )
    url = reverse("access-review-reviewed")

    everything = _item_ids(as_auditor.get(url).content.decode())
    suspicious = _item_ids(as_auditor.get(url, {"outcome": "suspicious"}).content.decode())
    legitimate = _item_ids(as_auditor.get(url, {"outcome": "legitimate"}).content.decode())

    assert sorted(everything) == sorted([items[0].pk, items[1].pk])
    assert suspicious == [items[1].pk]
    assert legitimate == [items[0].pk]


def test_the_reviewed_list_shows_each_note(as_auditor, items, auditor):
    access_review_mark(
        acting_user=auditor, item_id=items[1].pk, outcome="suspicious", note="業務時間外"
    )

    html = as_auditor.get(reverse("access-review-reviewed")).content.decode()

    assert '<td class="note" data-testid="note">業務時間外</td>' in html


def test_the_share_reviewed_per_day_and_month(access, auditor):
    march_9 = DAY - dt.timedelta(days=1)
    for minute in range(8):
        access(jst(DAY, 10, minute))
        access(jst(march_9, 10, minute))
    access_sample(day=DAY, size=4, now=AFTER)
    access_sample(day=march_9, size=4, now=AFTER)
    for n, item in enumerate(ReviewItem.objects.filter(day=DAY).order_by("rank")[:3]):
        outcome = "suspicious" if n == 0 else "legitimate"
        access_review_mark(acting_user=auditor, item_id=item.pk, outcome=outcome, note="メモ")

    shares = review_shares(days=3, months=2, today=DAY + dt.timedelta(days=1))

    by_day = {row.label: row for row in shares.days}
    assert list(by_day) == ["2026-03-11", "2026-03-10", "2026-03-09"]
    tenth = by_day["2026-03-10"]
    assert (tenth.accesses, tenth.sampled, tenth.reviewed, tenth.suspicious) == (8, 4, 3, 1)
    assert tenth.share == 75.0
    assert by_day["2026-03-09"].share == 0.0
    assert by_day["2026-03-11"].share is None  # nothing drawn: no share, not 0 %
    march, february = shares.months
    assert (march.label, march.sampled, march.reviewed, march.suspicious) == ("2026-03", 8, 3, 1)
    assert march.share == 37.5
    assert (february.label, february.sampled) == ("2026-02", 0)


def test_the_shares_page_shows_the_periods(as_auditor, items):
    response = as_auditor.get(reverse("access-review-shares"), {"days": 5})

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("data-period=") >= 5 + 12
    assert 'data-testid="shares-days"' in html and 'data-testid="shares-months"' in html


def test_a_bad_number_of_days_falls_back_to_the_default(as_auditor):
    response = as_auditor.get(reverse("access-review-shares"), {"days": "abc"})
    assert response.status_code == 200
    assert response.content.decode().count("data-period=") == 14 + 12


def test_the_auditor_home_links_to_the_review_queue(as_auditor):
    html = as_auditor.get(reverse("home")).content.decode()
    assert reverse("access-review-queue") in html
