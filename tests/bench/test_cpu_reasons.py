"""Why an unmet goal is unmet, as the bench's rows say it: the CPU readings from /proc
(bench/cpu.py) and the sentences the workflow, audit and HTTP rows build from them and
from the round trips. No timing is asserted: the figures belong to `make bench`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import cpu
from bench.http import Alone, PageStats, cpu_reason
from bench.measure import WriterCpu, cpu_per_event, round_trips_reason

HAS_PROC = Path("/proc/self/stat").exists()


def _stat(comm: str, pgrp: int, utime: int, stime: int) -> str:
    # pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
    # utime stime …: fields 1-15 of proc(5), then the rest.
    return f"4242 ({comm}) S 1 {pgrp} {pgrp} 0 -1 4194560 10 0 0 0 {utime} {stime} 0 0 20 0 1\n"


def test_a_stat_line_is_read_from_the_last_parenthesis_whatever_the_command_name_holds():
    ticks = os.sysconf("SC_CLK_TCK")
    # gunicorn's workers rename themselves: spaces, brackets and a ") S 9 " that would
    # shift every field if the name were split on the first ")".
    line = _stat("gunicorn: worker [td]) S 9 9", pgrp=777, utime=3 * ticks, stime=ticks)

    assert cpu.parse_stat(line) == (777, 4.0)


def test_used_between_counts_a_process_that_started_in_between_from_zero():
    before = {1: 2.0, 2: 5.0}
    after = {1: 2.5, 2: 5.0, 3: 0.25}  # 3 started after the first reading

    assert cpu.used_between(before, after) == pytest.approx(0.75)


def test_a_process_that_is_not_there_has_no_reading():
    assert cpu.process_cpu(2**22 + 12345) is None  # above Linux's pid limit
    assert cpu.processes_cpu([2**22 + 12345]) == {}


# A stand-in server in its own process group (as the bench starts gunicorn): on "go" it
# burns 0.3 s of CPU, says "burnt", then idles until its input closes. The tests wait for
# that line, not for the clock.
_BURNER = (
    "import sys, time\n"
    "sys.stdin.readline()\n"
    "t = time.process_time()\n"
    "while time.process_time() - t < 0.3: pass\n"
    "print('burnt', flush=True)\n"
    "sys.stdin.read()\n"
)


def _burner() -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 (this module's own program, _BURNER)
        [sys.executable, "-c", _BURNER],
        start_new_session=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def _burn(child: subprocess.Popen[str]) -> None:
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write("go\n")
    child.stdin.flush()
    assert child.stdout.readline().strip() == "burnt"


@pytest.mark.skipif(not HAS_PROC, reason="needs Linux's /proc")
def test_the_readings_follow_a_process_group_and_grow_with_its_work():
    child = _burner()
    try:
        first = cpu.group_cpu(child.pid)
        _burn(child)
        later = cpu.group_cpu(child.pid)
        assert first is not None and later is not None
        assert later - first >= 0.25  # the 0.3 s burnt, within the clock's tick
        # The group is the child alone: its own reading is the group's.
        assert cpu.process_cpu(child.pid) == pytest.approx(later, abs=0.05)
    finally:
        child.communicate("")


def test_the_workflow_row_says_what_its_round_trips_allow():
    assert round_trips_reason(47, 6) == (
        "47 round trips (statements, BEGIN and COMMIT: the queries column) against plain "
        "saves' 6: 0.13 of plain's rate were each to cost the same"
    )


def test_the_audit_row_compares_each_sides_cpu_an_event_with_what_the_goal_allows():
    product, floor = WriterCpu(), WriterCpu()
    product.add(1000, client=0.400, database=0.300)
    floor.add(1000, client=0.320, database=0.240)

    assert cpu_per_event(product, floor, 0.8) == (
        "CPU an event: writers 400 µs + PostgreSQL 300 µs = 700 µs, the floor's 320 + 240 = "
        "560 µs: 1.25× the floor's (the goal needs ≤ 1.25×)"
    )
    # A row without a goal (one writer) states the costs only.
    assert cpu_per_event(product, floor).endswith("560 µs: 1.25× the floor's")


def test_the_audit_row_says_only_the_writers_side_when_a_backend_could_not_be_read():
    product, floor = WriterCpu(), WriterCpu()
    product.add(100, client=0.04, database=0.03)
    product.add(100, client=0.04, database=None)
    floor.add(200, client=0.06, database=0.05)

    assert product.database is None
    assert cpu_per_event(product, floor) == (
        "writers' CPU an event 400 µs against the floor's 300 µs"
    )


def _alone(server: float | None, database: float | None) -> Alone:
    return Alone(PageStats(100, 0, 50.0, 20.0, 30.0), [], 0.5, server, database)


def test_the_http_row_counts_a_page_in_minimal_pages_of_server_cpu():
    assert cpu_reason(_alone(9.0, 3.0), _alone(2.5, 0.5)) == (
        "CPU a request: gunicorn 9.0 ms + PostgreSQL 3.0 ms = 12.0 ms, against the minimal "
        "page's 2.5 + 0.5 = 3.0 ms: 4.0 minimal pages of work (the goal needs ≤ 2)"
    )
    assert cpu_reason(_alone(None, 3.0), _alone(2.5, 0.5)) == "server CPU not read (no /proc)"


@pytest.mark.django_db
@pytest.mark.skipif(not HAS_PROC, reason="needs Linux's /proc")
def test_the_page_meter_charges_a_burst_the_cpu_its_server_group_used():
    from django.db import connection

    from bench.http import _Meter

    server = _burner()
    try:
        meter = _Meter(group=server.pid)
        with meter.burst():
            _burn(server)
        server_ms, database_ms = meter.per_request_ms(10)
    finally:
        server.communicate("")
    assert server_ms is not None and server_ms >= 25  # the 0.3 s burnt, over 10 requests
    # Off PostgreSQL there are no backends to read: the database side is unknown, not 0.
    assert (database_ms is None) == (connection.vendor != "postgresql")
