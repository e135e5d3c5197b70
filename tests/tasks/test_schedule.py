"""Beat's schedule names every periodic task, and each name is a registered task."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from config.celery_app import app

ROOT = Path(__file__).resolve().parents[2]
PERIODIC = {
    "notifications.relay",
    "replication.relay",
    "replication.purge",
    "audit.seal",
    "audit.verify",
    "audit.verify_full",
    "audit.collect_retail_views",
    "applications.barrier_check",
    "applications.sla_sweep",
    "access_review.sample",
}


def test_the_schedule_holds_every_periodic_task():
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert tasks == PERIODIC


def test_every_scheduled_task_is_registered_with_the_app():
    app.loader.import_default_modules()
    app.autodiscover_tasks(force=True)
    assert set(app.tasks) >= PERIODIC


def test_the_relay_and_the_sealer_run_every_minute_by_default():
    schedule = {e["task"]: e["schedule"] for e in settings.CELERY_BEAT_SCHEDULE.values()}
    assert schedule["notifications.relay"] == 60.0
    # The retail database's catch-up: the relay also runs after every commit.
    assert schedule["replication.relay"] == 30.0
    assert schedule["audit.seal"] == 60.0
    assert schedule["audit.collect_retail_views"] == 60.0
    assert schedule["applications.sla_sweep"] == 15 * 60.0
    assert schedule["access_review.sample"] == 60 * 60.0
    # Applied replication messages past their retention, hourly.
    assert schedule["replication.purge"] == 60 * 60.0
    # Hourly from the last verified checkpoint, weekly from seq 1.
    assert schedule["audit.verify"] == 60 * 60.0
    assert schedule["audit.verify_full"] == 7 * 24 * 60 * 60.0


def test_intervals_come_from_the_environment():
    env = {
        **os.environ,
        "SHADAN_BEAT_SLA_MINUTES": "5",
        "SHADAN_BEAT_RELAY_MINUTES": "0.5",
        "SHADAN_BEAT_ACCESS_SAMPLE_MINUTES": "30",
    }
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "s = settings.CELERY_BEAT_SCHEDULE; "
        "print(s['applications-sla-sweep']['schedule'], s['notifications-relay']['schedule'], "
        "s['access-review-sample']['schedule'])"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["300.0", "30.0", "1800.0"]


def _settings_in_a_process(extra: dict[str, str], code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **extra, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", "import django; django.setup(); " + code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_purge_is_unscheduled_by_0_and_its_retention_comes_from_the_environment():
    result = _settings_in_a_process(
        {"SHADAN_BEAT_REPLICATION_PURGE_MINUTES": "0", "SHADAN_REPLICATION_RETENTION_DAYS": "2"},
        "from django.conf import settings as s; "
        "print('replication-purge' in s.CELERY_BEAT_SCHEDULE, "
        "'replication-relay' in s.CELERY_BEAT_SCHEDULE, s.SHADAN_REPLICATION_RETENTION_DAYS)",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True", "2.0"]
    assert settings.SHADAN_REPLICATION_RETENTION_DAYS == 7  # the default


@pytest.mark.parametrize("days", ["-1", "3651"])
def test_a_retention_outside_0_to_3650_days_stops_the_process(days):
    result = _settings_in_a_process({"SHADAN_REPLICATION_RETENTION_DAYS": days}, "")
    assert result.returncode != 0
    assert "SHADAN_REPLICATION_RETENTION_DAYS must be between 0 and 3650" in result.stderr


def test_tasks_serialise_json_only_and_acknowledge_late():
    assert app.conf.task_serializer == "json"
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_acks_late is True


def test_beat_builds_an_entry_for_each_task():
    from celery.beat import Scheduler
    from celery.schedules import schedule

    scheduler = Scheduler(app, lazy=True)
    scheduler.setup_schedule()
    scheduler.merge_inplace(app.conf.beat_schedule)
    built = {}
    for entry in scheduler.schedule.values():
        assert isinstance(entry.schedule, schedule)
        built[entry.task] = entry.schedule.seconds
    assert set(built) >= PERIODIC
    assert built["notifications.relay"] == 60
