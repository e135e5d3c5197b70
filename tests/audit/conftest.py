"""Helpers for the audit trail tests: events, a private checkpoint directory, and the
tools of someone tampering with the database behind the product's back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, models

from apps.audit import db as audit_db
from apps.audit import sealing
from apps.audit.chain import MAC_FORMATS, canonical_of, link_hash, new_chain_id
from apps.audit.mac import authenticate
from apps.audit.models import AuditAction, AuditEvent, AuditSeal
from apps.audit.sealing import payloads
from apps.audit.services import audit_record
from apps.audit.verification import Finding, audit_verify

# The chain id of the first chain a test starts (random after that, as in production):
# its checkpoint directory is known before anything is sealed.
CHAIN_ID = "c0" * 32


@pytest.fixture(autouse=True)
def known_chain_id(monkeypatch: pytest.MonkeyPatch) -> None:
    ids = iter([CHAIN_ID])
    monkeypatch.setattr(sealing, "new_chain_id", lambda: next(ids, None) or new_chain_id())


@pytest.fixture
def checkpoint_root(settings: Any, tmp_path: Path) -> Path:
    """AUDIT_CHECKPOINT_DIR: every chain's directory is under it."""
    path = tmp_path / "checkpoints"
    settings.AUDIT_CHECKPOINT_DIR = path
    return path


@pytest.fixture(autouse=True)
def checkpoint_dir(checkpoint_root: Path) -> Path:
    """The directory of the test's chain (CHAIN_ID)."""
    return checkpoint_root / CHAIN_ID


@pytest.fixture
def record_events() -> Callable[[int], list[AuditEvent]]:
    def make(count: int) -> list[AuditEvent]:
        return [
            audit_record(
                actor=None,
                action=AuditAction.CONFIGURATION_CHANGED,
                details={"setting": f"S{i}", "value": i},
                reason=f"変更 {i}",
            )
            for i in range(count)
        ]

    return make


def unguarded(model: type[models.Model]) -> models.QuerySet[Any]:
    """A plain QuerySet: what remains once someone bypasses the model's own guards."""
    return models.QuerySet(model=model)


@contextmanager
def triggers_lifted() -> Iterator[None]:
    """What a table owner can do: drop the triggers, tamper, put them back."""
    audit_db.drop_triggers(connection)
    try:
        yield
    finally:
        audit_db.install_triggers(connection)


def event_values(event_id: int) -> dict[str, Any]:
    event = AuditEvent.objects.get(pk=event_id)
    return {
        f.attname: getattr(event, f.attname)
        for f in AuditEvent._meta.concrete_fields
        if not f.primary_key
    }


def reauthenticate(event_id: int) -> None:
    """What only a forger who also stole the MAC key can do: give an event, as it now
    is, a valid MAC. The tests of the chain and the checkpoints use it to show those
    hold on their own; tests/audit/test_event_mac.py shows the MAC holds without them."""
    event = AuditEvent.objects.get(pk=event_id)
    event.mac = ""
    authenticate(event, vendor=connection.vendor)
    unguarded(AuditEvent).filter(pk=event_id).update(
        mac_key_id=event.mac_key_id, mac_nonce=event.mac_nonce, mac=event.mac
    )


def recompute_seals(from_seq: int, to_seq: int | None = None) -> None:
    """Recompute the hashes from `from_seq` on (to the end), as a careful forger would,
    one who holds the MAC key too (`reauthenticate`)."""
    prev = AuditSeal.objects.get(seq=from_seq).prev_hash
    seals = AuditSeal.objects.filter(seq__gte=from_seq).order_by("seq")
    if to_seq is not None:
        seals = seals.filter(seq__lte=to_seq)
    for seq, event_id, fmt in seals.values_list("seq", "event", "format"):
        if fmt in MAC_FORMATS:
            reauthenticate(event_id)
        [(_, payload)] = payloads(AuditEvent.objects.filter(pk=event_id), fmt)
        digest = link_hash(prev, seq, canonical_of(payload))
        unguarded(AuditSeal).filter(seq=seq).update(prev_hash=prev, hash=digest)
        prev = digest


def hours_ago(hours: float) -> dt.datetime:
    from django.utils import timezone

    return timezone.now() - dt.timedelta(hours=hours)


def first_finding(*, record: bool = True) -> Finding:
    """The headline of a verification that must fail."""
    finding = audit_verify(record=record).first
    assert finding is not None, "verification found nothing wrong"
    return finding
