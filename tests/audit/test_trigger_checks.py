"""`audit_verify` checks what the append-only triggers run and whether they fire, not
only that triggers of the right names exist (issue 12, item 8).

Each test disarms the triggers as a table owner could, inside the test's transaction
(PostgreSQL and SQLite both roll DDL back), then asks the verifier.
"""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from apps.audit.db import trigger_problems
from apps.audit.models import VerificationProblem as P
from apps.audit.sealing import audit_seal
from apps.audit.verification import audit_verify
from tests.conftest import require_postgres

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


@pytest.fixture
def trail(record_events):
    record_events(3)
    audit_seal()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # ALTER TABLE refuses while foreign-key checks of this transaction are pending.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def unprotected_summary() -> str:
    """The verifier's finding about the triggers (an update they let through is a finding
    of its own: the altered events)."""
    report = audit_verify(record=False)
    assert not report.ok
    [finding] = [f for f in report.findings if f.problem == P.UNPROTECTED]
    return finding.message


def test_armed_triggers_raise_no_finding(trail):
    assert trigger_problems(connection) == []
    assert audit_verify(record=False).ok


@pytest.mark.postgres
def test_a_trigger_function_replaced_by_one_that_lets_everything_through_fails_verification(
    trail,
):
    require_postgres()
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END; $$"
        )
        # The proof that it is disarmed: an update now goes through.
        cursor.execute("UPDATE audit_auditevent SET reason = 'rewritten'")

    summary = unprotected_summary()

    assert "function audit_refuse_change() replaced" in summary


@pytest.mark.postgres
def test_a_disabled_trigger_fails_verification(trail):
    require_postgres()
    with connection.cursor() as cursor:
        cursor.execute('ALTER TABLE audit_auditevent DISABLE TRIGGER "audit_auditevent_no_update"')

    summary = unprotected_summary()

    assert "audit_auditevent_no_update disabled" in summary
    assert "audit_auditevent_no_update missing" not in summary


@pytest.mark.postgres
def test_a_trigger_firing_only_for_replication_fails_verification(trail):
    require_postgres()
    with connection.cursor() as cursor:
        cursor.execute(
            'ALTER TABLE audit_auditseal ENABLE REPLICA TRIGGER "audit_auditseal_no_delete"'
        )

    assert "audit_auditseal_no_delete enabled only as 'R'" in unprotected_summary()


@pytest.mark.postgres
def test_a_trigger_re_created_with_a_condition_that_never_holds_fails_verification(trail):
    require_postgres()
    with connection.cursor() as cursor:
        cursor.execute('DROP TRIGGER "audit_auditevent_no_delete" ON audit_auditevent')
        cursor.execute(
            'CREATE TRIGGER "audit_auditevent_no_delete" BEFORE DELETE ON audit_auditevent '
            "FOR EACH ROW WHEN (false) EXECUTE FUNCTION audit_refuse_change()"
        )

    assert "audit_auditevent_no_delete re-created with another definition" in (
        unprotected_summary()
    )


def test_a_sqlite_trigger_replaced_by_a_harmless_one_fails_verification(trail):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's triggers; PostgreSQL's are checked by the tests above")
    with connection.cursor() as cursor:
        cursor.execute('DROP TRIGGER "audit_auditevent_no_update"')
        cursor.execute(
            'CREATE TRIGGER "audit_auditevent_no_update" BEFORE UPDATE ON "audit_auditevent" '
            "BEGIN SELECT 1; END"
        )
        cursor.execute("UPDATE audit_auditevent SET reason = 'rewritten'")

    assert "audit_auditevent_no_update replaced by another statement" in unprotected_summary()


def test_installing_the_triggers_again_puts_a_tampered_one_right(trail):
    from apps.audit.db import install_triggers

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "ALTER TABLE audit_auditevent DISABLE TRIGGER audit_auditevent_no_update"
            )
        else:
            cursor.execute('DROP TRIGGER "audit_auditevent_no_update"')
    assert trigger_problems(connection)

    install_triggers(connection)

    assert trigger_problems(connection) == []
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE audit_auditevent SET reason = 'rewritten'")
