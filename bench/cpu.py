"""CPU time of the processes a row measures, so that a row says *why* its ratio is what it
is: what one request, event or application costs each side of the comparison in CPU, on
a machine whose two cores the bench, the servers and PostgreSQL share.

Read from Linux's `/proc/PID/stat` (user + system time of a process, its process group),
on this machine only: PostgreSQL's backends are processes here, not behind a network.
Where `/proc` is not there (another system) the readings are None and the rows say
nothing about CPU.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

PROC = Path("/proc")
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def parse_stat(text: str) -> tuple[int, float]:
    """(process group, user + system CPU seconds) of one `/proc/PID/stat` line. The
    command name (field 2) is in parentheses and may hold spaces and parentheses itself
    (gunicorn's workers rename themselves), so the fields are counted from its last
    closing parenthesis: then the state is field 3, the group field 5, utime and stime
    fields 14 and 15 (proc(5))."""
    rest = text[text.rindex(")") + 2 :].split()
    # rest[0] is field 3 (state): field n is rest[n - 3].
    return int(rest[2]), (int(rest[11]) + int(rest[12])) / _TICKS


def process_cpu(pid: int) -> float | None:
    """CPU seconds `pid` has used so far, or None (no such process, or no /proc)."""
    try:
        return parse_stat((PROC / str(pid) / "stat").read_text())[1]
    except (OSError, ValueError, IndexError):
        return None


def group_cpu(group: int) -> float | None:
    """CPU seconds used so far by the living processes of process group `group` (a
    gunicorn started in its own session: the arbiter and its workers), or None."""
    if not PROC.is_dir():
        return None
    total = 0.0
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            pgrp, seconds = parse_stat((entry / "stat").read_text())
        except (OSError, ValueError, IndexError):
            continue  # ended while we looked
        if pgrp == group:
            total += seconds
    return total


def processes_cpu(pids: Iterable[int]) -> dict[int, float]:
    """{pid: CPU seconds so far} of those of `pids` that still run."""
    readings = {pid: process_cpu(pid) for pid in pids}
    return {pid: seconds for pid, seconds in readings.items() if seconds is not None}


def used_between(before: Mapping[int, float], after: Mapping[int, float]) -> float:
    """CPU seconds the processes of `after` used since `before`; one that started in
    between counts from zero. (One that ended in between is missing from `after`: what it
    used since `before` is lost, so the figure is a floor.)"""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def backends_cpu(aliases: Iterable[str]) -> dict[int, float] | None:
    """{pid: CPU seconds so far} of the PostgreSQL backends connected to the databases of
    `aliases` (the servers' connections; none is no CPU), or None where they cannot be
    read (off PostgreSQL, no /proc)."""
    from django.db import connection

    if connection.vendor != "postgresql" or not PROC.is_dir():
        return None
    return processes_cpu(database_backends(aliases))


def database_backends(aliases: Iterable[str]) -> list[int]:
    """The PostgreSQL backend processes connected to the databases of `aliases` (the
    servers' connections), but the bench's own: from
    pg_stat_activity, through the bench's connection. [] off PostgreSQL."""
    from django.db import connection, connections

    if connection.vendor != "postgresql":
        return []
    names = sorted({connections[alias].settings_dict["NAME"] for alias in aliases})
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity"
            " WHERE backend_type = 'client backend' AND datname = ANY(%s) AND pid <> %s",
            [names, pg_backend_pid()],
        )
        return [pid for (pid,) in cursor.fetchall()]


def pg_backend_pid(alias: str = "default") -> int:
    """The server process of this thread's connection to `alias` (psycopg 3 knows it
    without a round trip)."""
    from django.db import connections

    wrapper = connections[alias]
    wrapper.ensure_connection()
    return int(wrapper.connection.info.backend_pid)
