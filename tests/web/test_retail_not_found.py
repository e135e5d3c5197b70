"""A retail request for an application it cannot see is recorded for the access review:
the same 404 as before, one INSERT more, and nothing of what was typed but a reference."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.access_review.models import ReviewItem
from apps.access_review.services import access_sample
from apps.audit.models import AuditAction, AuditEvent
from tests.conftest import advance

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


@pytest.fixture
def retail_client(client: Client, retail_user) -> Client:
    client.force_login(retail_user)
    return client


def _probes() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=AuditAction.RETAIL_NOT_FOUND).order_by("id"))


def test_a_reference_that_does_not_exist_is_recorded_with_who_asked(retail_client, retail_user):
    response = retail_client.get(reverse("retail-detail", args=["SD2099-9999999"]))

    assert response.status_code == 404
    [probe] = _probes()
    assert probe.actor == retail_user
    assert probe.actor_division == "retail"
    assert probe.details == {"view": "detail", "requested": "SD2099-9999999"}
    assert probe.object_label == "SD2099-9999999"


def test_an_application_retail_may_not_see_yet_is_recorded_the_same_way(
    retail_client, new_application, clerk, supervisor
):
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)

    response = retail_client.get(reverse("retail-detail", args=[app.reference]))

    assert response.status_code == 404
    [probe] = _probes()
    assert probe.details["requested"] == app.reference
    # Nothing says the reference exists: the event reads like a missing one.
    assert probe.object_id == "" and probe.object_type == ""
    assert not AuditEvent.objects.filter(action=AuditAction.RETAIL_VIEWED).exists()


@pytest.mark.parametrize(
    "typed",
    [
        "090-7351-2468",  # a phone number
        "鳥井加奈",  # a name
        "canary.torii@example.invalid",
        "SD２０２６-０００００１２",  # full-width digits are not a reference
        "sd2026-0000012",
        "SD2026-0000012 ",
        "x" * 3000,
    ],
)
def test_anything_else_typed_is_kept_as_its_length_only(retail_client, typed):
    response = retail_client.get(reverse("retail-detail", args=[typed]))

    assert response.status_code == 404
    [probe] = _probes()
    assert probe.details == {
        "view": "detail",
        "requested": "",
        "requested_length": min(len(typed), 1000),
    }
    assert probe.object_label == ""
    assert typed.strip() not in str(probe.details)


def test_recording_the_probe_costs_one_insert(retail_client):
    url = reverse("retail-detail", args=["SD2099-9999999"])

    with CaptureQueriesContext(connection) as queries:
        retail_client.get(url)

    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 1
    assert "audit" in inserts[0]


def test_a_visible_application_is_not_a_probe(retail_client, new_application, clerk, supervisor):
    app = advance(new_application(), "verified", clerk=clerk, supervisor=supervisor)

    assert retail_client.get(reverse("retail-detail", args=[app.reference])).status_code == 200
    assert _probes() == []


def test_the_daily_access_sample_can_draw_a_probe(retail_client):
    retail_client.get(reverse("retail-detail", args=["SD2099-9999999"]))
    [probe] = _probes()
    day = timezone.localdate(probe.occurred_at)

    access_sample(day=day, size=100, now=timezone.now() + dt.timedelta(days=2))

    assert ReviewItem.objects.filter(event_id=probe.pk).exists()
