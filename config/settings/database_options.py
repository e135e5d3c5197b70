"""Prepared statements on PostgreSQL, for every alias of either site.

Django's psycopg 3 backend binds parameters on the client and never prepares, so
PostgreSQL parses and plans every statement anew, on every execution. Most of what the
product runs is the same few dozen statements (a transition's locking read, a page's
queries) with other values; their planning cost as much as their running (issue 17:
a whole workflow's time in the database fell by a quarter with them prepared). With
server-side binding (`server_side_binding`) psycopg can prepare, and it prepares a
statement after a connection has run it `prepare_threshold` times, keeping at most a
hundred per connection (the least recently used are deallocated).

`DJANGO_DB_PREPARE_THRESHOLD`: that number (default 2); `off` keeps Django's default,
client-side binding and no prepared statement, for a pooler in transaction mode that
does not follow protocol-level prepared statements (PgBouncer before 1.21, or without
`max_prepared_statements`). apps.core.prepared prepares its few statements on first use
either way. SQLite is left alone.
"""

from __future__ import annotations

import os
from typing import Any

from django.core.exceptions import ImproperlyConfigured

DEFAULT_THRESHOLD = 2


def prepare_threshold() -> int | None:
    """The configured threshold, or None for `off`."""
    raw = os.environ.get("DJANGO_DB_PREPARE_THRESHOLD", "").strip().lower()
    if not raw:
        return DEFAULT_THRESHOLD
    if raw == "off":
        return None
    try:
        threshold = int(raw)
    except ValueError:
        threshold = -1
    if threshold < 0:
        raise ImproperlyConfigured(
            "DJANGO_DB_PREPARE_THRESHOLD must be a whole number of executions (0 or more) "
            f"or 'off', not {raw!r}"
        )
    return threshold


def with_prepared_statements(alias: dict[str, Any]) -> dict[str, Any]:
    """`alias` (a DATABASES entry), set up to prepare its repeated statements if it is
    PostgreSQL and the threshold is not `off`; options given explicitly are kept."""
    threshold = prepare_threshold()
    if threshold is None or "postgresql" not in str(alias.get("ENGINE", "")):
        return alias
    options = alias.setdefault("OPTIONS", {})
    options.setdefault("server_side_binding", True)
    options.setdefault("prepare_threshold", threshold)
    return alias
