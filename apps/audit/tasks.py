"""Sealing and verifying the audit chain on a schedule. Both are safe to run twice:
one sealer at a time (advisory lock), and a verification only reads and records.
The frequent verification starts at the last verified checkpoint (apps.audit.incremental);
the full walk runs weekly."""

from __future__ import annotations

import logging

from celery import shared_task

from .collector import retail_views_collect
from .incremental import audit_verify_incremental
from .sealing import audit_seal
from .verification import VerificationReport, audit_verify

logger = logging.getLogger(__name__)


@shared_task(name="audit.seal")
def seal() -> dict[str, int]:
    result = audit_seal()  # logs an error for each event it refuses to chain
    return {"sealed": result.sealed, "head_seq": result.head_seq, "refused": len(result.refused)}


@shared_task(name="audit.verify")
def verify() -> dict[str, object]:
    return _outcome(audit_verify_incremental(record=True))


@shared_task(name="audit.verify_full")
def verify_full() -> dict[str, object]:
    return _outcome(audit_verify(record=True))


def _outcome(report: VerificationReport) -> dict[str, object]:
    if not report.ok:
        logger.error("%s", report.summary)
    return {"ok": report.ok, "events_checked": report.events_checked, "from_seq": report.from_seq}


@shared_task(name="audit.collect_retail_views")
def collect_retail_views() -> dict[str, int]:
    result = retail_views_collect()
    return {"collected": result.collected, "last_id": result.last_id}
