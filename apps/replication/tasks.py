"""The replication relay (after every commit that wrote a message, and on beat) and the
purge of applied messages (on beat)."""

from __future__ import annotations

from celery import shared_task

from .retention import replication_purge
from .services import relay_due


@shared_task(name="replication.relay")
def relay() -> dict[str, int]:
    return relay_due()


@shared_task(name="replication.purge")
def purge() -> dict[str, int]:
    """Counts only (logged by the purge when it deleted anything): the messages carry no
    customer data, and what they carried is in the audit trail's own events."""
    result = replication_purge()
    return {"deleted": result.deleted, "batches": result.batches, "complete": result.complete}
