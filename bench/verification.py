"""4. audit verification against its floor, full and incremental, in the same run.

The floor: the same canonical bytes read out of PostgreSQL in one stream and hashed,
i.e. `COPY (SELECT <the canonical line of each sealed event>) TO STDOUT` in binary (the
bytes as they are, plus 6 bytes of framing a row) in seq order, through psycopg's copy,
into one SHA-256. No verifier can read and hash the chain faster on this machine; the
verifier also parses each event, checks its MAC and recomputes one linked hash per
event. In-memory SHA-256 of the same bytes, one digest per block the COPY sent (a row
each), is reported beside it.
"""

from __future__ import annotations

import hashlib
import os
import statistics
import time
from typing import Any

from django.db import connection, transaction
from django.db.models import Count

from apps.audit.chain import FORMAT_TEXT, FORMAT_TEXT_MAC, canonical_text_sql
from apps.audit.incremental import audit_verify_incremental, last_verified_checkpoint
from apps.audit.models import AuditAction, AuditEvent, AuditSeal
from apps.audit.sealing import audit_seal
from apps.audit.verification import audit_verify

from .data import Cast, log
from .stats import Figure, rates, timed

FLOOR_GOAL = 0.5


def _floor_sql() -> str:
    e = f'"{AuditEvent._meta.db_table}"'
    line = (
        f"CASE WHEN s.format = {FORMAT_TEXT_MAC} THEN concat_ws(E'\\t', {canonical_text_sql()},"
        f" {e}.mac_key_id, {e}.mac_nonce, {e}.mac) ELSE {canonical_text_sql()} END"
    )
    return (
        f"COPY (SELECT {line} FROM {AuditSeal._meta.db_table} s JOIN {e} ON {e}.id = "  # noqa: S608
        f"s.event_id WHERE s.format IN ({FORMAT_TEXT}, {FORMAT_TEXT_MAC}) ORDER BY s.seq)"
        " TO STDOUT (FORMAT BINARY)"
    )


def _floor() -> tuple[int, list[bytes]]:
    """One streamed read and hash of every canonical line: (bytes read, the blocks)."""
    digest = hashlib.sha256()
    blocks: list[bytes] = []
    with connection.cursor() as cursor, cursor.cursor.copy(_floor_sql()) as copy:
        for block in copy:
            digest.update(block)
            blocks.append(bytes(block))
    digest.hexdigest()
    return sum(map(len, blocks)), blocks


def _new_events(cast: Cast, count: int) -> None:
    """A day's worth of events written since the last verification, then sealed."""
    actor = cast.clerk
    events = [
        AuditEvent(
            actor=actor,
            actor_username=actor.username,
            actor_division="td",
            actor_roles=["clerk"],
            action=AuditAction.RETAIL_VIEWED,
            object_label="bench-new",
            details={"bench": n},
            user_agent="bench",
        )
        for n in range(count)
    ]
    with transaction.atomic():
        AuditEvent.objects.bulk_create(events)  # authenticated (apps.audit.models)
    audit_seal()


def verification(cast: Cast, verify_repeat: int) -> list[Figure]:
    formats = ", ".join(
        f"format {fmt}: {count:,}"
        for fmt, count in AuditSeal.objects.values_list("format")
        .annotate(n=Count("seq"))
        .order_by("format")
    )
    reports: list[Any] = []
    # The client's own CPU (this process), per run: the reason a ratio is what it is on
    # a machine of few cores, where the server renders the same lines for both.
    cpu: dict[str, list[float]] = {"verify": [], "floor": []}

    def verify() -> None:
        started = time.process_time()
        reports.append(audit_verify(record=False))
        cpu["verify"].append(time.process_time() - started)

    floor_bytes = 0
    kept: list[bytes] = []

    def floor() -> None:
        nonlocal floor_bytes, kept
        started = time.process_time()
        floor_bytes, kept = _floor()
        cpu["floor"].append(time.process_time() - started)

    verify_samples: list[float] = []
    floor_samples: list[float] = []
    floor()  # warm: the pages the two read are the same
    for _ in range(verify_repeat):  # interleaved
        verify_samples += timed(verify, 1, warmup=0)
        floor_samples += timed(floor, 1, warmup=0)
    full = reports[-1]
    checked = full.events_checked
    verify_rate, verify_slow = rates(checked, verify_samples)
    floored = AuditSeal.objects.filter(format__in=(FORMAT_TEXT, FORMAT_TEXT_MAC)).count()
    floor_rate, _ = rates(floored, floor_samples)

    def in_memory() -> None:
        for block in kept:
            hashlib.sha256(block).digest()

    memory_rate, _ = rates(len(kept), timed(in_memory, max(verify_repeat, 5)))
    ratio = verify_rate / floor_rate
    verify_cpu = statistics.median(cpu["verify"]) / checked * 1e6
    floor_cpu = statistics.median(cpu["floor"][1:]) / floored * 1e6
    figures = [
        Figure(
            f"4. audit verification, full ({checked:,} sealed events)",
            "events/s",
            verify_rate,
            verify_slow,
            comparison="floor: COPY of the same canonical bytes + SHA-256, same run",
            comparison_median=floor_rate,
            ratio=ratio,
            goal=f"≥ {FLOOR_GOAL} × floor, the chain intact",
            # A chain with findings is no measure of the walk over a sound one.
            met=ratio >= FLOOR_GOAL and full.ok,
            note=f"chain {'OK' if full.ok else 'NOT OK: ' + full.summary}; seals by format: "
            f"{formats}; floor read {floor_bytes / 1e6:,.1f} MB for {floored:,} events; "
            f"in-memory SHA-256 of the same bytes: {memory_rate:,.0f} events/s "
            f"(verification = {verify_rate / memory_rate:.3f} of it); "
            f"{statistics.median(verify_samples):.2f} s per full verification; "
            f"the verifier's own CPU {verify_cpu:.1f} µs an event, the floor's client "
            f"{floor_cpu:.1f} µs (the server renders the same lines for both, on "
            f"{os.cpu_count()} cores)",
            samples=len(verify_samples),
            extra={
                "full_seconds_median": statistics.median(verify_samples),
                "floor_seconds_median": statistics.median(floor_samples),
                "floor_bytes": floor_bytes,
                "in_memory_sha256_events_per_s": memory_rate,
                "ratio_to_in_memory": verify_rate / memory_rate,
                "verifier_cpu_us_per_event": verify_cpu,
                "floor_client_cpu_us_per_event": floor_cpu,
            },
        )
    ]
    figures.append(_incremental(cast, checked, statistics.median(verify_samples), verify_repeat))
    return figures


def _incremental(cast: Cast, checked: int, full_seconds: float, repeat: int) -> Figure:
    """The hourly run: a verification recorded as intact, then 1 % of the trail (at
    least 1,000 events) written and sealed; the incremental run reads only those."""
    audit_verify(record=True)
    new = max(1000, checked // 100)
    log(f"  writing and sealing {new:,} new events for the incremental verification…")
    _new_events(cast, new)
    start = last_verified_checkpoint(connection.alias)
    reports: list[Any] = []
    samples = timed(lambda: reports.append(audit_verify_incremental(record=False)), repeat)
    report = reports[-1]
    seconds = statistics.median(samples)
    rate, slow = rates(report.events_checked, samples)
    return Figure(
        f"4. audit verification, incremental ({report.events_checked:,} new events)",
        "events/s",
        rate,
        slow,
        comparison="full verification of the chain before them (s)",
        comparison_median=full_seconds,
        ratio=full_seconds / seconds,
        goal="reads only the new events",
        met=report.ok and report.events_read == new and report.from_seq == start,
        note=f"{seconds * 1000:,.0f} ms from checkpoint seq {report.from_seq} "
        f"against {full_seconds:.2f} s for the full walk; events read "
        f"{report.events_read:,}; {'OK' if report.ok else report.summary}; ratio = "
        "full time / incremental time",
        samples=len(samples),
        extra={"incremental_seconds_median": seconds, "events_read": report.events_read},
    )
