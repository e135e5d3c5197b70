"""The sealer: chains committed events and writes a signed checkpoint of the head.

Events are inserted without a hash, so the transactions that write them never wait
for one another. The sealer runs on its own (`manage.py audit_seal`, later a Celery
beat task calling `audit_seal()`); one at a time, it reads the committed events that
have no seal yet, in id order, and appends one seal each. An event whose transaction
commits late (a lower id than events already sealed) simply gets the next position:
the chain order is the order of sealing.

Only events that occurred at most AUDIT_SEAL_GRACE_SECONDS before the newest sealed
event are looked at, so a run costs the size of the backlog, not of the table. An
event older than that with no seal is what `audit_verify` reports as inserted;
`audit_seal --all` looks at every event, for recovery.

The sealer chains no event without a valid MAC (apps.audit.mac): an event inserted
behind the product's back, or changed before it was sealed, or a copy of an event
already in the chain (same MAC, so same nonce), is left out, logged as an error and
reported by `audit_seal` (exit status 1) and by every `audit_verify`. Genuine events
around it are sealed as usual, so one forged row cannot stop the protection of the rest.
A head seal whose hash is not one (written by hand) is the exception: nothing can be
linked to it, so every event waiting is refused the same way, with that reason, and no
checkpoint signs it, until the chain is repaired.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, connections, router, transaction
from django.db.models import QuerySet
from django.utils import timezone

from .chain import (
    BASE_FORMAT,
    FORMAT_JSON,
    FORMAT_TEXT,
    MAC_COLUMNS,
    MAC_FORMATS,
    VALUES_FIELDS,
    Authenticated,
    Payload,
    canonical_of,
    canonical_text,
    link_hash,
    new_chain_id,
    sealing_format,
)
from .checkpoints import branch_of, checkpoint_dir, new_branch, newest_checkpoint, write_checkpoint
from .mac import MAC_FIELDS, mac_problem, text_mac_problem, values_from_text
from .models import AuditCheckpoint, AuditEvent, AuditSeal
from .signing import key_id, signing_key

logger = logging.getLogger(__name__)

# pg_advisory_xact_lock key for "the audit sealer" (ASCII "shadseal").
SEALER_LOCK_KEY = 0x7368616473656164
DEFAULT_BATCH_SIZE = 2000
# A seal's hash and the chain id as the sealer writes them (SHA-256 hexdigests, a random
# token_hex(32)); anything else was written by hand.
_HEX64 = re.compile(r"\A[0-9a-f]{64}\Z")


class BrokenChainHead(Exception):
    """The chain's head seal holds a hash nothing can be linked to: raised where the
    caller must not commit unsealed events (audit_seal_written); audit_seal reports it
    as a refusal of each event waiting instead."""


def _head_problem(seq: int, digest: str) -> str | None:
    if _HEX64.match(digest):
        return None
    return (
        f"the chain's head seal (seq {seq}) holds a hash that is not 64 hexadecimal "
        "digits (written by hand?): nothing can be chained after it"
    )


@dataclass(frozen=True)
class SealResult:
    sealed: int
    head_seq: int
    head_hash: str
    checkpoint: Path | None
    checkpoint_note: str
    # (event id, why) of each event the sealer would not chain: no valid MAC.
    refused: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class _Batch:
    read: int
    sealed: int
    last_id: int | None
    refused: list[tuple[int, str]]
    # Why nothing could be sealed at all (the head seal is broken), or None.
    head_problem: str | None = None


def _alias() -> str:
    return router.db_for_write(AuditSeal)


def _lock(alias: str) -> None:
    connection = connections[alias]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEALER_LOCK_KEY])
    # SQLite serialises writers; a second sealer fails on the seq primary key instead.


def _seal_batch(
    alias: str, batch_size: int, look_at_all: bool, after_id: int | None, fmt: int | None = None
) -> _Batch:
    with transaction.atomic(using=alias):
        _lock(alias)
        head = (
            AuditSeal.objects.using(alias)
            .order_by("-seq")
            .values_list("seq", "hash", "event__occurred_at")
            .first()
        )
        unsealed = AuditEvent.objects.using(alias).filter(seal__isnull=True)
        if after_id is not None:
            unsealed = unsealed.filter(id__gt=after_id)
        head_problem = None
        if head is None:
            seq, prev_hash = 0, new_chain_id()
        else:
            seq, prev_hash, head_time = head
            head_problem = _head_problem(seq, prev_hash)
            if not look_at_all:
                grace = dt.timedelta(seconds=settings.AUDIT_SEAL_GRACE_SECONDS)
                unsealed = unsealed.filter(occurred_at__gte=head_time - grace)
        if head_problem is not None:
            # link_hash cannot start from it: every event waiting is refused, with why.
            waiting = list(unsealed.order_by("id").values_list("id", flat=True)[:batch_size])
            if waiting:
                logger.error("audit chain: %s events not sealed: %s", len(waiting), head_problem)
            return _Batch(
                read=len(waiting),
                sealed=0,
                last_id=waiting[-1] if waiting else after_id,
                refused=[(event_id, head_problem) for event_id in waiting],
                head_problem=head_problem,
            )
        fmt = fmt or sealing_format(connections[alias])
        rows = payloads(unsealed.order_by("id"), fmt, limit=batch_size)
        refused = _refusals(alias, rows) if fmt in MAC_FORMATS else {}
        now = timezone.now()
        seals = []
        for event_id, payload in rows:
            if event_id in refused:
                continue
            seq += 1
            digest = link_hash(prev_hash, seq, canonical_of(payload))
            seals.append(
                AuditSeal(
                    seq=seq,
                    event_id=event_id,
                    prev_hash=prev_hash,
                    hash=digest,
                    format=fmt,
                    sealed_at=now,
                )
            )
            prev_hash = digest
        AuditSeal.objects.using(alias).bulk_create(seals)
    for event_id, why in refused.items():
        # Ids and reasons only: the event's own fields may be anything a forger wrote.
        logger.error("audit event #%s not sealed: %s", event_id, why)
    return _Batch(
        read=len(rows),
        sealed=len(seals),
        last_id=rows[-1][0] if rows else after_id,
        refused=sorted(refused.items()),
    )


def _refusals(alias: str, rows: list[tuple[int, Payload]]) -> dict[int, str]:
    """Why each event the sealer must not chain is refused, by id: no valid MAC, or the
    same MAC as an event already sealed or earlier in this batch (a copy: the nonce
    makes every genuine MAC unique)."""
    refused: dict[int, str] = {}
    first_with: dict[str, int] = {}
    times = set()
    for event_id, payload in rows:
        assert isinstance(payload, Authenticated)
        check = text_mac_problem if isinstance(payload.base, bytes) else mac_problem
        problem = check(payload.mac_row)
        if problem is not None:
            refused[event_id] = f"{problem}: not written by the product"
            continue
        mac = payload.mac_row[-1]
        if mac in first_with:
            refused[event_id] = f"a copy of event #{first_with[mac]} (same MAC)"
            continue
        first_with[mac] = event_id
        moment = payload.mac_row[_TIME]
        times.add(dt.datetime.fromisoformat(moment) if isinstance(moment, str) else moment)
    if first_with:
        # A copy keeps the original's time, so the time index narrows the search.
        sealed = (
            AuditEvent.objects.using(alias)
            .filter(seal__isnull=False, occurred_at__in=times, mac__in=list(first_with))
            .values_list("mac", "id")
        )
        for mac, original in sealed:
            refused[first_with[mac]] = f"a copy of event #{original} (same MAC)"
    return refused


_TIME = MAC_FIELDS.index("occurred_at")
# Where format 1's row holds each value a MAC check needs.
_MAC_IN_JSON_ROW = tuple(VALUES_FIELDS.index(name) for name in MAC_FIELDS)


def payloads(
    events: QuerySet[AuditEvent], fmt: int, *, limit: int | None = None
) -> list[tuple[int, Payload]]:
    """(event id, what `canonical_of` hashes) for the events, in the given format."""
    if fmt in MAC_FORMATS:
        if BASE_FORMAT[fmt] == FORMAT_TEXT:
            # The MAC's values come out of the text itself: one column read, no ORM
            # conversion per value (apps.audit.mac.values_from_text).
            texts = events.annotate(canonical=canonical_text()).values_list(
                "id", "canonical", *MAC_COLUMNS
            )
            return [
                (pk, Authenticated(text.encode("utf-8"), (*values_from_text(text), *rest)))
                for pk, text, *rest in texts[:limit]
            ]
        width = len(VALUES_FIELDS)
        full = events.values_list(*VALUES_FIELDS, *MAC_COLUMNS)[:limit]
        return [
            (
                int(row[0]),
                Authenticated(row[:width], (*(row[i] for i in _MAC_IN_JSON_ROW), *row[width:])),
            )
            for row in full
        ]
    if fmt == FORMAT_TEXT:
        texts = events.annotate(canonical=canonical_text()).values_list("id", "canonical")
        return [(pk, text.encode("utf-8")) for pk, text in texts[:limit]]
    if fmt != FORMAT_JSON:
        raise ValueError(f"no canonical format {fmt}")
    rows = events.values_list(*VALUES_FIELDS)[:limit]
    return [(int(row[0]), tuple(row)) for row in rows]


def _checkpoint(alias: str) -> tuple[Path | None, str]:
    private_key = signing_key()
    if private_key is None:
        logger.warning("AUDIT_SIGNING_KEY is not set: sealed, but no checkpoint written")
        return None, "checkpoints not configured (AUDIT_SIGNING_KEY unset)"
    chain_id = _chain_id(alias)
    if chain_id is not None and not _HEX64.match(chain_id):
        # Seq 1's prev_hash written by hand: it names the checkpoint directory, so it
        # could name any path.
        why = "the chain id (seq 1's prev_hash) is not 64 hexadecimal digits"
        logger.error("audit checkpoint not written: %s", why)
        return None, f"no checkpoint: {why}"
    recorded = (
        AuditCheckpoint.objects.using(alias).order_by("-seq").values_list("file_name", flat=True)
    )
    chain_dir = checkpoint_dir(chain_id)
    if chain_id is None or chain_dir is None:
        return None, "nothing sealed yet"
    branch = branch_of(recorded.first() or "")
    # The newest file first, the head second: a file our own sealers wrote names a seal
    # that had committed before it was written, so it is at or below the head read after.
    newest = newest_checkpoint(chain_dir / branch if branch else chain_dir)
    head = AuditSeal.objects.using(alias).order_by("-seq").values_list("seq", "hash", "event_id")
    top = head.first()
    if top is None:
        return None, "nothing sealed yet"
    seq, digest, event_id = top
    # Never sign a head nothing links to.
    problem = _head_problem(seq, digest)
    if problem is not None:
        logger.error("audit checkpoint not written: %s", problem)
        return None, f"no checkpoint: {problem}"
    if AuditCheckpoint.objects.using(alias).filter(seq=seq).exists():
        return None, f"head seq {seq} already has a checkpoint"
    note = ""
    writer = database_instance(alias)
    if newest is not None and not (
        newest.writer in {writer, ""} and _agrees(alias, newest.seq, newest.hash, head_seq=seq)
    ):
        # Another database of this chain (the one this was restored or copied from, or a
        # copy of this one) writes there: never add to its files, branch off.
        branch = new_branch()
        note = (
            f"; the newest checkpoint there (seq {newest.seq}) was written by another "
            f"database of this chain (a restored copy?): branched off into {branch}"
        )
        logger.error("audit checkpoints%s", note)
    written = write_checkpoint(
        directory=chain_dir / branch if branch else chain_dir,
        private_key=private_key,
        chain_id=chain_id,
        seq=seq,
        hash=digest,
        event_id=event_id,
        writer=writer,
    )
    if written is None:
        return None, f"head seq {seq} already has a checkpoint file"
    path, _payload = written
    name = f"{branch}/{path.name}" if branch else path.name
    _record_checkpoint(
        alias,
        seq=seq,
        digest=digest,
        chain_id=chain_id,
        name=name,
        key=key_id(private_key.public_key()),
    )
    return path, f"checkpoint {name} written{note}"


def _chain_id(alias: str) -> str | None:
    """Seq 1's prev_hash; once seq 1 is archived, the checkpoints know it."""
    return (
        AuditSeal.objects.using(alias).filter(seq=1).values_list("prev_hash", flat=True).first()
        or AuditCheckpoint.objects.using(alias)
        .order_by("-seq")
        .values_list("chain_id", flat=True)
        .first()
    )


def _record_checkpoint(
    alias: str, *, seq: int, digest: str, chain_id: str, name: str, key: str
) -> None:
    try:
        with transaction.atomic(using=alias):
            AuditCheckpoint.objects.using(alias).create(
                seq=seq, hash=digest, chain_id=chain_id, file_name=name, key_id=key
            )
    except IntegrityError:  # another sealer recorded the same head a moment ago
        pass


def database_instance(alias: str) -> str:
    """Which database this is, as far as the checkpoints care: a restore or a copy into
    another database is another one; a promoted physical replica is the same one."""
    connection = connections[alias]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT (SELECT system_identifier FROM pg_control_system())::text || ':' || "
                "(SELECT oid FROM pg_database WHERE datname = current_database())::text"
            )
            identity = cursor.fetchone()[0]
    else:
        identity = str(connection.settings_dict["NAME"])
    return hashlib.sha256(identity.encode()).hexdigest()[:16]


def _agrees(alias: str, seq: int, digest: str, *, head_seq: int) -> bool:
    """Does this database's chain hold the checkpointed (seq, hash)?"""
    if seq > head_seq:
        return False
    stored = AuditSeal.objects.using(alias).filter(seq=seq).values_list("hash", flat=True)
    return stored.first() == digest


def seal_before_macs(alias: str) -> int:
    """Only for migration audit.0009, before the MAC columns exist: seal what the
    sealer would have sealed next, in the format of the time (1 on SQLite, 2 on
    PostgreSQL), so events written before MACs existed do not wait for a sealer that
    refuses them. The grace window applies as in any run: an old unsealed event stays
    what it was, a finding."""
    fmt = BASE_FORMAT[sealing_format(connections[alias])]
    sealed = 0
    after_id: int | None = None
    while True:
        batch = _seal_batch(alias, DEFAULT_BATCH_SIZE, False, after_id, fmt)
        if batch.head_problem is not None and batch.read:
            raise BrokenChainHead(batch.head_problem)
        sealed += batch.sealed
        if batch.read < DEFAULT_BATCH_SIZE:
            return sealed
        after_id = batch.last_id


def audit_seal_written(*, after_id: int) -> int:
    """Seal now, in the caller's transaction, every unsealed event with an id above
    `after_id`, whatever its time. For events written with a time in the past
    (apps.audit.collector): an ordinary run looks only at events near the head's time,
    and `audit_verify` would report one older than the grace period as inserted. In the
    writer's transaction there is no moment at which such an event is committed but not
    sealed. Events with lower ids are left to the ordinary run."""
    alias = _alias()
    sealed = 0
    after: int | None = after_id
    while True:
        batch = _seal_batch(alias, DEFAULT_BATCH_SIZE, True, after)
        if batch.head_problem is not None and batch.read:
            raise BrokenChainHead(batch.head_problem)
        sealed += batch.sealed
        if batch.read < DEFAULT_BATCH_SIZE:
            return sealed
        after = batch.last_id


def audit_seal(*, batch_size: int = DEFAULT_BATCH_SIZE, look_at_all: bool = False) -> SealResult:
    """Seal every committed, unsealed event that carries a valid MAC, then checkpoint
    the head if it moved."""
    alias = _alias()
    sealed = 0
    refused: list[tuple[int, str]] = []
    after_id: int | None = None
    while True:
        # Keyset on id: refused events stay unsealed and must not fill every batch.
        batch = _seal_batch(alias, batch_size, look_at_all, after_id)
        sealed += batch.sealed
        refused += batch.refused
        if batch.read < batch_size:
            break
        after_id = batch.last_id
    path, note = _checkpoint(alias)
    head = AuditSeal.objects.using(alias).order_by("-seq").values_list("seq", "hash").first()
    head_seq, head_hash = head if head is not None else (0, "")
    if sealed:
        logger.info("audit sealed %s event(s), head seq %s", sealed, head_seq)
    return SealResult(
        sealed=sealed,
        head_seq=head_seq,
        head_hash=head_hash,
        checkpoint=path,
        checkpoint_note=note,
        refused=tuple(refused),
    )
