"""The audit event's INSERT is prepared once per PostgreSQL connection (apps.core.prepared)
and stays correct when the session's prepared statements go away: a rollback, or a
`DEALLOCATE ALL` run through Django's own cursor. Django's queries are prepared once a
connection has repeated them (config/settings/database_options)."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from apps.accounts.models import User
from apps.audit.models import AuditAction, AuditEvent
from apps.audit.services import audit_record
from config.settings.database_options import prepare_threshold
from tests.conftest import require_postgres

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(databases=["default", "vault", "retail"])]


def _record(actor: User, n: int) -> AuditEvent:
    return audit_record(actor=actor, action=AuditAction.EXPORT, details={"n": n})


def _prepared() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements ORDER BY prepare_time")
        return [row[0] for row in cursor.fetchall()]


def _stored(event: AuditEvent) -> tuple[str, list[str], dict[str, int]]:
    row = AuditEvent.objects.get(pk=event.pk)
    return row.actor_division, row.actor_roles, row.details


def test_the_event_insert_is_prepared_at_once_and_django_queries_once_repeated(
    clerk: User,
) -> None:
    require_postgres()
    threshold = connection.connection.prepare_threshold
    assert threshold == prepare_threshold() is not None  # config/settings/database_options
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")  # what setting up the test databases prepared

    _record(clerk, 0)
    User.objects.filter(pk=clerk.pk).exists()

    # The event INSERT on its first execution; Django's SELECT not yet.
    first = _prepared()
    assert len(first) == 1 and first[0].startswith('INSERT INTO "audit_auditevent"')

    for n in range(threshold + 1):
        _record(clerk, n + 1)
        User.objects.filter(pk=clerk.pk).exists()

    # ... and Django's, once this connection has run it more than the threshold.
    prepared = _prepared()
    assert len(prepared) == 2
    assert prepared[0] == first[0]
    assert prepared[1].startswith('SELECT $1 AS "a" FROM "accounts_user"')
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT).count() == threshold + 2


def test_a_deallocate_all_through_django_is_noticed(clerk: User) -> None:
    require_postgres()
    _record(clerk, 1)
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    assert _prepared() == []

    event = _record(clerk, 2)  # prepared again, not "prepared statement does not exist"

    assert _stored(event) == ("td", ["clerk"], {"n": 2})
    assert len(_prepared()) == 1


def test_a_rolled_back_write_leaves_the_next_one_working(clerk: User) -> None:
    require_postgres()
    with pytest.raises(RuntimeError), transaction.atomic():
        _record(clerk, 1)
        raise RuntimeError("the caller's change failed")

    event = _record(clerk, 2)

    assert _stored(event) == ("td", ["clerk"], {"n": 2})
    exports = AuditEvent.objects.filter(action=AuditAction.EXPORT)
    assert list(exports.values_list("pk", flat=True)) == [event.pk]


def test_the_query_log_shows_the_insert_with_its_values(clerk: User) -> None:
    require_postgres()
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        audit_record(actor=clerk, action=AuditAction.EXPORT, object_label="logged-label")

    (insert,) = [q["sql"] for q in captured.captured_queries if "audit_auditevent" in q["sql"]]
    assert insert.startswith('INSERT INTO "audit_auditevent"')
    assert "'logged-label'" in insert
