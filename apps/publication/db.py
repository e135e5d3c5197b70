"""The retail view log is append-only in the database itself, on SQLite and PostgreSQL.

The retail site's role may only insert into it (database_grants), and these triggers
refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL) for every role, the table's owner
included: the log is the evidence of what each retail person was shown until the T&D
side's collector has copied it into the central, hash-chained trail, and after that it
is the record the copy can be checked against.

The same shape as the audit tables' triggers (apps.audit.db), with a function of its
own: this app imports nothing of the audit trail (the retail site runs with it alone).
A migration that rebuilds the table on SQLite drops its triggers and must call
`install_triggers` again.
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

VIEW_LOG_TABLE = "publication_retailviewlog"
APPEND_ONLY_TABLES: tuple[str, ...] = (VIEW_LOG_TABLE,)

_PG_FUNCTION = "retail_refuse_change"
_PG_FUNCTION_BODY = """
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
"""
_PG_TIMING = {
    "update": ("BEFORE UPDATE", "ROW"),
    "delete": ("BEFORE DELETE", "ROW"),
    "truncate": ("BEFORE TRUNCATE", "STATEMENT"),
}


def _names(table: str, vendor: str) -> dict[str, str]:
    keys = ("update", "delete", "truncate") if vendor == "postgresql" else ("update", "delete")
    return {key: f"{table}_no_{key}" for key in keys}


def _check_vendor(connection: BaseDatabaseWrapper) -> None:
    if connection.vendor not in {"sqlite", "postgresql"}:
        raise NotImplementedError(
            f"append-only triggers exist for SQLite and PostgreSQL, not {connection.vendor}"
        )


def install_triggers(
    connection: BaseDatabaseWrapper, tables: tuple[str, ...] = APPEND_ONLY_TABLES
) -> None:
    """Create the refusing triggers (idempotent: existing ones are replaced)."""
    _check_vendor(connection)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"CREATE OR REPLACE FUNCTION {_PG_FUNCTION}() RETURNS trigger "
                f"LANGUAGE plpgsql AS $${_PG_FUNCTION_BODY}$$"
            )
        for table in tables:
            for key, name in _names(table, connection.vendor).items():
                if connection.vendor == "postgresql":
                    timing, level = _PG_TIMING[key]
                    cursor.execute(f'DROP TRIGGER IF EXISTS "{name}" ON "{table}"')
                    cursor.execute(
                        f'CREATE TRIGGER "{name}" {timing} ON "{table}" '
                        f"FOR EACH {level} EXECUTE FUNCTION {_PG_FUNCTION}()"
                    )
                else:
                    operation = key.upper()
                    cursor.execute(f'DROP TRIGGER IF EXISTS "{name}"')
                    cursor.execute(
                        f'CREATE TRIGGER "{name}" BEFORE {operation} ON "{table}" '
                        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {operation} "
                        f"refused'); END"
                    )


def drop_triggers(
    connection: BaseDatabaseWrapper, tables: tuple[str, ...] = APPEND_ONLY_TABLES
) -> None:
    """Remove the triggers: only for a migration that must rebuild the table, and for the
    flush that ends a transactional test."""
    _check_vendor(connection)
    with connection.cursor() as cursor:
        for table in tables:
            for name in _names(table, connection.vendor).values():
                if connection.vendor == "postgresql":
                    cursor.execute(f'DROP TRIGGER IF EXISTS "{name}" ON "{table}"')
                else:
                    cursor.execute(f'DROP TRIGGER IF EXISTS "{name}"')


def missing_triggers(
    connection: BaseDatabaseWrapper, tables: tuple[str, ...] = APPEND_ONLY_TABLES
) -> list[str]:
    """Names of the refusing triggers that should exist and do not or are disabled."""
    _check_vendor(connection)
    expected = {name for table in tables for name in _names(table, connection.vendor).values()}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE NOT t.tgisinternal AND t.tgenabled IN ('O', 'A') AND c.relname = ANY(%s) "
                "AND pg_catalog.pg_table_is_visible(c.oid)",
                [list(tables)],
            )
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        present = {row[0] for row in cursor.fetchall()}
    return sorted(expected - present)
