"""What the outbox keeps once a message is applied: account payloads are cleared at once,
applied messages go after the retention period, in short batches, and nothing that is
pending or failing is ever touched; the retail side still applies every later message."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.administration.services import user_set_roles
from apps.applications import services
from apps.applications.barrier import barrier_check
from apps.applications.models import Application
from apps.core.tasks import enqueue
from apps.publication.models import AppliedMessage, PublishedApplication, RetailAccount, Subject
from apps.replication import services as replication
from apps.replication import tasks
from apps.replication.models import Kind, ReplicationMessage
from apps.replication.retention import replication_purge
from apps.replication.services import relay_due, replication_write
from tests.conftest import PASSWORD, advance, replicate

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])

DAY = dt.timedelta(days=1)


def _message(*, created: dt.timedelta, applied: dt.timedelta | None, **fields) -> int:
    """A message created and applied that long ago (applied None: still pending)."""
    now = timezone.now()
    message = replication_write(
        subject=Subject.APPLICATION, subject_id=1, kind=Kind.REMOVE, payload={}
    )
    ReplicationMessage.objects.filter(pk=message.pk).update(
        created_at=now - created,
        applied_at=None if applied is None else now - applied,
        next_attempt_at=now + DAY if applied is None else now - created,
        **fields,
    )
    return int(message.pk)


def _left() -> set[int]:
    return set(ReplicationMessage.objects.values_list("id", flat=True))


@pytest.fixture
def verified(new_application, clerk, supervisor):
    def make(**overrides):
        return advance(new_application(**overrides), "verified", clerk=clerk, supervisor=supervisor)

    return make


def _reverify(app: Application, *, clerk, supervisor, **changes) -> Application:
    app = Application.objects.get(pk=app.pk)
    app = services.application_update(
        acting_user=clerk, application_id=app.pk, expected_version=app.version, changes=changes
    )
    return advance(app, "verified", clerk=clerk, supervisor=supervisor)


def _remarks(app: Application) -> str:
    return str(
        PublishedApplication.objects.filter(application_id=app.pk)
        .values_list("remarks", flat=True)
        .get()
    )


# --- the purge -----------------------------------------------------------------------------


def test_only_messages_applied_before_the_retention_period_are_purged(settings):
    settings.SHADAN_REPLICATION_RETENTION_DAYS = 7
    # given
    old_applied = _message(created=30 * DAY, applied=29 * DAY)
    just_past = _message(created=8 * DAY, applied=7 * DAY + dt.timedelta(minutes=1))
    old_pending = _message(created=20 * DAY, applied=None)
    old_failing = _message(
        created=10 * DAY, applied=None, attempts=40, last_error="ConnectionError: down"
    )
    # failed for weeks, applied only yesterday: the retention counts from the application
    late = _message(created=15 * DAY, applied=DAY)
    recent = _message(created=6 * DAY, applied=6 * DAY)
    newest = _message(created=dt.timedelta(0), applied=dt.timedelta(0))

    # when
    result = replication_purge()

    # then
    assert result.deleted == 2 and result.complete
    assert _left() == {old_pending, old_failing, late, recent, newest}
    assert not _left() & {old_applied, just_past}


def test_the_newest_message_is_kept_and_no_sequence_is_handed_out_twice():
    older = [_message(created=10 * DAY, applied=10 * DAY) for _ in range(3)]
    newest = _message(created=9 * DAY, applied=9 * DAY)

    assert replication_purge(retention=dt.timedelta(0)).deleted == 3
    assert _left() == {newest}
    # The retail side compares sequences (ids): one written after a purge, or after the
    # newest rows are gone all the same, must be above every id it has seen.
    ReplicationMessage.objects.all().delete()
    later = _message(created=dt.timedelta(0), applied=None)
    assert later > max(*older, newest)


def test_a_later_message_still_applies_after_the_earlier_ones_are_purged(
    verified, clerk, supervisor
):
    # given: published, its messages applied long ago and purged
    app = verified(remarks="前")
    another = verified()
    assert _remarks(app) == "前"
    ReplicationMessage.objects.update(applied_at=timezone.now() - 30 * DAY)
    assert replication_purge().deleted > 0
    assert not ReplicationMessage.objects.filter(subject_id=app.pk).exists()

    # when: edited and verified again
    app = _reverify(app, clerk=clerk, supervisor=supervisor, remarks="後")

    # then: the retail side applies it over what it holds
    assert _remarks(app) == "後"
    mark = AppliedMessage.objects.get(subject=Subject.APPLICATION, subject_id=app.pk)
    assert mark.sequence == ReplicationMessage.objects.filter(subject_id=app.pk).latest("id").pk
    assert PublishedApplication.objects.filter(application_id=another.pk).exists()


def test_a_late_older_message_still_changes_nothing_once_the_newer_one_is_purged(
    new_application, clerk, supervisor
):
    # given: an older publication held back (failing) while a newer one about the same
    # application was applied, and that newer one is purged
    app = advance(new_application(remarks="前"), "verified", clerk=clerk, supervisor=supervisor)
    held = ReplicationMessage.objects.filter(subject_id=app.pk).latest("id")
    ReplicationMessage.objects.filter(pk=held.pk).update(
        applied_at=None, next_attempt_at=timezone.now() + DAY, last_error="OperationalError"
    )
    app = _reverify(app, clerk=clerk, supervisor=supervisor, remarks="後")
    newer = ReplicationMessage.objects.filter(subject_id=app.pk).latest("id")
    assert newer.pk > held.pk and _remarks(app) == "後"
    ReplicationMessage.objects.filter(pk=newer.pk).update(applied_at=timezone.now() - 30 * DAY)
    _message(created=dt.timedelta(0), applied=dt.timedelta(0))  # the table's newest
    replication_purge()
    assert not ReplicationMessage.objects.filter(pk=newer.pk).exists()
    assert ReplicationMessage.objects.filter(pk=held.pk).exists()  # failing: kept

    # when: the held-back message is delivered at last
    ReplicationMessage.objects.filter(pk=held.pk).update(next_attempt_at=timezone.now())
    counts = relay_due()

    # then: superseded, as before the purge
    assert counts == {"applied": 0, "skipped": 1, "failed": 0}
    assert _remarks(app) == "後"


def test_the_purge_deletes_in_bounded_batches_and_a_run_stops_at_its_limit():
    old = [_message(created=10 * DAY, applied=10 * DAY) for _ in range(7)]
    newest = _message(created=dt.timedelta(0), applied=dt.timedelta(0))

    with CaptureQueriesContext(connection) as queries:
        first = replication_purge(batch_size=2, max_batches=2)

    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("DELETE")]
    assert len(deletes) == 2
    # each DELETE is bounded by an id range on the primary key, one statement each
    assert all('"id" >= ' in sql and '"id" < ' in sql for sql in deletes)
    assert (first.deleted, first.batches, first.complete) == (4, 2, False)
    assert _left() == {*old[4:], newest}

    second = replication_purge(batch_size=2, max_batches=2)

    assert (second.deleted, second.complete) == (3, True)
    assert _left() == {newest}


def test_the_walk_stops_at_the_first_window_of_recent_messages():
    _message(created=10 * DAY, applied=10 * DAY)
    for _ in range(9):
        _message(created=dt.timedelta(hours=1), applied=dt.timedelta(hours=1))

    result = replication_purge(batch_size=2)

    # the first window holds the old message and a recent one: nothing beyond can be due
    assert (result.deleted, result.batches, result.complete) == (1, 1, True)


def test_an_empty_outbox_or_a_lone_message_is_nothing_to_do():
    assert replication_purge(retention=dt.timedelta(0)).batches == 0
    lone = _message(created=30 * DAY, applied=30 * DAY)
    assert replication_purge(retention=dt.timedelta(0)).deleted == 0
    assert _left() == {lone}


def test_the_periodic_task_purges_and_returns_counts_only(settings):
    settings.SHADAN_REPLICATION_RETENTION_DAYS = 1
    _message(created=3 * DAY, applied=3 * DAY)
    kept = _message(created=dt.timedelta(0), applied=dt.timedelta(0))

    result = enqueue(tasks.purge).get()

    assert result == {"deleted": 1, "batches": 1, "complete": True}
    assert _left() == {kept}


# --- account payloads ----------------------------------------------------------------------


def _account_messages(user_id: int) -> list[ReplicationMessage]:
    return list(
        ReplicationMessage.objects.filter(subject=Subject.ACCOUNT, subject_id=user_id).order_by(
            "id"
        )
    )


def test_an_applied_account_message_keeps_no_password_hash_or_name(retail_user, administrator):
    # given: the retail person's account provisioned, and then changed once more
    user_set_roles(acting_user=administrator, user_id=retail_user.pk, roles=["retail"])
    pending = _account_messages(retail_user.pk)
    assert pending and all(m.payload.get("password") for m in pending)

    # when
    replicate()

    # then: the retail account has what they carried; the outbox keeps no trace of it
    account = RetailAccount.objects.get(pk=retail_user.pk)
    assert account.check_password(PASSWORD) and account.username == retail_user.username
    assert [m.payload for m in _account_messages(retail_user.pk)] == [{}] * len(pending)


def test_an_account_message_that_fails_keeps_its_payload_until_it_is_applied(
    retail_user, monkeypatch
):
    ReplicationMessage.objects.filter(subject=Subject.ACCOUNT).update(applied_at=timezone.now())
    real = replication._apply_account

    def down(message, alias):
        raise ConnectionError("retail database unreachable")

    monkeypatch.setattr(replication, "_apply_account", down)
    retail_user.refresh_from_db()
    message = replication.replication_write(
        subject=Subject.ACCOUNT,
        subject_id=retail_user.pk,
        kind=Kind.UPSERT,
        payload={"username": retail_user.username, "password": retail_user.password},
    )

    assert relay_due()["failed"] == 1
    message.refresh_from_db()
    assert message.payload["password"] == retail_user.password  # still to deliver

    monkeypatch.setattr(replication, "_apply_account", real)
    ReplicationMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    assert relay_due()["applied"] == 1
    message.refresh_from_db()
    assert message.applied_at is not None and message.payload == {}


def test_application_messages_keep_their_payload_until_purged(verified):
    app = verified(remarks="北側")

    message = ReplicationMessage.objects.filter(subject_id=app.pk).latest("id")

    assert message.applied_at is not None
    assert message.payload["remarks"] == "北側"


def test_a_cleared_account_message_made_pending_again_creates_no_empty_account(retail_user):
    replicate()
    message = _account_messages(retail_user.pk)[-1]
    assert message.payload == {}
    # by hand: pending again, and the retail side has lost the account and its mark
    ReplicationMessage.objects.filter(pk=message.pk).update(applied_at=None)
    AppliedMessage.objects.filter(subject=Subject.ACCOUNT, subject_id=retail_user.pk).delete()
    RetailAccount.objects.filter(pk=retail_user.pk).delete()

    assert relay_due() == {"applied": 1, "skipped": 0, "failed": 0}
    assert not RetailAccount.objects.filter(pk=retail_user.pk).exists()

    # the barrier check provisions it again from the T&D side, with a new message
    barrier_check(repair=True)
    account = RetailAccount.objects.get(pk=retail_user.pk)
    assert account.username == retail_user.username and account.check_password(PASSWORD)
