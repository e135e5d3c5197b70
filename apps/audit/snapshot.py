"""The actor's division and roles as SQL, so the database reads them in the statement
that writes the event.

Why not read them first (`User.division_at()`, `User.role_codes()`) or cache them: the
snapshot is two SELECTs, and with the INSERT and the transaction that made three of
five round trips per event (bench item 4). A cache would have to be invalidated
whenever the user's groups or memberships change, in this transaction, in another one
or in another process; a scalar subquery inside the INSERT cannot be stale, because it
is evaluated in the writing transaction at the moment of writing: a role granted or a
transfer made earlier in the same transaction is seen, one committed by someone else
is seen as soon as it is committed (READ COMMITTED), exactly as the separate SELECTs
saw it.

Both subqueries answer what `User.division_at(moment)` and `User.role_codes()` answer:
the division of the membership valid at the event's time (first by valid_from), and the
role codes of the user's groups, sorted by code point (COLLATE "C" on PostgreSQL, the
BINARY collation on SQLite, Python's `sorted`), as a JSON array. SQLite and PostgreSQL
only, like the append-only triggers (apps.audit.db).
"""

from __future__ import annotations

from functools import cache

from django.db.backends.base.base import BaseDatabaseWrapper

from apps.accounts.sql import division_at_sql, role_codes_sql


@cache
def _sql(vendor: str, quote: str) -> tuple[str, str]:
    division = division_at_sql(quote)
    code, joined = role_codes_sql(quote)
    if vendor == "postgresql":
        roles = (
            f'SELECT COALESCE(jsonb_agg({code} ORDER BY {code} COLLATE "C"),'
            f" '[]'::jsonb) {joined}"
        )
    elif vendor == "sqlite":
        # json_group_array keeps the order of an ordered subquery (SQLite does not
        # flatten an ordered subquery into an aggregate); empty set -> "[]".
        roles = (
            f"SELECT json_group_array(c) FROM (SELECT {code} AS c {joined}"  # noqa: S608
            f" ORDER BY {code})"
        )
    else:
        raise NotImplementedError(
            f"the audit actor snapshot exists for SQLite and PostgreSQL, not {vendor}"
        )
    return division, roles


def snapshot_sql(connection: BaseDatabaseWrapper) -> tuple[str, str]:
    """(division, roles): two scalar subqueries. The division one takes the parameters
    (user id, moment, moment); the roles one (user id)."""
    return _sql(connection.vendor, connection.ops.quote_name("x")[0])
