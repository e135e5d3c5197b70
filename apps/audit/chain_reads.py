"""The chain read for verification: the seals after a seq with their events, chunk by
chunk, in constant memory, and the search for content sealed at one seq that is now in
a later event."""

from __future__ import annotations

from collections.abc import Iterator

from django.db import connections

from . import trail_checks
from .chain import Payload, canonical_of, known_formats, links
from .models import AuditEvent, AuditSeal
from .sealing import payloads
from .stream import streamed_chunks

CHUNK_SIZE = trail_checks.CHUNK_SIZE

Row = Payload  # what apps.audit.chain.canonical_of hashes, in the seal's format
SealRow = tuple[int, int, str, str, int]  # seq, event id, prev_hash, hash, format


def _seal_chunks(alias: str, *, after: int, head_seq: int) -> Iterator[list[SealRow]]:
    last = after
    while last < head_seq:
        chunk = list(
            AuditSeal.objects.using(alias)
            .filter(seq__gt=last, seq__lte=head_seq)
            .order_by("seq")
            .values_list("seq", "event_id", "prev_hash", "hash", "format")[:CHUNK_SIZE]
        )
        if not chunk:
            return
        yield chunk
        last = chunk[-1][0]


def _events(alias: str, chunk: list[SealRow]) -> dict[int, Row]:
    """The events sealed in this chunk of seals, by id, read for their seals' formats:
    a join on the seq range (two parameters) rather than a list of thousands of ids."""
    found: dict[int, Row] = {}
    in_range = AuditEvent.objects.using(alias).filter(
        seal__seq__gte=chunk[0][0], seal__seq__lte=chunk[-1][0]
    )
    known = known_formats(connections[alias])
    for fmt in sorted({seal[4] for seal in chunk} & set(known)):
        found.update(payloads(in_range.filter(seal__format=fmt), fmt))
    return found


def chain(
    alias: str, *, after: int, head_seq: int
) -> Iterator[tuple[list[SealRow], dict[int, Row]]]:
    """The seals after `after` with their events, chunk by chunk: on PostgreSQL in one
    stream (apps.audit.stream), elsewhere two keyset reads per chunk."""
    if connections[alias].vendor == "postgresql":
        yield from streamed_chunks(alias, after=after, head_seq=head_seq, size=CHUNK_SIZE)
        return
    for chunk in _seal_chunks(alias, after=after, head_seq=head_seq):
        yield chunk, _events(alias, chunk)


def find_moved_content(
    alias: str, *, seq: int, event_id: int, prev_hash: str, digest: str, head_seq: int
) -> tuple[int, int] | None:
    """The later event (seq, id) holding the content that was sealed at `seq`: either
    the seals were swapped (its row hashes as it is) or the contents were (it hashes
    once given back the id of the event sealed at `seq`)."""
    for chunk in _seal_chunks(alias, after=seq, head_seq=head_seq):
        events = _events(alias, chunk)
        for other_seq, other_id, _prev, _hash, _format in chunk:
            row = events.get(other_id)
            if row is None:
                continue
            candidates = (canonical_of(row), canonical_of(row, as_id=event_id))
            if any(links(prev_hash, seq, c, digest) for c in candidates):
                return other_seq, other_id
    return None
