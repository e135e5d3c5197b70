"""Long investigation reports run here, not in the request. The task takes the run's id
only and re-reads the row (exposure_execute is safe to run twice)."""

from __future__ import annotations

from celery import shared_task

from .services import exposure_execute


@shared_task(name="exposure.run_report")
def run_exposure_report(run_id: int) -> str:
    return str(exposure_execute(run_id=run_id).status)
