"""What the outbox keeps of a message once it is applied: a transport, not a record.

The audit trail records every change that wrote a message (a verification, a
withdrawal, a person's roles or password), and `barrier_check` repairs the retail
database from the T&D side's truth by writing new messages, never by replaying old ones.
So an applied message is kept only as a window to look back at what was sent
(SHADAN_REPLICATION_RETENTION_DAYS), and less than that for what must not linger:

* `forget_account_payloads` — an account upsert carries the person's password hash and
  name; once applied (or found older than what was applied) nothing reads it again, so
  the relay clears it in the transaction that marks it applied.
* `replication_purge` — the periodic task deletes applied messages past the retention,
  in short batches by id range.

Why deleting cannot make the retail side misapply anything: the retail database keeps
the newest sequence applied per subject (apps.publication AppliedMessage), and a
message's sequence is its id. Only messages that are applied are deleted, and an applied
message is never delivered again (a redelivery is of a message still pending: the relay
marks it applied in the transaction that commits after the retail one). Deleting never
lowers a later message's id either: PostgreSQL's sequences and SQLite's AUTOINCREMENT
(Django's for an AutoField) never hand out an id again, and the purge always keeps the
newest message of the table, so even a sequence reset from max(id) (`sqlsequencereset`,
a `loaddata`) starts above every sequence the retail database has seen.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from apps.publication.models import Subject

from .models import Kind, ReplicationMessage

logger = logging.getLogger(__name__)

# Ids per DELETE: each statement locks at most this many rows, for milliseconds.
PURGE_BATCH = 1000
# Batches per run (at most 100,000 messages): a run stays far inside the task's time
# limit; a larger backlog (the first run on an old outbox) goes on at the next run.
PURGE_MAX_BATCHES = 100


def forget_account_payloads(messages: Iterable[ReplicationMessage]) -> int:
    """Clear the payload of each account upsert among `messages`, which the caller's
    outbox transaction has just marked applied (or found superseded): the password hash
    and the name go with it. A crash before the commit rolls the clearing back with the
    mark, so the message is delivered again with its payload whole."""
    done = [
        m.pk
        for m in messages
        if m.subject == Subject.ACCOUNT and m.kind == Kind.UPSERT and m.payload
    ]
    if not done:
        return 0
    return ReplicationMessage.objects.filter(pk__in=done).update(payload={})


def applied_retention() -> dt.timedelta:
    return dt.timedelta(days=settings.SHADAN_REPLICATION_RETENTION_DAYS)


@dataclass(frozen=True)
class PurgeResult:
    deleted: int
    batches: int
    # False when the run stopped at its batch limit with older messages still to look at.
    complete: bool


def replication_purge(
    *,
    retention: dt.timedelta | None = None,
    batch_size: int = PURGE_BATCH,
    max_batches: int = PURGE_MAX_BATCHES,
) -> PurgeResult:
    """Delete the messages applied longer than `retention` ago (default: the setting),
    oldest first, in windows of `batch_size` consecutive ids, one DELETE in its own
    transaction each (no long lock: the relay and the writers go on between them). A
    pending or failing message (applied_at is null) is never deleted, nor the newest
    message of the table.

    The walk needs no index on applied_at: it reads the primary key, and stops at the
    first window that ends with a message created after the cutoff (ids follow creation
    time, and a message is applied after it is created, so nothing beyond can be due)."""
    cutoff = timezone.now() - (applied_retention() if retention is None else retention)
    ids = ReplicationMessage.objects.order_by("id").values_list("id", flat=True)
    top, low = ids.last(), ids.first()
    done = top is None or low == top  # nothing, or only the newest (kept)
    deleted = batches = 0
    while not done and batches < max_batches:
        # The window [low, high): the next batch_size ids, the newest message never in it.
        following = (
            ReplicationMessage.objects.filter(id__gte=low, id__lt=top)
            .order_by("id")
            .values_list("id", "created_at")[batch_size : batch_size + 1]
        )
        row = next(iter(following), None)
        high, created = row if row is not None else (top, None)
        count, _ = ReplicationMessage.objects.filter(
            id__gte=low, id__lt=high, applied_at__isnull=False, applied_at__lt=cutoff
        ).delete()
        deleted += count
        batches += 1
        done = created is None or created >= cutoff
        low = high
    if deleted or not done:
        logger.info(
            "replication purge: %s applied message(s) older than %s deleted in %s batch(es)%s",
            deleted,
            cutoff.isoformat(timespec="seconds"),
            batches,
            "" if done else "; more at the next run",
        )
    return PurgeResult(deleted=deleted, batches=batches, complete=done)
