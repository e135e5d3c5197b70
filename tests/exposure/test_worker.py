"""The report run by a real Celery worker through Redis, as in production: the task gets
the run's id only and writes the result and the progress to the run's row."""

from __future__ import annotations

from datetime import date

import pytest

from apps.exposure.models import ExposureRun, RunStatus
from tests.conftest import _person
from tests.tasks.test_real_worker import worker  # noqa: F401 - the fixture
from tests.tasks.workers import wait_for

from .test_legacy_scenarios import EXAMPLE

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True, databases=["default", "vault", "retail"]),
]


@pytest.fixture
def legacy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read by the worker process's settings (the fixture below copies the environment)."""
    monkeypatch.setenv("SHADAN_EXPOSURE_LEGACY_DIRS", f"example={EXAMPLE}")


def test_a_worker_runs_a_legacy_report_from_the_runs_id(legacy_env, worker):  # noqa: F811
    process, sender, queue = worker
    auditor = _person("kansa_worker", "audit", "auditor")
    run = ExposureRun.objects.create(
        requested_by=auditor,
        period_from=date(2022, 4, 1),
        period_to=date(2023, 1, 11),
        source="example",
    )

    sender.send_task("exposure.run_report", args=[run.pk], queue=queue)

    wait_for(lambda: ExposureRun.objects.get(pk=run.pk).finished, process, 60)
    run.refresh_from_db()
    assert run.status == RunStatus.DONE
    assert run.events_read == 11
    assert run.result is not None
    assert (run.result["exposed_customers"], run.result["viewers"]) == (3, 3)
