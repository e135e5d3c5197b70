"""The periodic task, run once through Celery (eagerly) against real accesses: personal-data
reads by T&D staff and retail views through the retail pages' own selectors."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from apps.access_review import tasks
from apps.access_review.models import ReviewItem, SampleRun
from apps.applications.reveal import application_reveal_customer
from apps.audit.models import AuditAction, AuditEvent
from apps.audit.tasks import collect_retail_views
from apps.core.tasks import enqueue
from apps.vocabulary.states import RevealPurpose
from tests.conftest import advance
from tests.retail.site import LIST, detail, view_on_retail_site

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


def test_the_task_draws_yesterdays_accesses_once(
    new_application, clerk, supervisor, retail_user, settings, monkeypatch
):
    # given: today's real accesses
    settings.SHADAN_ACCESS_SAMPLE_SIZE = 3
    settings.SHADAN_ACCESS_SAMPLE_RATE = 0
    settings.SHADAN_ACCESS_SAMPLE_CATCHUP_DAYS = 1
    apps = [
        advance(new_application(), "verified", clerk=clerk, supervisor=supervisor) for _ in range(3)
    ]
    for app in apps:
        application_reveal_customer(
            acting_user=clerk, application_id=app.pk, purpose=RevealPurpose.ENTRY
        )
    # on the retail site: one view per application shown, collected into the trail
    view_on_retail_site(retail_user, LIST, detail(str(apps[0].reference)))
    accesses = set(
        AuditEvent.objects.filter(
            action__in=[AuditAction.PII_READ, AuditAction.RETAIL_VIEWED]
        ).values_list("id", flat=True)
    )
    assert len(accesses) >= 3 + 3 + 1
    today = timezone.localdate()

    # when: the beat runs tomorrow night (Japan time): the collector, every minute, has
    # caught up past today's end, and the draw runs
    tomorrow_night = dt.datetime.combine(
        today + dt.timedelta(days=1), dt.time(3), tzinfo=ZoneInfo("Asia/Tokyo")
    )
    monkeypatch.setattr(timezone, "now", lambda: tomorrow_night)
    enqueue(collect_retail_views).get()
    result = enqueue(tasks.sample).get()

    # then
    assert result == {"days": 1, "sampled": 3}
    run = SampleRun.objects.get()
    assert run.day == today and run.population == len(accesses)
    drawn = set(ReviewItem.objects.values_list("event_id", flat=True))
    assert len(drawn) == 3 and drawn <= accesses
    assert enqueue(tasks.sample).get() == {"days": 0, "sampled": 0}
    assert ReviewItem.objects.count() == 3
