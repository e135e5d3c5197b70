"""The chain read for verification on PostgreSQL: one statement for the whole walk.

A server-side cursor over the seals joined to their events, in seq order, each event
rendered as its format 2 text by the database, fetched `size` rows at a time (rows
parsed by psycopg in C). Per chunk that is one FETCH instead of two ORM queries (the
seals, then their events), and no model or queryset machinery per row. What comes out
is what `chain_reads._seal_chunks` and `chain_reads._events` give chunk by chunk on
any database, so the walk does not know which one it reads.

The cursor lives in a transaction of its own (it is declared without HOLD, so the
server produces rows as they are fetched, not the whole result first), and the walk's
other queries run in the same transaction between fetches; the whole walk therefore
reads one snapshot of both tables.
"""

from __future__ import annotations

from collections.abc import Iterator

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
