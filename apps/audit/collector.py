"""Retail views come home: the collector copies the retail site's view log into the
central audit trail, exactly once, with each view's original time, person and record.

The retail site cannot write the trail (it has no credentials for the shared database);
it appends what it showed to whom to `RetailViewLog` in the retail database, which
refuses UPDATE and DELETE (apps.publication.db) and to which the retail role may only
insert. This side (the T&D worker, with the retail database's publisher role) reads the
log after its cursor and writes one event per row:

- RETAIL_VIEWED for a list or detail view, with the application as the object (type,
  id and label as the retail pages always wrote them: "applications.application", the
  T&D id, the reference or else the pseudonym); RETAIL_NOT_FOUND for a detail request
  that found nothing, labelled with what was asked if it had the reference format;
- the view's time, not the collector's; the T&D user whose id the retail account
  carries as actor, with the division and roles they had then (apps.audit.history);
- the row's request id, client address and user agent; details {view, retail_log_id}
  and what the log's details hold (for a request that found nothing: what was asked).

Exactly once: the cursor (CollectionCursor, in the shared database) moves in the same
transaction as the events it covers, and is locked first, so a crash repeats nothing
and two collectors at once take turns. The events are sealed in that transaction too
(apps.audit.sealing.audit_seal_written): their times are in the past, where the
sealer's ordinary run does not look.

The retail database hands out ids when a row is inserted, and concurrent writers may
commit out of order: a row with a higher id can be visible while a lower one is still
being written. The cursor never passes an id it has not seen unless the row after the
gap is older than SETTLE_SECONDS; by then the missing id was rolled back (sequences do
not reuse ids) rather than still coming.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.db import router, transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.publication.models import RetailView, RetailViewLog
from apps.publication.routers import retail_alias

from .context import RequestContext
from .models import AuditAction, AuditEvent, CollectionCursor
from .sealing import audit_seal_written
from .services import PastEvent, audit_record_past

logger = logging.getLogger(__name__)

SOURCE = "retail_views"
BATCH_SIZE = 500
SETTLE_SECONDS = 60
# The object of a retail view, as apps.retail wrote it with an Application stand-in.
APPLICATION_TYPE = "applications.application"


@dataclass(frozen=True)
class CollectResult:
    collected: int
    last_id: int
    # Rows left for a later run: past a gap younger than SETTLE_SECONDS.
    waiting: bool


def retail_views_collect(
    *, batch_size: int = BATCH_SIZE, now: dt.datetime | None = None
) -> CollectResult:
    """Copy every view logged since the last run, batch by batch (one transaction each)."""
    collected = 0
    while True:
        count, last_id, waiting = _collect_batch(batch_size, now or timezone.now())
        collected += count
        if waiting or count < batch_size:
            break
    if collected:
        logger.info("collected %s retail view(s), up to log row %s", collected, last_id)
    return CollectResult(collected=collected, last_id=last_id, waiting=waiting)


def retail_views_pending_since() -> dt.datetime | None:
    """When the oldest retail view not yet in the trail happened (None: all collected)."""
    last_id = CollectionCursor.objects.filter(source=SOURCE).values_list("last_id", flat=True)
    after = last_id.first() or 0
    return (
        RetailViewLog.objects.using(retail_alias())
        .filter(id__gt=after)
        .order_by("id")
        .values_list("occurred_at", flat=True)
        .first()
    )


def retail_views_complete_until() -> dt.datetime | None:
    """Every retail view that happened before this moment is in the trail, as of the
    collector's last run (None: it has never run, or never caught up)."""
    return (
        CollectionCursor.objects.filter(source=SOURCE)
        .values_list("complete_until", flat=True)
        .first()
    )


def _collect_batch(batch_size: int, now: dt.datetime) -> tuple[int, int, bool]:
    with transaction.atomic(using=router.db_for_write(AuditEvent)):
        CollectionCursor.objects.get_or_create(source=SOURCE)
        # Locked before the log is read: a second collector waits here and then reads
        # after the cursor the first one committed.
        cursor = CollectionCursor.objects.select_for_update().get(source=SOURCE)
        rows = list(
            RetailViewLog.objects.using(retail_alias())
            .filter(id__gt=cursor.last_id)
            .order_by("id")[:batch_size]
        )
        caught_up = len(rows) < batch_size
        rows, waiting = _without_unsettled_gap(rows, cursor.last_id, now)
        if caught_up or waiting:
            # What is not visible yet (or held back at a gap) is younger than this.
            cursor.complete_until = now - dt.timedelta(seconds=SETTLE_SECONDS)
        if not rows:
            cursor.save(update_fields=["complete_until", "updated_at"])
            return 0, cursor.last_id, waiting
        actors = User.objects.in_bulk({row.account_id for row in rows})
        known = [row for row in rows if row.account_id in actors]
        for row in rows:
            if row.account_id not in actors:
                # Provisioning copies T&D ids, so this is a row the product did not write.
                # It stays in the retail log; the cursor passes it, or the trail would stop.
                logger.error("retail view log row %s names no T&D user: not collected", row.pk)
        events = audit_record_past(events=[_event(row, actors[row.account_id]) for row in known])
        if events:
            audit_seal_written(after_id=min(event.pk for event in events) - 1)
        cursor.last_id = rows[-1].pk
        cursor.save(update_fields=["last_id", "complete_until", "updated_at"])
        return len(rows), cursor.last_id, waiting


def _without_unsettled_gap(
    rows: list[RetailViewLog], last_id: int, now: dt.datetime
) -> tuple[list[RetailViewLog], bool]:
    """The rows up to the first gap in the ids whose next row is younger than
    SETTLE_SECONDS (a lower id may still be committing), and whether one was found."""
    settled = now - dt.timedelta(seconds=SETTLE_SECONDS)
    expected = last_id + 1
    for index, row in enumerate(rows):
        if row.pk != expected and row.occurred_at > settled:
            return rows[:index], True
        expected = row.pk + 1
    return rows, False


def _event(row: RetailViewLog, actor: User) -> PastEvent:
    context = RequestContext(
        request_id=row.request_id, client_ip=row.client_ip, user_agent=row.user_agent
    )
    details = {**(row.details or {}), "retail_log_id": row.pk}
    if row.view == RetailView.NOT_FOUND:
        # As the retail pages recorded it: a detail request, labelled with what was asked
        # only if it had the reference format (the log keeps nothing else).
        requested = str(details.get("requested", "") or row.reference)
        return PastEvent(
            actor=actor,
            action=AuditAction.RETAIL_NOT_FOUND,
            occurred_at=row.occurred_at,
            object_label=requested[:64],
            details={**details, "view": "detail"},
            context=context,
        )
    return PastEvent(
        actor=actor,
        action=AuditAction.RETAIL_VIEWED,
        occurred_at=row.occurred_at,
        object_type=APPLICATION_TYPE if row.application_id is not None else "",
        object_id=str(row.application_id) if row.application_id is not None else "",
        object_label=row.reference or row.pseudonym,
        details={**details, "view": row.view},
        context=context,
    )
