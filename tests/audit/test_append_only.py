"""The audit tables are append-only in the database itself, not only in the ORM."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.contrib.admin.sites import site as admin_site
from django.db import DatabaseError, connection, models, transaction
from django.test import RequestFactory

from apps.audit.db import APPEND_ONLY_TABLES, missing_triggers
from apps.audit.models import AuditEvent, AuditSeal, AuditVerification
from apps.audit.sealing import audit_seal
from apps.audit.verification import audit_verify
from tests.audit.conftest import unguarded
from tests.conftest import require_postgres

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])

PK = {table: "id" for table in APPEND_ONLY_TABLES} | {"audit_auditseal": "seq"}


@pytest.fixture
def sealed_trail(record_events):
    record_events(3)
    audit_seal()
    audit_verify()
    return AuditEvent.objects.order_by("id").first()


@contextmanager
def refused_by_the_database() -> Iterator[None]:
    """The refusal must come from the database (a trigger); inside a savepoint so the
    test's transaction survives it on PostgreSQL."""
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        yield


def test_every_audit_table_has_its_refusing_triggers():
    assert missing_triggers(connection) == []


def test_the_orm_refuses_to_change_an_event(sealed_trail):
    event = sealed_trail
    with pytest.raises(TypeError):
        AuditEvent.objects.filter(pk=event.pk).update(reason="changed")
    with pytest.raises(TypeError):
        event.reason = "changed"
        event.save()
    with pytest.raises(TypeError):
        AuditEvent.objects.bulk_update([event], ["reason"])
    with pytest.raises(TypeError):
        AuditSeal.objects.filter(event=event).update(hash="0" * 64)

    assert AuditEvent.objects.get(pk=event.pk).reason == "変更 0"


def test_the_orm_refuses_to_delete_an_event(sealed_trail):
    with pytest.raises(TypeError):
        AuditEvent.objects.all().delete()
    with pytest.raises(TypeError):
        sealed_trail.delete()
    with pytest.raises(TypeError):
        AuditVerification.objects.all().delete()

    assert AuditEvent.objects.count() == 3


def test_the_database_refuses_an_update_that_gets_past_the_orm(sealed_trail):
    event = sealed_trail
    with refused_by_the_database():
        unguarded(AuditEvent).filter(pk=event.pk).update(reason="changed")
    with refused_by_the_database():
        event.reason = "changed"
        models.Model.save(event)  # Model.save of an existing row, guard skipped
    with refused_by_the_database():
        unguarded(AuditEvent).bulk_update([event], ["reason"])
    with refused_by_the_database():
        unguarded(AuditSeal).update(hash="0" * 64)
    with refused_by_the_database():
        unguarded(AuditVerification).update(ok=False)

    assert AuditEvent.objects.get(pk=event.pk).reason == "変更 0"


def test_the_database_refuses_a_delete_that_gets_past_the_orm(record_events):
    unsealed = record_events(1)[0]  # no seal yet, so no PROTECT foreign key in the way
    with refused_by_the_database():
        unguarded(AuditEvent).filter(pk=unsealed.pk).delete()
    with refused_by_the_database():
        unguarded(AuditEvent).filter(pk=unsealed.pk)._raw_delete(connection.alias)

    assert AuditEvent.objects.filter(pk=unsealed.pk).exists()


@pytest.mark.parametrize("table", APPEND_ONLY_TABLES)
def test_raw_sql_cannot_update_or_delete_rows_of(table, sealed_trail, record_events):
    audit_seal()  # a checkpoint row too
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608
        (before,) = cursor.fetchone()
    assert before > 0

    with refused_by_the_database(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {PK[table]} = {PK[table]}")  # noqa: S608
    with refused_by_the_database(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table}")  # noqa: S608

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608
        assert cursor.fetchone() == (before,)


@pytest.mark.postgres
@pytest.mark.parametrize("table", APPEND_ONLY_TABLES)
def test_postgresql_refuses_to_truncate(table, sealed_trail):
    require_postgres()
    with connection.cursor() as cursor:
        # Otherwise PostgreSQL refuses first, for the foreign-key checks still pending.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with refused_by_the_database(), connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {table} CASCADE")

    assert AuditEvent.objects.count() == 3


def test_the_admin_can_neither_change_nor_delete_events(sealed_trail, administrator):
    request = RequestFactory().get("/admin/audit/auditevent/")
    request.user = administrator
    model_admin = admin_site._registry[AuditEvent]

    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, sealed_trail)
    assert not model_admin.has_delete_permission(request, sealed_trail)
    assert not model_admin.get_actions(request)
