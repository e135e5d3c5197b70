"""What a transition writes beside its own row — the retail grant, the publication
message, the notifications — rides its audit statement on PostgreSQL (one statement
with the events) and runs just before it elsewhere, with the same rows, the same checks
and the same relays asked for after the commit."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.applications import services
from apps.applications.models import Application, ApplicationGroupObjectPermission
from apps.audit.models import AuditAction, AuditEvent
from apps.notifications.models import OutboxMessage
from apps.replication import services as replication
from apps.replication.models import ReplicationMessage
from tests.conftest import advance

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


def _table(model) -> str:
    return f"INTO {connection.ops.quote_name(model._meta.db_table)}"


def _statements_writing(captured, model) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if _table(model) in q["sql"]]


def test_a_verification_writes_its_grant_publication_and_notice_with_its_events(
    new_application, clerk, supervisor, django_capture_on_commit_callbacks
):
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor, relay=False)
    services.application_record_review_opened(acting_user=supervisor, application_id=app.pk)
    with (
        CaptureQueriesContext(connection) as captured,
        django_capture_on_commit_callbacks() as callbacks,
    ):
        services.application_verify(
            acting_user=supervisor, application_id=app.pk, expected_version=app.version
        )

    written = {
        model: _statements_writing(captured, model)
        for model in (ApplicationGroupObjectPermission, ReplicationMessage, OutboxMessage)
    }
    (events,) = _statements_writing(captured, AuditEvent)
    for model, statements in written.items():
        assert len(statements) == 1, model
        # One statement with the events on PostgreSQL; one of its own elsewhere.
        assert (statements[0] == events) == (connection.vendor == "postgresql"), model
    assert ApplicationGroupObjectPermission.objects.filter(content_object=app).count() == 1
    (message,) = ReplicationMessage.objects.filter(subject_id=app.pk, applied_at__isnull=True)
    assert message.payload["version"] == app.version
    assert replication.request_relay in callbacks
    actions = AuditEvent.objects.filter(object_id=str(app.pk)).values_list("action", flat=True)
    assert {AuditAction.PERMISSION_GRANTED, AuditAction.APPLICATION_VERIFIED} <= set(actions)


@pytest.mark.parametrize("granted", [True, False])
def test_a_progress_step_republishes_only_while_the_grant_holds(
    new_application, clerk, supervisor, granted, django_capture_on_commit_callbacks
):
    app = advance(new_application(), "verified", clerk=clerk, supervisor=supervisor)
    if not granted:  # behind the services' back: barrier_check's to repair
        ApplicationGroupObjectPermission.objects.filter(content_object=app).delete()
    before = ReplicationMessage.objects.count()

    with django_capture_on_commit_callbacks() as callbacks:
        services.application_release(acting_user=supervisor, application_id=app.pk)

    sent = ReplicationMessage.objects.count() - before
    assert sent == (1 if granted else 0)
    assert (replication.request_relay in callbacks) == granted
    assert Application.objects.get(pk=app.pk).state == "released"


def test_without_the_retail_permission_a_verification_writes_nothing(
    new_application, clerk, supervisor
):
    from django.contrib.auth.models import Permission

    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor, relay=False)
    services.application_record_review_opened(acting_user=supervisor, application_id=app.pk)
    Permission.objects.filter(codename="view_application").delete()
    events = AuditEvent.objects.count()

    with pytest.raises(ImproperlyConfigured, match="view_application permission is missing"):
        services.application_verify(
            acting_user=supervisor, application_id=app.pk, expected_version=app.version
        )

    assert Application.objects.get(pk=app.pk).masking_state == "encoded"
    assert AuditEvent.objects.count() == events
    assert not ReplicationMessage.objects.filter(subject_id=app.pk).exists()
