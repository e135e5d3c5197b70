"""A period the report cannot compute is refused before anything is stored, and a run
that fails anyway ends as failed with its reason on the page, never stuck "running"."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from apps.audit.models import AuditAction, AuditEvent
from apps.exposure import services
from apps.exposure.models import ExposureRun, FailureReason, RunStatus
from apps.exposure.tasks import run_exposure_report

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


@pytest.fixture
def auditor_client(auditor) -> Client:
    client = Client()
    client.force_login(auditor)
    return client


def _exports() -> int:
    return AuditEvent.objects.filter(action=AuditAction.EXPORT).count()


@pytest.mark.parametrize(
    ("period_from", "period_to", "bad"),
    [
        ("0001-01-01", "9999-12-31", {"period_from", "period_to"}),
        ("2023-01-01", "9999-12-31", {"period_to"}),
        ("0001-01-01", "2023-01-01", {"period_from"}),
    ],
)
def test_a_period_outside_the_reports_range_is_refused_with_the_input_kept(
    auditor_client, django_capture_on_commit_callbacks, period_from, period_to, bad
):
    with django_capture_on_commit_callbacks(execute=True):
        response = auditor_client.post(
            reverse("exposure-home"),
            {"period_from": period_from, "period_to": period_to, "source": "trail"},
        )

    assert response.status_code == 400
    form = response.context["form"]
    assert set(form.errors) == bad
    assert "2000-01-01" in str(form.errors)  # says which dates are accepted, in Japanese
    assert "期間" in str(form.errors)
    assert form.data["period_to"] == period_to
    assert not ExposureRun.objects.exists()
    assert _exports() == 0


def test_the_service_refuses_the_same_period_whoever_calls_it(auditor):
    with pytest.raises(ValidationError) as refused:
        services.exposure_request(
            acting_user=auditor,
            period_from=date(1, 1, 1),
            period_to=date(9999, 12, 31),
            source="trail",
        )
    assert set(refused.value.message_dict) == {"period_from", "period_to"}
    assert not ExposureRun.objects.exists()
    assert _exports() == 0


def test_a_run_that_fails_unexpectedly_ends_as_failed_with_the_reason_shown(
    auditor, auditor_client, monkeypatch
):
    # given: a run queued for a period the engine cannot compute (e.g. before the form
    # checked it); the failure is simulated as the engine raised it
    run = ExposureRun.objects.create(
        requested_by=auditor,
        period_from=date(1, 1, 1),
        period_to=date(9999, 12, 31),
        source="trail",
    )

    def overflow(**kwargs: object) -> None:
        raise OverflowError("date value out of range")

    monkeypatch.setattr(services, "report_from_trail", overflow)

    # when: the task runs (its exception does not escape to the worker or the page)
    assert run_exposure_report(run.pk) == RunStatus.FAILED

    # then
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert run.failure_reason == FailureReason.INTERNAL
    assert run.finished_at is not None
    assert run.result is None
    page = auditor_client.get(reverse("exposure-run", kwargs={"run_id": run.pk}))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="failure-reason"' in html
    assert str(FailureReason.INTERNAL.label) in html
    assert "bad row" not in html and "不正な行" not in html
    assert auditor_client.get(reverse("exposure-status", kwargs={"run_id": run.pk})).json()[
        "finished"
    ]


def test_the_command_refuses_a_period_outside_the_reports_range():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="2000-01-01"):
        call_command("exposure_report", "--from", "0001-01-01", "--to", "9999-12-31")
    assert _exports() == 0
