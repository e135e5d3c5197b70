"""The daily draw: reproducible, sized by the settings, once per Japan-time day."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from apps.access_review.models import ReviewItem, SampleRun
from apps.access_review.sampling import SampleConfig, draw, rank
from apps.access_review.services import access_sample, access_sample_due, last_complete_day
from apps.audit.models import AuditAction, AuditEvent
from apps.core.errors import WrongState

from .conftest import DAY, jst

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])

AFTER = jst(DAY + dt.timedelta(days=2))  # "now" for the tests: DAY is long over


def _drawn(day: dt.date = DAY) -> list[int]:
    return list(
        ReviewItem.objects.filter(day=day).order_by("rank").values_list("event_id", flat=True)
    )


def _accesses(access, n: int, day: dt.date = DAY) -> list[AuditEvent]:
    return [access(jst(day, 9, i // 60, i % 60)) for i in range(n)]


# --- reproducible ----------------------------------------------------------------------


def test_the_same_day_and_configuration_draw_the_same_events(access, settings):
    settings.SHADAN_ACCESS_SAMPLE_KEY = "k-one"
    events = _accesses(access, 40)
    access_sample(day=DAY, size=7, now=AFTER)
    drawn = _drawn()

    # Anyone holding the key draws the same sample again from the day's event ids.
    again = draw(SampleConfig.from_settings(size=7), DAY, [e.pk for e in events])

    assert len(drawn) == 7
    assert again == drawn


def test_the_draw_does_not_depend_on_the_order_rows_come_in(settings):
    settings.SHADAN_ACCESS_SAMPLE_KEY = "k-one"
    config = SampleConfig.from_settings(size=9)
    ids = list(range(1000, 1200))
    shuffled = ids[:]
    random.Random(5).shuffle(shuffled)

    assert draw(config, DAY, ids) == draw(config, DAY, shuffled) == draw(config, DAY, ids[::-1])


def test_another_key_or_another_day_draws_differently(settings):
    ids = list(range(1, 301))
    settings.SHADAN_ACCESS_SAMPLE_KEY = "k-one"
    first = draw(SampleConfig.from_settings(size=10), DAY, ids)
    next_day = draw(SampleConfig.from_settings(size=10), DAY + dt.timedelta(days=1), ids)
    settings.SHADAN_ACCESS_SAMPLE_KEY = "k-two"
    other_key = draw(SampleConfig.from_settings(size=10), DAY, ids)

    # Not the lowest ids, not the same under another key or on another day.
    assert first != ids[:10]
    assert set(first) != set(other_key)
    assert set(first) != set(next_day)


def test_the_run_records_how_the_day_was_drawn(access, settings):
    settings.SHADAN_ACCESS_SAMPLE_KEY = "k-one"
    _accesses(access, 12)

    run = access_sample(day=DAY, size=5, now=AFTER).run
    same_key = SampleConfig.from_settings().fingerprint
    settings.SHADAN_ACCESS_SAMPLE_KEY = "k-two"

    assert (run.population, run.sampled, run.size, run.method) == (12, 5, 5, "hmac-sha256-v1")
    assert run.key_fingerprint == same_key != SampleConfig.from_settings().fingerprint
    assert "k-one" not in run.key_fingerprint


# --- size and rate ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "rate", "population", "expected"),
    [
        (5, "0", 12, 5),
        (20, "0", 12, 12),  # fewer accesses than the size: all of them
        (0, "0", 12, 0),
        (5, "0.25", 12, 3),  # a rate wins over the size
        (5, "0.1", 12, 2),  # rounded up
        (5, "0.001", 12, 1),  # any access at all: at least one
        (5, "1", 12, 12),
        (5, "0.5", 0, 0),
    ],
)
def test_size_or_rate_decides_how_many(access, size, rate, population, expected):
    _accesses(access, population)

    run = access_sample(day=DAY, size=size, rate=Decimal(rate), now=AFTER).run

    assert run.sampled == expected == ReviewItem.objects.filter(run=run).count()
    assert run.population == population


def test_size_and_rate_come_from_the_settings(access, settings):
    _accesses(access, 30)
    settings.SHADAN_ACCESS_SAMPLE_SIZE = 4
    settings.SHADAN_ACCESS_SAMPLE_RATE = Decimal("0")
    assert access_sample(day=DAY, now=AFTER).run.sampled == 4

    _accesses(access, 30, day=DAY - dt.timedelta(days=1))
    settings.SHADAN_ACCESS_SAMPLE_RATE = Decimal("0.2")
    assert access_sample(day=DAY - dt.timedelta(days=1), now=AFTER).run.sampled == 6


def test_a_bad_rate_stops_the_process_at_start_up():
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "SHADAN_ACCESS_SAMPLE_RATE": "1.5"}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SHADAN_ACCESS_SAMPLE_RATE" in result.stderr


# --- what is drawn from --------------------------------------------------------------


def test_only_personal_data_reads_and_retail_views_are_drawn(access, retail_user):
    read = access(jst(DAY, 10))
    viewed = access(jst(DAY, 11), action=AuditAction.RETAIL_VIEWED, actor=retail_user)
    access(jst(DAY, 12), action=AuditAction.LOGIN)
    access(jst(DAY, 13), action=AuditAction.APPLICATION_SUBMITTED)

    access_sample(day=DAY, size=100, now=AFTER)

    assert set(_drawn()) == {read.pk, viewed.pk}


def test_the_day_runs_from_midnight_to_midnight_japan_time(access):
    before = access(jst(DAY - dt.timedelta(days=1), 23, 59, 59, 999999))
    first = access(jst(DAY, 0, 0, 0))  # 15:00 UTC the day before
    last = access(jst(DAY, 23, 59, 59, 999999))
    after = access(jst(DAY + dt.timedelta(days=1), 0, 0, 0))
    assert first.occurred_at.astimezone(dt.UTC).date() == DAY - dt.timedelta(days=1)

    run = access_sample(day=DAY, size=100, now=AFTER).run

    assert set(_drawn()) == {first.pk, last.pk}
    assert run.population == 2
    assert before.pk not in _drawn() and after.pk not in _drawn()


# --- once per day ----------------------------------------------------------------------


def test_running_a_day_twice_adds_nothing(access):
    _accesses(access, 15)
    first = access_sample(day=DAY, size=5, now=AFTER)
    # Even with another configuration and more accesses found, the day stays as drawn.
    access(jst(DAY, 20))
    second = access_sample(day=DAY, size=10, now=AFTER)

    assert first.created and not second.created
    assert second.run.pk == first.run.pk
    assert ReviewItem.objects.count() == 5
    assert SampleRun.objects.count() == 1


def test_the_database_refuses_a_second_item_for_one_event(access):
    event = access(jst(DAY))
    run = access_sample(day=DAY, size=1, now=AFTER).run

    with pytest.raises(IntegrityError), transaction.atomic():
        ReviewItem.objects.create(run=run, event=event, day=DAY, rank=2)


def test_a_day_not_over_is_refused(access, settings):
    settings.SHADAN_ACCESS_SAMPLE_GRACE_MINUTES = 15
    access(jst(DAY, 10))

    with pytest.raises(WrongState):
        access_sample(day=DAY, now=jst(DAY, 23))
    with pytest.raises(WrongState):  # over, but within the grace for late commits
        access_sample(day=DAY, now=jst(DAY + dt.timedelta(days=1), 0, 10))

    assert SampleRun.objects.count() == 0
    assert access_sample(day=DAY, now=jst(DAY + dt.timedelta(days=1), 0, 20)).created


def test_the_last_complete_day_is_yesterday_in_japan_after_the_grace(settings):
    settings.SHADAN_ACCESS_SAMPLE_GRACE_MINUTES = 15
    # 2026-03-10 15:30 UTC is 00:30 on the 11th in Japan.
    now = dt.datetime(2026, 3, 10, 15, 30, tzinfo=dt.UTC)
    assert last_complete_day(now) == DAY
    assert last_complete_day(now - dt.timedelta(minutes=20)) == DAY - dt.timedelta(days=1)


def test_due_days_are_caught_up_oldest_first_and_only_once(access, settings):
    settings.SHADAN_ACCESS_SAMPLE_CATCHUP_DAYS = 3
    for back in range(4):
        _accesses(access, 3, day=DAY - dt.timedelta(days=back))
    now = jst(DAY + dt.timedelta(days=1), 2)

    results = access_sample_due(now=now)

    assert [r.run.day for r in results] == [DAY - dt.timedelta(days=b) for b in (2, 1, 0)]
    assert access_sample_due(now=now) == []
    assert not SampleRun.objects.filter(day=DAY - dt.timedelta(days=3)).exists()


def test_the_draw_is_the_lowest_published_rank(settings):
    """Anyone can check a draw with the key and rank(): the lowest HMACs of the day."""
    settings.SHADAN_ACCESS_SAMPLE_KEY = "k-one"
    config = SampleConfig.from_settings(size=5)
    ids = list(range(1, 101))

    expected = sorted(ids, key=lambda event_id: rank(config, DAY, event_id))[:5]

    assert draw(config, DAY, ids) == expected
