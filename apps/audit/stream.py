"""The chain reads for verification on PostgreSQL: a COPY of each seal as one line for
the walk's fast path, and a server-side cursor for everything else.

`copied_lines` (the fast path, apps.audit.walk): the seals of a range with their
events, each rendered by the database as one line, streamed by COPY in binary. The
server renders the next lines while the walk checks the last ones (a FETCH would wait
for the walk), and psycopg hands over each line as bytes without building a row.

`streamed_chunks` (the general path, for whatever the fast path leaves): a server-side
cursor over the seals joined to their events, in seq order, each event rendered as its
format 2 text by the database, fetched `size` rows at a time (rows parsed by psycopg
in C). Per chunk that is one FETCH instead of two ORM queries (the seals, then their
events), and no model or queryset machinery per row. What comes out is what
`chain_reads._seal_chunks` and `chain_reads._events` give chunk by chunk on any
database, so the general path does not know which one it reads. The cursor lives in a
transaction (it is declared without HOLD, so the server produces rows as they are
fetched, not the whole result first), and the walk's other queries run between
fetches.

The walk runs both inside one REPEATABLE READ transaction when it is not inside a
caller's (`Walk.run`), so all its reads see one snapshot of both tables, with the
planner settings of `PLANNER`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections, transaction

from .chain import FORMAT_JSON, FORMAT_TEXT, FORMAT_TEXT_MAC, Authenticated, Payload
from .chain import canonical_text_sql as _text_sql
from .mac import values_from_text
from .models import AuditEvent, AuditSeal
from .sealing import payloads

SealRow = tuple[int, int, str, str, int]  # seq, event id, prev_hash, hash, format
Chunk = tuple[list[SealRow], dict[int, Payload]]


def _statement() -> str:
    seal, event = AuditSeal._meta.db_table, AuditEvent._meta.db_table
    e = f'"{event}"'  # unaliased: the format 2 expression names the table so
    return (
        "SELECT s.seq, s.event_id, s.prev_hash, s.hash, s.format, "  # noqa: S608
        f"{e}.id IS NOT NULL, {e}.mac_key_id, {e}.mac_nonce, {e}.mac, "
        f"CASE WHEN s.format IN ({FORMAT_TEXT}, {FORMAT_TEXT_MAC}) THEN {_text_sql()} END"
        f' FROM "{seal}" s LEFT JOIN {e} ON {e}.id = s.event_id'
        " WHERE s.seq > %s AND s.seq <= %s ORDER BY s.seq"
    )


def _line_statement(after: int, until: int) -> str:
    """Each seal as "seq TAB event id TAB prev_hash TAB hash TAB format", then, if its event
    exists and the format is text (2 or 4), TAB and the bytes its hash covers: format
    2's line, or that line, TAB, key id, TAB, nonce, TAB and MAC (format 4, as the
    sealer hashes it). The plan it needs is `PLANNER`'s."""
    seal, event = AuditSeal._meta.db_table, AuditEvent._meta.db_table
    e = f'"{event}"'
    covered = (
        f"CASE WHEN {e}.id IS NULL THEN NULL"
        f" WHEN s.format = {FORMAT_TEXT_MAC} THEN concat_ws(E'\\t', {_text_sql()},"
        f" {e}.mac_key_id, {e}.mac_nonce, {e}.mac)"
        f" WHEN s.format = {FORMAT_TEXT} THEN {_text_sql()} END"
    )
    line = f"concat_ws(E'\\t', s.seq, s.event_id, s.prev_hash, s.hash, s.format, {covered})"
    return (
        f"COPY (SELECT convert_to({line}, 'UTF8') FROM \"{seal}\" s"  # noqa: S608
        f" LEFT JOIN {e} ON {e}.id = s.event_id WHERE s.seq > {int(after)}"
        f" AND s.seq <= {int(until)} ORDER BY s.seq) TO STDOUT (FORMAT BINARY)"
    )


# The planner settings the walk's transaction runs with on PostgreSQL (set_config(...,
# true): they end with it). `_line_statement` must send its first line at once and
# render the lines on more than one core: the seals' primary key read in order by
# parallel workers, each seal's event looked up by its primary key, the workers' lines
# merged in seq order (Gather Merge). Left to itself the planner hashes the events and
# sorts the joined rows, so every line of a segment is rendered before the first is
# sent and the walk and the server never work at the same time (bench item 4 measured
# both). JIT compilation costs a segment more than it saves.
PLANNER: tuple[tuple[str, str], ...] = (
    ("enable_hashjoin", "off"),
    ("enable_mergejoin", "off"),
    ("enable_sort", "off"),
    ("parallel_setup_cost", "0"),
    ("parallel_tuple_cost", "0"),
    ("jit", "off"),
)


@contextmanager
def copied_lines(alias: str, *, after: int, until: int) -> Iterator[Iterator[bytes]]:
    """The seals after `after` up to `until`, each as its line (`_line_statement`), in
    seq order. While the block runs the connection serves this COPY only; a caller that
    stops early must read the rest (`for _ in lines: pass`) before the block ends."""
    # Through Django's cursor, which logs the statement where queries are logged (its
    # `copy` takes no parameters: the two bounds are ints, written into the statement).
    with (
        connections[alias].cursor() as cursor,
        cursor.copy(_line_statement(after, until)) as copy,
    ):
        copy.set_types(["bytea"])  # the line's UTF-8 bytes (convert_to), as they are
        yield (row[0] for row in copy.rows())


def streamed_chunks(alias: str, *, after: int, head_seq: int, size: int) -> Iterator[Chunk]:
    """The seals after `after` up to `head_seq` with their events, `size` seals at a
    time: (seals, {event id: what `canonical_of` hashes in the seal's format})."""
    connection = connections[alias]
    with transaction.atomic(using=alias), connection.chunked_cursor() as cursor:
        cursor.execute(_statement(), [after, head_seq])
        while rows := cursor.fetchmany(size):
            seals: list[SealRow] = []
            events: dict[int, Payload] = {}
            json_seqs: list[int] = []
            for seq, event_id, prev_hash, digest, fmt, found, key_id, nonce, mac, text in rows:
                seals.append((seq, event_id, prev_hash, digest, fmt))
                if not found:
                    continue
                if fmt == FORMAT_TEXT_MAC:
                    events[event_id] = Authenticated(
                        text.encode("utf-8"), (*values_from_text(text), key_id, nonce, mac)
                    )
                elif fmt == FORMAT_TEXT:
                    events[event_id] = text.encode("utf-8")
                elif fmt == FORMAT_JSON:
                    json_seqs.append(seq)
            if json_seqs:
                # Sealed in format 1 (before format 2 existed): hashed as JSON built in
                # Python from the column values, read by the ORM as before.
                in_range = AuditEvent.objects.using(alias).filter(
                    seal__seq__gte=json_seqs[0],
                    seal__seq__lte=json_seqs[-1],
                    seal__format=FORMAT_JSON,
                )
                events.update(payloads(in_range, FORMAT_JSON))
            yield seals, events
