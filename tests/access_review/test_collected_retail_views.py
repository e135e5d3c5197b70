"""Retail views logged on the retail site reach the access review through the collector:
drawn on the day they happened, and a day is drawn only once they are all in the trail."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apps.access_review.models import ReviewItem, SampleRun
from apps.access_review.services import access_sample, access_sample_due, last_complete_day
from apps.audit import collector
from apps.audit.collector import retail_views_collect
from apps.audit.models import AuditAction, AuditEvent
from apps.publication.models import RetailView, RetailViewLog

from .conftest import DAY, jst

pytestmark = pytest.mark.django_db(databases=["default", "retail"])


@pytest.fixture(autouse=True)
def _settled(monkeypatch: pytest.MonkeyPatch) -> None:
    # No waiting at the gap PostgreSQL's sequences leave before each test's first row.
    monkeypatch.setattr(collector, "SETTLE_SECONDS", 0)


def log_view(user, at, view=RetailView.DETAIL):
    return RetailViewLog.objects.create(
        occurred_at=at,
        account_id=user.pk,
        username=user.username,
        view=view,
        application_id=7,
        reference="SD2026-0000007",
    )


def test_collected_retail_views_are_drawn_on_the_day_they_happened(retail_user):
    # given: views on DAY (Japan time, late evening), and one the next morning
    rows = [log_view(retail_user, jst(DAY, 23, m)) for m in range(3)]
    log_view(retail_user, jst(DAY + dt.timedelta(days=1), 0, 30), RetailView.LIST)
    # when: collected long after, then DAY is drawn
    retail_views_collect()
    run = access_sample(day=DAY, size=10, now=jst(DAY + dt.timedelta(days=2))).run
    # then: exactly DAY's three views are in its sample, as retail views
    drawn = AuditEvent.objects.filter(pk__in=ReviewItem.objects.filter(run=run).values("event"))
    assert run.population == 3
    assert sorted(drawn.values_list("details__retail_log_id", flat=True)) == [r.pk for r in rows]
    assert set(drawn.values_list("action", flat=True)) == {AuditAction.RETAIL_VIEWED}


def test_the_periodic_draw_waits_for_a_day_the_collector_has_not_caught_up_with(retail_user):
    # given: the collector caught up a while ago, then fell behind
    now = timezone.now()
    retail_views_collect(now=now - dt.timedelta(days=3))
    # yesterday (Japan time), or the day before it in the grace period after midnight
    latest = last_complete_day(now)
    # when: the periodic draw runs
    access_sample_due(now=now)
    # then: the days after the collector's last complete run are not drawn yet
    drawn = set(SampleRun.objects.values_list("day", flat=True))
    assert latest not in drawn
    # once it has caught up, they are
    retail_views_collect()
    access_sample_due(now=now)
    assert latest in set(SampleRun.objects.values_list("day", flat=True))
