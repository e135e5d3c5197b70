"""Statements PostgreSQL parses and plans once per connection: for the few statements the
product runs for every event, where planning costs more than executing (the audit
event's INSERT with its snapshot subqueries: 0.25 ms planned, 0.14 ms executed).

The settings have every PostgreSQL connection bind on the server and prepare what it
has run `DJANGO_DB_PREPARE_THRESHOLD` times (config/settings/database_options.py), or,
with `off`, bind on the client and prepare nothing, as Django's backend does by itself.
`prepared_cursor` gives a cursor on the same connection, in the same transaction,
through Django's cursor wrapper (query log, execute wrappers, error translation), that
binds on the server and prepares each statement the first time this connection runs it
(psycopg's protocol-level Parse; later executions send only Bind/Execute), whatever the
setting.

What keeps the prepared statement and the session in step is psycopg's own bookkeeping,
switched on for the connection here: it forgets its statements (and deallocates them)
on a rollback, and on a `DISCARD ALL`, `DEALLOCATE ALL`, `DROP` or `ALTER` run through
any cursor of the connection, and prepares again on next use.

Not for a pooler in transaction mode that does not follow protocol-level prepared
statements (PgBouncer before 1.21, or without `max_prepared_statements`): the next
transaction may run on a server connection that never saw the Parse. Production
connects directly (docs/decisions.md).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper

# psycopg prepares a server-bound statement after this many runs of it unless told to
# (prepare=True, which is what this module's cursor says). Only this module's cursor
# binds on the server, so the number only has to be large: nothing is prepared unasked.
_PREPARE_ONLY_WHEN_ASKED = 2**62


def prepared_cursor(connection: BaseDatabaseWrapper) -> CursorWrapper:
    """A cursor whose statements are prepared on this connection (PostgreSQL with
    psycopg 3); elsewhere the connection's ordinary cursor."""
    if connection.vendor != "postgresql":
        return connection.cursor()
    # What connection.cursor() does, with another cursor class.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        raw = connection.connection
        if not hasattr(raw, "prepare_threshold"):  # psycopg2: no prepared statements
            return connection.cursor()
        if raw.prepare_threshold is None:
            raw.prepare_threshold = _PREPARE_ONLY_WHEN_ASKED
        wrapped: CursorWrapper = connection._prepare_cursor(_cursor_class()(raw))  # type: ignore[attr-defined]
    return wrapped


@cache
def _cursor_class() -> type:
    from django.db.backends.postgresql.base import (  # type: ignore[attr-defined]
        ServerBindingCursor,
    )

    class PreparedCursor(ServerBindingCursor):
        def execute(
            self, query: Any, params: Any = None, *, prepare: bool | None = None, **kwargs: Any
        ) -> Any:
            result = super().execute(query, params, prepare=True, **kwargs)
            # psycopg keeps no query text for a prepared execution; Django's query log
            # (DEBUG, tests' query captures) reads it from here.
            self._query = _Logged(self.connection, query, params)
            return result

    return PreparedCursor


class _Logged:
    """What Django's query log reads of a client-side cursor's last query (`.query`):
    the statement with its values, as Django's own cursors send it. Composed only when
    read."""

    __slots__ = ("_connection", "_params", "_sql")

    def __init__(self, connection: Any, sql: Any, params: Any) -> None:
        self._connection, self._sql, self._params = connection, sql, params

    @property
    def query(self) -> bytes:
        from psycopg import ClientCursor

        composed: str = ClientCursor(self._connection).mogrify(self._sql, self._params)
        return composed.encode()
