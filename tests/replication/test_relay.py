"""The replication relay: ordered per subject, withdrawals first, idempotent, retried
until done, eager after the commit in the embedded default."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.applications import services
from apps.applications.models import Application
from apps.publication.models import AppliedMessage, PublishedApplication, Subject
from apps.replication import services as replication
from apps.replication.models import Kind, ReplicationMessage
from apps.replication.services import relay_due, replication_write
from apps.vocabulary.projection import project
from tests.conftest import advance, replicate

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


@pytest.fixture
def verified(new_application, clerk, supervisor):
    def make(**overrides):
        return advance(
            new_application(**overrides),
            "verified",
            clerk=clerk,
            supervisor=supervisor,
            relay=False,
        )

    return make


def _published_ids() -> set[int]:
    return set(PublishedApplication.objects.values_list("application_id", flat=True))


def _remarks(app: Application) -> str:
    return str(
        PublishedApplication.objects.filter(application_id=app.pk)
        .values_list("remarks", flat=True)
        .get()
    )


def _applied(subject: str, subject_id: int) -> int | None:
    mark = AppliedMessage.objects.filter(subject=subject, subject_id=subject_id).first()
    return mark.sequence if mark else None


def _messages(app: Application) -> list[ReplicationMessage]:
    return list(
        ReplicationMessage.objects.filter(subject=Subject.APPLICATION, subject_id=app.pk).order_by(
            "id"
        )
    )


def _reverify(app: Application, *, clerk, supervisor, **changes) -> Application:
    app = Application.objects.get(pk=app.pk)
    app = services.application_update(
        acting_user=clerk, application_id=app.pk, expected_version=app.version, changes=changes
    )
    return advance(app, "verified", clerk=clerk, supervisor=supervisor, relay=False)


def test_a_piled_up_backlog_is_applied_once_each_and_ends_equal_to_the_truth(
    verified, clerk, supervisor, retail_user
):
    # given: the relay is stopped (db mode: nothing runs after the commits) while three
    # applications are verified, one is edited and verified again, one is cancelled
    kept, edited, cancelled = verified(), verified(remarks="前"), verified()
    edited = _reverify(edited, clerk=clerk, supervisor=supervisor, remarks="後")
    cancelled = Application.objects.get(pk=cancelled.pk)
    services.application_cancel(
        acting_user=supervisor,
        application_id=cancelled.pk,
        expected_version=cancelled.version,
        reason="取り下げ",
    )
    assert PublishedApplication.objects.count() == 0
    pending = ReplicationMessage.objects.filter(applied_at__isnull=True).count()
    assert pending >= 6

    # when: the relay restarts
    counts = replicate()

    # then: the retail database holds exactly the truth, each message went through once
    assert _published_ids() == {kept.pk, edited.pk}
    assert _remarks(edited) == "後"
    assert counts["applied"] + counts["skipped"] == pending
    assert counts["failed"] == 0
    assert set(ReplicationMessage.objects.values_list("attempts", flat=True)) == {1}
    for app in (kept, edited, cancelled):
        assert _applied(Subject.APPLICATION, app.pk) == _messages(app)[-1].pk
    row = PublishedApplication.objects.get(application_id=edited.pk)
    assert row.sequence == _messages(edited)[-1].pk
    assert row.projection() == project(Application.objects.get(pk=edited.pk))
    # and a second run finds nothing to do
    assert replicate() == {"applied": 0, "skipped": 0, "failed": 0}


def test_an_older_message_delivered_after_a_newer_one_changes_nothing(verified, clerk, supervisor):
    app = verified(remarks="古い")
    app = _reverify(app, clerk=clerk, supervisor=supervisor, remarks="新しい")
    older_upsert = _messages(app)[0]
    assert older_upsert.kind == Kind.UPSERT and older_upsert.payload["remarks"] == "古い"
    # the older message is held back (a failed first attempt, say) ...
    later = timezone.now() + dt.timedelta(hours=1)
    ReplicationMessage.objects.filter(pk=older_upsert.pk).update(next_attempt_at=later)
    replicate()
    assert _remarks(app) == "新しい"
    # ... and arrives after the newer ones
    ReplicationMessage.objects.filter(pk=older_upsert.pk).update(next_attempt_at=timezone.now())

    counts = replicate()

    assert counts == {"applied": 0, "skipped": 1, "failed": 0}
    assert _remarks(app) == "新しい"
    assert _applied(Subject.APPLICATION, app.pk) == _messages(app)[-1].pk
    assert ReplicationMessage.objects.get(pk=older_upsert.pk).applied_at is not None


def test_a_withdrawal_in_the_same_batch_goes_before_every_publication(
    verified, new_application, clerk, supervisor, monkeypatch
):
    first, second = verified(), verified()
    third = advance(new_application(), "verified", clerk=clerk, supervisor=supervisor, relay=False)
    replicate()
    first = Application.objects.get(pk=first.pk)
    services.application_cancel(
        acting_user=supervisor, application_id=first.pk, expected_version=first.version, reason="x"
    )
    seen: list[tuple[str, int]] = []
    apply = replication._apply_in

    def spy(message, alias):
        seen.append((message.kind, message.subject_id))
        return apply(message, alias)

    monkeypatch.setattr(replication, "_apply_in", spy)
    # a publication written after the withdrawal, and one held back from before it
    fourth = verified()
    ReplicationMessage.objects.filter(subject_id=third.pk).update(applied_at=None)

    replicate()

    assert seen[0] == (Kind.REMOVE, first.pk)
    assert all(kind == Kind.UPSERT for kind, _ in seen[1:])
    assert _published_ids() == {second.pk, third.pk, fourth.pk}


def test_a_redelivered_message_is_a_no_op(verified):
    app = verified()
    replicate()
    row = PublishedApplication.objects.get(application_id=app.pk)
    # the crash between the retail commit and marking the outbox row applied
    last = _messages(app)[-1]
    ReplicationMessage.objects.filter(pk=last.pk).update(applied_at=None)
    PublishedApplication.objects.filter(application_id=app.pk).update(remarks="触っていない印")

    counts = replicate()

    assert counts == {"applied": 0, "skipped": 1, "failed": 0}
    after = PublishedApplication.objects.get(application_id=app.pk)
    assert _remarks(app) == "触っていない印"  # not written again
    assert after.published_at == row.published_at
    assert ReplicationMessage.objects.get(pk=last.pk).applied_at is not None


def test_a_failing_apply_is_retried_with_back_off_and_later_succeeds(verified, monkeypatch):
    app = verified()
    real = replication._apply_application

    def broken(message, alias):
        raise ConnectionError("retail database unreachable")

    monkeypatch.setattr(replication, "_apply_application", broken)

    assert relay_due()["failed"] == 1
    message = _messages(app)[-1]
    message.refresh_from_db()
    assert message.applied_at is None and message.attempts == 1
    assert message.last_error == "ConnectionError: retail database unreachable"
    first_wait = message.next_attempt_at - timezone.now()
    assert (
        dt.timedelta(seconds=1)
        < first_wait
        <= dt.timedelta(seconds=replication._backoff(1).seconds)
    )
    # not due yet: the next run leaves it
    assert relay_due() == {"applied": 0, "skipped": 0, "failed": 0}
    # a second failure waits twice as long
    ReplicationMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    relay_due()
    message.refresh_from_db()
    assert message.attempts == 2
    assert message.next_attempt_at - timezone.now() > first_wait

    # when the retail database is back and the back-off has passed
    monkeypatch.setattr(replication, "_apply_application", real)
    ReplicationMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())

    assert relay_due()["applied"] == 1
    message.refresh_from_db()
    assert message.applied_at is not None and message.attempts == 3 and message.last_error == ""
    assert _published_ids() == {app.pk}


def test_after_the_commit_the_relay_runs_at_once_in_the_embedded_default(
    new_application, clerk, supervisor, django_capture_on_commit_callbacks
):
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor, relay=False)
    services.application_record_review_opened(acting_user=supervisor, application_id=app.pk)

    with django_capture_on_commit_callbacks(execute=True):
        services.application_verify(
            acting_user=supervisor, application_id=app.pk, expected_version=app.version
        )

    assert _published_ids() == {app.pk}
    assert not ReplicationMessage.objects.filter(applied_at__isnull=True).exists()


def test_a_message_carries_no_customer_personal_data(verified):
    app = verified(remarks="北側に引込柱")

    payload = _messages(app)[-1].payload

    assert set(payload) == {"version", "projection_hash", "verified_at", *project(app).as_dict()}
    assert "customer_name" not in str(payload) and "address" not in payload


def test_replication_write_queues_the_relay_for_after_the_commit(
    db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        replication_write(subject=Subject.APPLICATION, subject_id=1, kind=Kind.REMOVE)

    assert callbacks == [replication.request_relay]


def test_a_broker_outage_only_delays_the_relay_and_is_not_asked_again_at_once(
    db, monkeypatch, django_capture_on_commit_callbacks
):
    attempts: list[int] = []

    def broker_down(task, *args, **options):
        attempts.append(1)
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr("apps.core.tasks.enqueue", broker_down)
    monkeypatch.setattr(replication.request_relay, "down_until", 0.0)

    with django_capture_on_commit_callbacks(execute=True):
        replication_write(subject=Subject.APPLICATION, subject_id=1, kind=Kind.REMOVE)
    with django_capture_on_commit_callbacks(execute=True):
        replication_write(subject=Subject.APPLICATION, subject_id=2, kind=Kind.REMOVE)

    # the commits went through, the messages wait for beat, the second commit did not
    # spend another connection attempt
    assert attempts == [1]
    assert ReplicationMessage.objects.filter(applied_at__isnull=True).count() == 2


def test_one_failing_message_does_not_hold_back_the_rest_of_its_round(verified, monkeypatch):
    # given: two publications due in one round, the retail side refusing one of them
    good, bad = verified(), verified()
    real = replication._apply_application

    def refuses_bad(message, alias):
        if message.subject_id == bad.pk:
            raise ConnectionError("retail row refused")
        return real(message, alias)

    monkeypatch.setattr(replication, "_apply_application", refuses_bad)

    # when: the round's one retail transaction fails, each goes again in its own
    counts = relay_due()

    # then: the good one is published, the bad one waits for its back-off alone
    assert counts == {"applied": 1, "skipped": 0, "failed": 1}
    assert _published_ids() == {good.pk}
    failing = _messages(bad)[-1]
    assert failing.applied_at is None and failing.attempts == 1
    assert failing.last_error == "ConnectionError: retail row refused"
    assert _messages(good)[-1].applied_at is not None


def test_a_publication_is_one_retail_statement_on_postgresql(verified, monkeypatch):
    """The claim and the published row's upsert in one statement (PostgreSQL), the same
    row written as by the claim and the upsert one after the other (SQLite; forced on
    PostgreSQL for the second application)."""
    one, two = verified(), verified()
    retail = connections["retail"]

    with CaptureQueriesContext(retail) as ran:
        assert relay_due(limit=1) == {"applied": 1, "skipped": 0, "failed": 0}
    statements = [q["sql"] for q in ran if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(statements) == (1 if retail.vendor == "postgresql" else 2)

    monkeypatch.setattr(replication, "_in_one_statement", lambda message, alias: False)
    assert relay_due(limit=1) == {"applied": 1, "skipped": 0, "failed": 0}

    rows = {row.application_id: row for row in PublishedApplication.objects.using("retail").all()}
    assert rows.keys() == {one.pk, two.pk}
    for app in (one, two):
        assert rows[app.pk].projection() == project(Application.objects.get(pk=app.pk))
        assert rows[app.pk].sequence == _messages(app)[-1].pk
        assert _applied(Subject.APPLICATION, app.pk) == _messages(app)[-1].pk
