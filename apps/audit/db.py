"""Database triggers that make the audit tables append-only, on SQLite and PostgreSQL.

One module for the SQL so the migration that installs the triggers, the verifier that
checks they are still there, and the test fixtures that must lift them around a
transactional test's flush all use the same statements.

Why triggers and not only the ORM guards on the models: anyone with a database shell
(or a future bug that reaches for raw SQL) bypasses Python. With the triggers, UPDATE
and DELETE fail in the database itself; on PostgreSQL so does TRUNCATE, which row
triggers never see. A table owner can still drop a trigger, which is why the chain and
the signed checkpoints exist: the triggers stop mistakes, the chain catches the rest.

SQLite note: a migration that rebuilds one of these tables (SQLite's ALTER TABLE
emulation creates a new table and drops the old one) silently drops its triggers. Such
a migration must call `install_triggers` again; `audit_verify` reports missing
triggers, so forgetting it does not go unnoticed.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.backends.base.base import BaseDatabaseWrapper

# Every table whose rows, once written, are evidence.
APPEND_ONLY_TABLES: tuple[str, ...] = (
    "audit_auditevent",
    "audit_auditseal",
    "audit_auditcheckpoint",
    "audit_auditverification",
)

_PG_FUNCTION = "audit_refuse_change"


def _names(table: str) -> dict[str, str]:
    return {
        "update": f"{table}_no_update",
        "delete": f"{table}_no_delete",
        "truncate": f"{table}_no_truncate",
    }


def _expected_triggers(connection: BaseDatabaseWrapper, table: str) -> set[str]:
    names = _names(table)
    if connection.vendor == "postgresql":
        return set(names.values())
    return {names["update"], names["delete"]}


def _check_vendor(connection: BaseDatabaseWrapper) -> None:
    if connection.vendor not in {"sqlite", "postgresql"}:
        raise NotImplementedError(
            f"append-only audit triggers exist for SQLite and PostgreSQL, not {connection.vendor}"
        )


def install_triggers(
    connection: BaseDatabaseWrapper, tables: Iterable[str] = APPEND_ONLY_TABLES
) -> None:
    """Create the refusing triggers (idempotent: existing ones are replaced)."""
    _check_vendor(connection)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"""
                CREATE OR REPLACE FUNCTION {_PG_FUNCTION}() RETURNS trigger
                LANGUAGE plpgsql AS $$
                BEGIN
                    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
                        USING ERRCODE = 'insufficient_privilege';
                END;
                $$
                """
            )
        for table in tables:
            names = _names(table)
            if connection.vendor == "postgresql":
                for key, timing in (
                    ("update", "BEFORE UPDATE"),
                    ("delete", "BEFORE DELETE"),
                    ("truncate", "BEFORE TRUNCATE"),
                ):
                    level = "STATEMENT" if key == "truncate" else "ROW"
                    cursor.execute(f'DROP TRIGGER IF EXISTS "{names[key]}" ON "{table}"')
                    cursor.execute(
                        f'CREATE TRIGGER "{names[key]}" {timing} ON "{table}" '
                        f"FOR EACH {level} EXECUTE FUNCTION {_PG_FUNCTION}()"
                    )
            else:
                for key, operation in (("update", "UPDATE"), ("delete", "DELETE")):
                    cursor.execute(
                        f'CREATE TRIGGER IF NOT EXISTS "{names[key]}" BEFORE {operation} '
                        f'ON "{table}" BEGIN SELECT RAISE(ABORT, '
                        f"'{table} is append-only: {operation} refused'); END"
                    )


def drop_triggers(
    connection: BaseDatabaseWrapper, tables: Iterable[str] = APPEND_ONLY_TABLES
) -> None:
    """Remove the triggers: only for migrations that must rebuild a table, and for tests."""
    _check_vendor(connection)
    with connection.cursor() as cursor:
        for table in tables:
            for name in _expected_triggers(connection, table):
                if connection.vendor == "postgresql":
                    cursor.execute(f'DROP TRIGGER IF EXISTS "{name}" ON "{table}"')
                else:
                    cursor.execute(f'DROP TRIGGER IF EXISTS "{name}"')


def missing_triggers(
    connection: BaseDatabaseWrapper, tables: Iterable[str] = APPEND_ONLY_TABLES
) -> list[str]:
    """Names of the refusing triggers that should exist and do not (empty = all present)."""
    _check_vendor(connection)
    tables = list(tables)
    expected = {name for table in tables for name in _expected_triggers(connection, table)}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE NOT t.tgisinternal AND t.tgenabled <> 'D' AND c.relname = ANY(%s) "
                "AND pg_catalog.pg_table_is_visible(c.oid)",
                [tables],
            )
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        present = {row[0] for row in cursor.fetchall()}
    return sorted(expected - present)
