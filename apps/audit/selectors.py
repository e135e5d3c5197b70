"""Reads for the auditors' pages (no personal data: the trail holds none)."""

from __future__ import annotations

from dataclasses import dataclass

from .models import AuditCheckpoint, AuditSeal, AuditVerification


@dataclass(frozen=True)
class ChainHead:
    seq: int
    hash: str
    event_id: int
    sealed_at: object


@dataclass(frozen=True)
class ChainStatus:
    head: ChainHead | None
    last_verification: AuditVerification | None
    last_checkpoint: AuditCheckpoint | None


def chain_status() -> ChainStatus:
    """The chain's head, the last `audit_verify` run and the last checkpoint written.
    Three index lookups: cheap enough for every page load."""
    head = (
        AuditSeal.objects.order_by("-seq")
        .values_list("seq", "hash", "event_id", "sealed_at")
        .first()
    )
    return ChainStatus(
        head=ChainHead(*head) if head is not None else None,
        last_verification=AuditVerification.objects.order_by("-id").first(),
        last_checkpoint=AuditCheckpoint.objects.order_by("-seq").first(),
    )
