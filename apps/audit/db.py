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

import hashlib
from collections.abc import Iterable
from typing import Any

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


_PG_FUNCTION_BODY = """
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
"""
# What each PostgreSQL trigger must be: pg_trigger.tgtype bits (ROW 1, BEFORE 2,
# DELETE 8, UPDATE 16, TRUNCATE 32), so a trigger re-created with the same name but
# another timing, event or level does not pass for the original.
_PG_TIMING = {
    "update": ("BEFORE UPDATE", "ROW", 1 | 2 | 16),
    "delete": ("BEFORE DELETE", "ROW", 1 | 2 | 8),
    "truncate": ("BEFORE TRUNCATE", "STATEMENT", 2 | 32),
}
# pg_trigger.tgenabled values that fire in an ordinary session: O (origin, the
# default) and A (always). D is disabled, R fires only for replication workers.
_PG_FIRING = frozenset({"O", "A"})


def _sqlite_trigger_sql(table: str, key: str) -> str:
    """The statement exactly as SQLite keeps it in sqlite_master.sql."""
    operation = key.upper()
    return (
        f'CREATE TRIGGER "{_names(table)[key]}" BEFORE {operation} '
        f'ON "{table}" BEGIN SELECT RAISE(ABORT, '
        f"'{table} is append-only: {operation} refused'); END"
    )


def install_triggers(
    connection: BaseDatabaseWrapper, tables: Iterable[str] = APPEND_ONLY_TABLES
) -> None:
    """Create the refusing triggers (idempotent: existing ones are replaced, so a
    tampered trigger or function is put right too)."""
    _check_vendor(connection)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"CREATE OR REPLACE FUNCTION {_PG_FUNCTION}() RETURNS trigger "
                f"LANGUAGE plpgsql AS $${_PG_FUNCTION_BODY}$$"
            )
        for table in tables:
            names = _names(table)
            if connection.vendor == "postgresql":
                for key, (timing, level, _type) in _PG_TIMING.items():
                    cursor.execute(f'DROP TRIGGER IF EXISTS "{names[key]}" ON "{table}"')
                    cursor.execute(
                        f'CREATE TRIGGER "{names[key]}" {timing} ON "{table}" '
                        f"FOR EACH {level} EXECUTE FUNCTION {_PG_FUNCTION}()"
                    )
            else:
                for key in ("update", "delete"):
                    cursor.execute(f'DROP TRIGGER IF EXISTS "{names[key]}"')
                    cursor.execute(_sqlite_trigger_sql(table, key))


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
    """Names of the refusing triggers that should exist and do not, or are disabled
    (empty = all present). `trigger_problems` checks what they run, too."""
    _check_vendor(connection)
    return _absent(connection, list(tables))


def _absent(connection: BaseDatabaseWrapper, tables: list[str]) -> list[str]:
    expected = {name for table in tables for name in _expected_triggers(connection, table)}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE NOT t.tgisinternal AND t.tgenabled IN ('O', 'A') AND c.relname = ANY(%s) "
                "AND pg_catalog.pg_table_is_visible(c.oid)",
                [tables],
            )
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        present = {row[0] for row in cursor.fetchall()}
    return sorted(expected - present)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def trigger_problems(
    connection: BaseDatabaseWrapper, tables: Iterable[str] = APPEND_ONLY_TABLES
) -> list[str]:
    """What is wrong with the refusing triggers, one line each (empty = all armed):
    missing; on PostgreSQL also disabled (or firing only for replication), re-created
    with another timing, event, column list or WHEN condition, or running a function
    whose body is not ours (CREATE OR REPLACE FUNCTION keeps every trigger pointing at
    it); on SQLite a trigger whose SQL is not the statement we created."""
    _check_vendor(connection)
    tables = list(tables)
    seen: set[str] = set()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            problems = _pg_trigger_problems(cursor, tables, seen)
        else:
            problems = _sqlite_trigger_problems(cursor, tables, seen)
    expected = {name for table in tables for name in _expected_triggers(connection, table)}
    return [f"{name} missing" for name in sorted(expected - seen)] + problems


def _pg_trigger_problems(cursor: Any, tables: list[str], seen: set[str]) -> list[str]:
    """PostgreSQL's catalog for our triggers on `tables`; adds their names to `seen`."""
    cursor.execute(
        "SELECT c.relname, t.tgname, t.tgenabled, t.tgtype, t.tgqual IS NULL,"
        " t.tgattr::text, p.proname, l.lanname, p.prosrc"
        " FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
        " JOIN pg_proc p ON p.oid = t.tgfoid JOIN pg_language l ON l.oid = p.prolang"
        " WHERE NOT t.tgisinternal AND c.relname = ANY(%s)"
        " AND pg_catalog.pg_table_is_visible(c.oid)",
        [tables],
    )
    problems: list[str] = []
    expected_body = _digest(_PG_FUNCTION_BODY)
    reported_functions: set[str] = set()
    for (
        table,
        name,
        enabled,
        tgtype,
        no_when,
        columns,
        proname,
        language,
        body,
    ) in cursor.fetchall():
        key = next((k for k, n in _names(table).items() if n == name), None)
        if key is None:
            continue
        seen.add(name)
        if enabled not in _PG_FIRING:
            state = "disabled" if enabled == "D" else f"enabled only as {enabled!r}"
            problems.append(f"{name} {state}")
        if tgtype != _PG_TIMING[key][2] or not no_when or columns.strip():
            problems.append(f"{name} re-created with another definition")
        if proname != _PG_FUNCTION:
            problems.append(f"{name} runs {proname}() instead of {_PG_FUNCTION}()")
        elif (language != "plpgsql" or _digest(body) != expected_body) and (
            proname not in reported_functions
        ):
            reported_functions.add(proname)
            problems.append(
                f"function {proname}() replaced: its body (sha256 {_digest(body)}) "
                f"is not the expected one ({expected_body})"
            )
    return problems


def _sqlite_trigger_problems(cursor: Any, tables: list[str], seen: set[str]) -> list[str]:
    """SQLite keeps each trigger's statement: ours must be exactly the one we created."""
    cursor.execute("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'")
    problems: list[str] = []
    for name, table, sql in cursor.fetchall():
        if table not in tables:
            continue
        key = next((k for k, n in _names(table).items() if n == name), None)
        if key is None:
            continue
        seen.add(name)
        if sql != _sqlite_trigger_sql(table, key):
            problems.append(f"{name} replaced by another statement")
    return problems
