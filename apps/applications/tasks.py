"""Periodic work on applications. Tasks take no personal data and are safe to run twice."""

from __future__ import annotations

import logging

from celery import shared_task

from .barrier import Disagreement, PublicationMismatch
from .barrier import barrier_check as _barrier_check

logger = logging.getLogger(__name__)


@shared_task(name="applications.barrier_check")
def barrier_check() -> dict[str, int]:
    """Compare the retail permission, the masking and the published table of every
    application and repair any disagreement: each withdrawal is recorded (permission.revoked,
    why barrier_check; masking invalidated, cause barrier_check) by the repair itself; here
    only the counts are logged."""
    found = _barrier_check(repair=True)
    locks = [d for d in found if isinstance(d, Disagreement)]
    published = [d for d in found if isinstance(d, PublicationMismatch)]
    withdrawn = sum(
        1 for d in locks if d.user_id is None and d.permission_held and not d.masking_verified
    )
    per_person = sum(1 for d in locks if d.user_id is not None)
    missing = sum(1 for d in locks if d.masking_verified and not d.permission_held)
    counts = {
        "disagreements": len(found),
        "withdrawn": withdrawn,
        "per_person_grants": per_person,
        "verified_without_permission": missing,
        "publication_repaired": len(published),
    }
    if found:
        logger.error("barrier check found disagreements: %s", counts)
    else:
        logger.info("barrier check: the two locks agree")
    return counts


@shared_task(name="applications.sla_sweep")
def sla_sweep() -> dict[str, int]:
    from apps.applications.sla import sla_sweep as sweep

    result = sweep()
    return {"overdue": result.overdue, "escalated": result.escalated, "messages": result.messages}
