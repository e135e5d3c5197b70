"""audit_record_many: several events of one actor in one INSERT, each as audit_record
would write it (its MAC, the actor's division and roles read by the INSERT)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.audit.mac import MAC_VALUES, mac_problem
from apps.audit.models import AuditAction, AuditEvent
from apps.audit.sealing import audit_seal
from apps.audit.services import Entry, audit_record, audit_record_many
from apps.audit.verification import audit_verify

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


def test_several_events_go_in_one_insert_each_authentic_with_its_actor_snapshot(supervisor):
    single = audit_record(actor=supervisor, action=AuditAction.EXPORT, details={"n": 0})
    entries = [
        Entry(action=AuditAction.PERMISSION_GRANTED, details={"n": 1}),
        Entry(action=AuditAction.EXPORT, changed_fields=["b", "a"], details={"n": 2}, reason="r"),
    ]

    with CaptureQueriesContext(connection) as captured:
        events = audit_record_many(actor=supervisor, entries=entries)

    assert len(captured) == 1
    assert [e.details["n"] for e in events] == [1, 2]
    stored = {e.pk: e for e in AuditEvent.objects.filter(pk__in=[e.pk for e in events])}
    for event in events:
        row = stored[event.pk]
        assert (row.action, row.details, row.changed_fields, row.reason) == (
            event.action,
            event.details,
            event.changed_fields,
            event.reason,
        )
        assert (row.actor_division, row.actor_roles) == (
            single.actor_division,
            single.actor_roles,
        )
        assert (event.actor_division, event.actor_roles) == (row.actor_division, row.actor_roles)
    rows = AuditEvent.objects.filter(pk__in=list(stored)).values_list(*MAC_VALUES)
    assert [mac_problem(row) for row in rows] == [None, None]
    audit_seal()
    assert audit_verify(record=False).ok


def test_one_entry_is_audit_record_itself_and_none_writes_nothing(supervisor):
    with CaptureQueriesContext(connection) as captured:
        assert audit_record_many(actor=supervisor, entries=[]) == []
    assert len(captured) == 0
    (event,) = audit_record_many(actor=None, entries=[Entry(action=AuditAction.EXPORT)])
    assert AuditEvent.objects.get(pk=event.pk).actor_username == "system"


def test_riders_without_an_event_to_carry_them_are_refused(new_application, supervisor):
    from apps.vocabulary.states import Contribution

    rider = _contribution(new_application(), supervisor, Contribution.SUBMITTED)
    with pytest.raises(ValueError, match="riders need an event"):
        audit_record_many(actor=supervisor, entries=[], riders=[rider])


def _contribution(application, user, kind):
    from apps.applications.services._common import contribution_row

    return contribution_row(application, user, kind)


def test_rows_the_events_record_ride_in_their_statement_on_postgresql(
    new_application, clerk, supervisor
):
    """An event's riders (its contribution row): written by the events' own INSERT on
    PostgreSQL (one statement, its WITH), just before it elsewhere; the events as
    without them, ids, MACs and snapshots."""
    from django.db import transaction

    from apps.applications.models import ApplicationContribution
    from apps.vocabulary.states import Contribution

    application = new_application()
    riders = [
        _contribution(application, supervisor, Contribution.SUBMITTED),
        _contribution(application, clerk, Contribution.ENCODED),
    ]
    entries = [Entry(action=AuditAction.EXPORT, details={"n": 1})]
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        (event,) = audit_record_many(actor=supervisor, entries=entries, riders=riders)

    written = [sql for sql in captured.captured_queries if "INSERT" in sql["sql"]]
    if connection.vendor == "postgresql":
        assert len(written) == 1 and written[0]["sql"].startswith("WITH w0 AS (INSERT")
    else:
        assert len(written) == 3
    found = ApplicationContribution.objects.filter(application=application).exclude(
        kind=Contribution.CREATED
    )
    assert sorted((c.user_id, c.kind) for c in found) == sorted(
        [(supervisor.pk, Contribution.SUBMITTED), (clerk.pk, Contribution.ENCODED)]
    )
    row = AuditEvent.objects.filter(pk=event.pk).values_list(*MAC_VALUES).get()
    assert mac_problem(row) is None and event.details == {"n": 1}
    assert AuditEvent.objects.get(pk=event.pk).actor_roles == event.actor_roles


@pytest.mark.django_db(transaction=True, databases=["default", "vault", "retail"])
def test_a_rider_that_fails_takes_the_events_with_it(new_application, supervisor):
    from django.db import IntegrityError

    from apps.applications.models import ApplicationContribution
    from apps.applications.services._common import _contribution_insert
    from apps.vocabulary.states import Contribution

    application = new_application()
    rider = _contribution(application, supervisor, Contribution.SUBMITTED)
    row = {"application_id": application.pk, "version": 1, "user_id": None, "kind": "created"}
    broken = _contribution_insert("default").rider(connection, [row])  # NOT NULL
    before = AuditEvent.objects.count()

    with pytest.raises(IntegrityError):
        # The first rider would be written, were the three not one (statement or
        # transaction).
        audit_record(actor=supervisor, action=AuditAction.EXPORT, riders=[rider, broken])

    assert AuditEvent.objects.count() == before
    assert not ApplicationContribution.objects.filter(kind=Contribution.SUBMITTED).exists()
