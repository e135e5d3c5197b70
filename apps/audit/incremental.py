"""The periodic verification: from the newest signed checkpoint that a verification
found intact, so an hourly run costs the events written since, not five years of trail.

A run that finds a problem does not move the starting point: the next run starts where
the last good one did and reports the problem again. The full walk from seq 1 stays
(`manage.py audit_verify`, and the weekly `audit.verify_full` task): only it sees a
change to an event before the starting checkpoint that left every seal and checkpoint
as it was (an edit without recomputing the chain), and only it re-checks the MACs of
events an earlier run already checked.

The starting checkpoint is looked up with the checkpoint API (`audit_verify`'s
`from_checkpoint`), so where checkpoint files are kept is apps.audit.checkpoints' affair.
"""

from __future__ import annotations

import logging

from django.db import router

from .findings import VerificationReport
from .models import AuditCheckpoint, AuditSeal, AuditVerification
from .verification import StartError, audit_verify

logger = logging.getLogger(__name__)


def last_verified_checkpoint(alias: str) -> int | None:
    """The seq of the newest recorded checkpoint at or below the head of the last
    verification that found the chain intact, or None."""
    verified_head = (
        AuditVerification.objects.using(alias)
        .filter(ok=True, head_seq__isnull=False)
        .order_by("-id")
        .values_list("head_seq", flat=True)
        .first()
    )
    if verified_head is None:
        return None
    return (
        AuditCheckpoint.objects.using(alias)
        .filter(seq__lte=verified_head)
        .order_by("-seq")
        .values_list("seq", flat=True)
        .first()
    )


def audit_verify_incremental(*, record: bool = True) -> VerificationReport:
    """Verify from the last verified signed checkpoint (its signature checked again, the
    first seal after it must link to its hash); a full verification when there is none
    yet, or when it cannot be used (no verification key, its file gone: the full walk
    then reports the missing file)."""
    alias = router.db_for_read(AuditSeal)
    start = last_verified_checkpoint(alias)
    if start is not None:
        try:
            return audit_verify(record=record, from_checkpoint=str(start))
        except StartError as error:
            logger.warning("verifying the whole chain: cannot start at seq %s: %s", start, error)
    return audit_verify(record=record)
