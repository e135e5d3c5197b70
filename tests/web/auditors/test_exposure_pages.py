"""The auditors' page: request a report, follow the run, read the table, download."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.audit.models import AuditAction, AuditEvent
from apps.exposure.engine import REPORT_KEYS
from apps.exposure.models import ExposureRun, RunStatus
from apps.exposure.tasks import run_exposure_report
from tests.conftest import advance
from tests.exposure.helpers import request_report, write_legacy
from tests.exposure.test_command import REGULATOR_HEADINGS
from tests.exposure.test_legacy_scenarios import EXAMPLE, rec

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


@pytest.fixture
def auditor_client(auditor) -> Client:
    client = Client()
    client.force_login(auditor)
    return client


@pytest.fixture(autouse=True)
def legacy_dirs(settings, tmp_path):
    bad = write_legacy(
        tmp_path / "bad",
        records=[rec("R1", "2023-01-01", "2023-02-01"), rec("R2", "2023-01-01", "soon")],
        roster=["u1,retail,2022-01-01,"],
        access_log=["2023-01-15T10:00:00+09:00,u1,R1,view"],
    )
    settings.SHADAN_EXPOSURE_LEGACY_DIRS = {"example": str(EXAMPLE), "broken": str(bad)}


def test_the_form_offers_the_trail_and_the_configured_directories_only(auditor_client):
    response = auditor_client.get(reverse("exposure-home"))
    assert response.status_code == 200
    choices = [value for value, _ in response.context["form"].fields["source"].choices]
    assert choices == ["trail", "broken", "example"]
    assert str(EXAMPLE) not in response.content.decode()  # keys are shown, never paths


def test_a_report_from_legacy_logs_shows_the_regulators_table_and_timeline(
    auditor_client, auditor, django_capture_on_commit_callbacks
):
    # when
    response = request_report(
        auditor_client,
        django_capture_on_commit_callbacks,
        period_from="2022-04-01",
        period_to="2023-01-11",
        source="example",
    )
    # then: the task ran (eagerly here) and the run page shows the report
    run = ExposureRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("exposure-run", kwargs={"run_id": run.pk})
    assert run.status == RunStatus.DONE
    assert run.events_read == 11
    assert run.result is not None
    assert (run.result["exposed_customers"], run.result["viewers"]) == (3, 3)
    page = auditor_client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    for heading in REGULATOR_HEADINGS:
        assert heading in html
    assert "3件" in html and "3名" in html and "2事業者" in html
    assert '<td data-testid="exposed-in-period">3件</td>' in html
    assert 'data-testid="exposed-records"' in html  # the appendix lists every exposed record
    assert "<svg" in html and html.count('class="tl-view"') == 4
    assert "data-exposure-status" not in html  # finished: nothing to follow
    # and asking for it is in the audit trail
    event = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert event.actor == auditor
    assert event.details == {
        "export": "exposure_report",
        "run": run.pk,
        "source": "example",
        "period_from": "2022-04-01",
        "period_to": "2023-01-11",
    }


def test_csv_and_json_downloads_are_the_report_and_are_audited(
    auditor_client, django_capture_on_commit_callbacks
):
    request_report(
        auditor_client,
        django_capture_on_commit_callbacks,
        period_from="2022-04-01",
        period_to="2023-01-11",
        source="example",
    )
    run = ExposureRun.objects.get()
    as_json = auditor_client.get(reverse("exposure-json", kwargs={"run_id": run.pk}))
    as_csv = auditor_client.get(reverse("exposure-csv", kwargs={"run_id": run.pk}))
    assert as_json.status_code == as_csv.status_code == 200
    assert json.loads(as_json.content) == run.result
    # The figures first and the appendix last, whatever order the database keeps.
    assert tuple(json.loads(as_json.content)) == REPORT_KEYS
    assert as_csv.content.decode().startswith("table,group,measure,value\n")
    assert "summary,,customers_viewed,3" in as_csv.content.decode()
    assert "attachment" in as_csv["Content-Disposition"]
    exports = AuditEvent.objects.filter(action=AuditAction.EXPORT).values_list(
        "details__export", flat=True
    )
    assert sorted(exports) == ["exposure_report", "exposure_report_csv", "exposure_report_json"]


def test_bad_legacy_rows_are_listed_on_the_run_page(
    auditor_client, django_capture_on_commit_callbacks
):
    request_report(
        auditor_client,
        django_capture_on_commit_callbacks,
        period_from="2023-01-01",
        period_to="2023-01-31",
        source="broken",
    )
    run = ExposureRun.objects.get()
    assert run.status == RunStatus.FAILED
    assert run.result is None
    assert [(p["file"], p["line"]) for p in run.problems] == [("records.csv", 3)]
    page = auditor_client.get(reverse("exposure-run", kwargs={"run_id": run.pk}))
    assert page.status_code == 200
    assert 'data-testid="problems"' in page.content.decode()
    assert auditor_client.get(reverse("exposure-csv", kwargs={"run_id": run.pk})).status_code == 404


@pytest.mark.parametrize("source", ["/etc", "../fixtures", "unknown", ""])
def test_a_source_outside_the_settings_is_refused_and_the_input_kept(
    auditor_client, source, django_capture_on_commit_callbacks
):
    response = request_report(
        auditor_client,
        django_capture_on_commit_callbacks,
        period_from="2023-01-01",
        period_to="2023-01-31",
        source=source,
    )
    assert response.status_code == 400
    assert "source" in response.context["form"].errors
    assert response.context["form"].data["period_from"] == "2023-01-01"
    assert not ExposureRun.objects.exists()


def test_a_period_that_ends_before_it_starts_is_refused(
    auditor_client, django_capture_on_commit_callbacks
):
    response = request_report(
        auditor_client,
        django_capture_on_commit_callbacks,
        period_from="2023-02-01",
        period_to="2023-01-01",
        source="trail",
    )
    assert response.status_code == 400
    assert "period_to" in response.context["form"].errors
    assert not ExposureRun.objects.exists()


def test_a_running_report_is_followed_by_a_static_script_and_a_status_url(auditor_client, auditor):
    # given: a request whose task has not run yet (no on-commit callbacks executed)
    today = timezone.localdate()
    auditor_client.post(
        reverse("exposure-home"),
        {"period_from": today.isoformat(), "period_to": today.isoformat(), "source": "trail"},
    )
    run = ExposureRun.objects.get()
    assert run.status == RunStatus.QUEUED
    page = auditor_client.get(reverse("exposure-run", kwargs={"run_id": run.pk}))
    html = page.content.decode()
    status_url = reverse("exposure-status", kwargs={"run_id": run.pk})
    assert f'data-exposure-status="{status_url}"' in html
    assert "js/exposure.js" in html
    assert auditor_client.get(status_url).json() == {
        "status": "queued",
        "events_read": 0,
        "finished": False,
    }
    # when the task runs, twice (a retry)
    run_exposure_report(run.pk)
    first = ExposureRun.objects.get().finished_at
    run_exposure_report(run.pk)
    # then
    assert auditor_client.get(status_url).json()["finished"] is True
    assert ExposureRun.objects.get().finished_at == first


def test_the_trail_report_holds_no_personal_data(
    auditor_client,
    new_application,
    clerk,
    supervisor,
    retail_user,
    django_capture_on_commit_callbacks,
):
    app = advance(new_application(), "verified", clerk=clerk, supervisor=supervisor)
    today = timezone.localdate()
    request_report(
        auditor_client,
        django_capture_on_commit_callbacks,
        period_from=(today - timedelta(days=1)).isoformat(),
        period_to=today.isoformat(),
        source="trail",
    )
    run = ExposureRun.objects.get()
    assert run.status == RunStatus.DONE
    assert run.result is not None
    assert run.result["exposed_customers"] == 0
    from apps.vault.services import vault_read

    pii = vault_read(app.customer_ref)
    page = auditor_client.get(reverse("exposure-run", kwargs={"run_id": run.pk})).content.decode()
    stored = json.dumps(run.result, ensure_ascii=False)
    for value in (pii.name, pii.name_kana, pii.phone, pii.email):
        assert value not in stored
        assert value not in page
