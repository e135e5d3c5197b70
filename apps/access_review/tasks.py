"""The daily draw of accesses into the review queue. Takes no arguments, writes only what is
missing: safe to run twice, and a missed run is caught up by the next one."""

from __future__ import annotations

from celery import shared_task

from .services import access_sample_due


@shared_task(name="access_review.sample")
def sample() -> dict[str, int]:
    results = access_sample_due()
    return {
        "days": sum(1 for r in results if r.created),
        "sampled": sum(r.run.sampled for r in results if r.created),
    }
