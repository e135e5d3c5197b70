"""Retail views come home: the retail site's view log, copied into the central trail by
the collector exactly once, with each view's original time, person and request."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import DatabaseError, close_old_connections, connections, transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.administration.services import user_transfer
from apps.audit import collector
from apps.audit.collector import retail_views_collect, retail_views_pending_since
from apps.audit.models import AuditAction, AuditEvent, AuditSeal, CollectionCursor
from apps.audit.sealing import audit_seal
from apps.audit.services import audit_record
from apps.audit.tasks import collect_retail_views
from apps.audit.verification import audit_verify
from apps.publication.models import RetailView, RetailViewLog
from apps.publication.routers import retail_alias
from tests.conftest import on_postgres, require_postgres

pytestmark = pytest.mark.django_db(databases=["default", "retail"])


@pytest.fixture(autouse=True)
def _settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL's sequences are not rolled back with a test, so each test's log starts
    after a gap: no waiting for it, except where a test is about gaps."""
    monkeypatch.setattr(collector, "SETTLE_SECONDS", 0)


def log_view(
    user: User,
    view: str = RetailView.DETAIL,
    *,
    application_id: int | None = 41,
    reference: str = "SD2026-0000041",
    at: dt.datetime | None = None,
    **extra: Any,
) -> RetailViewLog:
    """What the retail site writes when it shows a page."""
    fields: dict[str, Any] = {
        "account_id": user.pk,
        "username": user.username,
        "view": view,
        "application_id": application_id,
        "reference": reference,
        "pseudonym": "P-41",
        "request_id": "req-1",
        "client_ip": "192.0.2.7",
        "user_agent": "Firefox/140",
        **extra,
    }
    if at is not None:
        fields["occurred_at"] = at
    return RetailViewLog.objects.create(**fields)


def collected() -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            action__in=[AuditAction.RETAIL_VIEWED, AuditAction.RETAIL_NOT_FOUND]
        ).order_by("id")
    )


def test_a_logged_view_becomes_one_event_with_its_original_time_person_and_request(retail_user):
    # given
    at = timezone.now() - dt.timedelta(hours=3)
    row = log_view(retail_user, at=at)
    # when
    result = retail_views_collect()
    # then
    assert result.collected == 1
    [event] = collected()
    assert event.action == AuditAction.RETAIL_VIEWED
    assert event.occurred_at == at
    assert event.actor_id == retail_user.pk
    assert event.actor_username == retail_user.username
    assert (event.object_type, event.object_id, event.object_label) == (
        "applications.application",
        "41",
        "SD2026-0000041",
    )
    assert event.details == {"view": "detail", "retail_log_id": row.pk}
    assert (event.request_id, event.client_ip, event.user_agent) == (
        "req-1",
        "192.0.2.7",
        "Firefox/140",
    )


def test_a_list_row_without_a_reference_is_labelled_with_the_pseudonym(retail_user):
    log_view(retail_user, RetailView.LIST, reference="")
    retail_views_collect()
    [event] = collected()
    assert (event.object_label, event.details["view"]) == ("P-41", "list")


def test_a_request_that_found_nothing_becomes_retail_not_found(retail_user):
    row = log_view(
        retail_user,
        RetailView.NOT_FOUND,
        application_id=None,
        reference="",
        details={"requested": "SD2026-0009999"},
    )
    retail_views_collect()
    [event] = collected()
    assert event.action == AuditAction.RETAIL_NOT_FOUND
    assert (event.object_type, event.object_id, event.object_label) == ("", "", "SD2026-0009999")
    assert event.details == {
        "view": "detail",
        "requested": "SD2026-0009999",
        "retail_log_id": row.pk,
    }


def test_the_actor_is_recorded_as_they_were_when_they_looked(retail_user, administrator):
    # given: a view, then the person moves to T&D before the collector runs
    log_view(retail_user)
    user_transfer(
        acting_user=administrator, user_id=retail_user.pk, to_division="td", roles=["clerk"]
    )
    # when
    retail_views_collect()
    # then: retail, with the retail role, as at the time of the view
    [event] = collected()
    assert (event.actor_division, event.actor_roles) == ("retail", ["retail"])
    # and a view after the transfer shows the new division and roles
    log_view(retail_user)
    retail_views_collect()
    assert (collected()[-1].actor_division, collected()[-1].actor_roles) == ("td", ["clerk"])


def test_a_view_before_the_person_existed_shows_no_division_and_no_role(retail_user):
    # what the trail knows at that moment: nobody had granted them anything yet
    log_view(retail_user, at=retail_user.date_joined - dt.timedelta(minutes=5))
    retail_views_collect()
    assert (collected()[0].actor_division, collected()[0].actor_roles) == ("", [])


def test_views_that_piled_up_while_the_collector_was_stopped_each_reach_the_trail_once(
    retail_user,
):
    # given: the collector ran, then stopped while views piled up
    log_view(retail_user, at=timezone.now() - dt.timedelta(hours=5))
    retail_views_collect()
    piled = [
        log_view(retail_user, RetailView.LIST, at=timezone.now() - dt.timedelta(minutes=m))
        for m in range(240, 0, -1)
    ]
    # when: it restarts (small batches), and runs again
    assert retail_views_collect(batch_size=7).collected == len(piled)
    assert retail_views_collect().collected == 0
    call_command("collect_retail_views", verbosity=0)
    # then
    ids = [event.details["retail_log_id"] for event in collected()]
    assert sorted(ids) == sorted({*ids})
    assert len(ids) == len(piled) + 1
    assert {row.pk for row in piled} <= set(ids)
    assert CollectionCursor.objects.get(source=collector.SOURCE).last_id == piled[-1].pk
    assert retail_views_pending_since() is None


def test_a_crash_before_the_commit_leaves_the_cursor_where_it_was(retail_user):
    # given
    rows = [log_view(retail_user) for _ in range(3)]
    # when: the collector dies after writing the events, before its transaction commits
    with (
        mock.patch.object(collector, "audit_seal_written", side_effect=DatabaseError("gone")),
        pytest.raises(DatabaseError),
    ):
        retail_views_collect()
    # then: nothing of it stayed, and the next run copies every row once
    assert collected() == []
    assert retail_views_pending_since() == rows[0].occurred_at
    assert retail_views_collect().collected == 3
    assert [e.details["retail_log_id"] for e in collected()] == [row.pk for row in rows]


def test_the_cursor_waits_at_a_gap_until_the_missing_row_has_had_time_to_commit(
    retail_user, monkeypatch
):
    # given: row n+1 is still being written (not visible) while n+2 is
    first = log_view(retail_user)
    retail_views_collect()
    monkeypatch.setattr(collector, "SETTLE_SECONDS", 60)
    after_gap = log_view(retail_user, id=first.pk + 2)
    # when / then: the cursor stops before the gap
    result = retail_views_collect()
    assert (result.collected, result.waiting, result.last_id) == (0, True, first.pk)
    # the missing row arrives: both are collected, in order
    missing = log_view(retail_user, id=first.pk + 1)
    assert retail_views_collect().collected == 2
    assert [e.details["retail_log_id"] for e in collected()] == [first.pk, missing.pk, after_gap.pk]


def test_a_gap_older_than_the_settling_time_is_passed(retail_user, monkeypatch):
    first = log_view(retail_user)
    retail_views_collect()
    monkeypatch.setattr(collector, "SETTLE_SECONDS", 60)
    log_view(retail_user, id=first.pk + 2, at=timezone.now() - dt.timedelta(minutes=2))
    assert retail_views_collect().collected == 1


def test_a_row_naming_no_td_user_is_passed_without_stopping_the_trail(retail_user, caplog):
    ghost = User(pk=999_999, username="ghost")
    log_view(ghost)
    log_view(retail_user)
    assert retail_views_collect().collected == 2
    assert [e.actor_id for e in collected()] == [retail_user.pk]
    assert "names no T&D user" in caplog.text


def test_collected_views_from_hours_ago_are_sealed_and_verify(retail_user, checkpoint_dir):
    # given: a sealed chain whose head is now
    audit_record(actor=None, action=AuditAction.CONFIGURATION_CHANGED, details={"s": 1})
    audit_seal()
    # when: views from hours ago (beyond the sealer's grace window) are collected
    log_view(retail_user, at=timezone.now() - dt.timedelta(hours=6))
    log_view(retail_user, RetailView.NOT_FOUND, application_id=None, reference="")
    retail_views_collect()
    # then: sealed in the collector's transaction, MACs accepted, the chain verifies
    events = collected()
    assert AuditSeal.objects.filter(event__in=events).count() == 2
    result = audit_seal()
    assert result.refused == ()
    report = audit_verify(record=True)
    assert report.ok, report.summary


def test_the_periodic_task_collects(retail_user):
    log_view(retail_user)
    assert collect_retail_views() == {
        "collected": 1,
        "last_id": RetailViewLog.objects.get().pk,
    }


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE publication_retailviewlog SET username = 'x'",
        "DELETE FROM publication_retailviewlog",
    ],
)
def test_the_view_log_refuses_update_and_delete_in_the_database(retail_user, statement):
    log_view(retail_user)
    retail = connections[retail_alias()]
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(using=retail_alias()),
        retail.cursor() as cursor,
    ):
        cursor.execute(statement)
    assert RetailViewLog.objects.get().username == retail_user.username


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, databases=["default", "retail"])
def test_two_collectors_at_once_copy_each_view_once(retail_user):
    require_postgres()
    assert on_postgres()
    for _ in range(60):
        log_view(retail_user)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            start.wait()
            retail_views_collect(batch_size=5)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            close_old_connections()
            for alias in ("default", retail_alias()):
                connections[alias].close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    ids = [event.details["retail_log_id"] for event in collected()]
    assert len(ids) == 60
    assert len(set(ids)) == 60
