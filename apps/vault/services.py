"""The only code that reads or changes the vault. Logs name record ids, nothing else.

The vault shares no transaction with the "default" database. Callers write the
vault record first and their reference to it second; if the second write never
happens the encrypted record is harmless and ``vault_sweep_unreferenced``
shreds it later.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connections, router, transaction
from django.utils import timezone

from apps.core.statements import Insert, Inserts, ModelRead

from .blind_index import INDEX_KINDS, normalize
from .errors import VaultRecordNotFound, VaultUnavailable
from .keyring import KeyRing, get_keyring
from .models import BlindIndexEntry, CustomerRecord
from .routers import VAULT_DB_ALIAS
from .types import CustomerPII

logger = logging.getLogger(__name__)

SWEEP_BATCH_SIZE = 500


def vault_is_available() -> bool:
    """True when this process has both the vault database alias and the vault keys.

    Malformed key settings are not "unavailable": they raise ImproperlyConfigured.
    """
    return VAULT_DB_ALIAS in settings.DATABASES and get_keyring() is not None


def _keyring() -> KeyRing:
    keyring = get_keyring()
    if VAULT_DB_ALIAS not in settings.DATABASES or keyring is None:
        raise VaultUnavailable
    return keyring


_RECORD_FIELDS = CustomerRecord._meta.concrete_fields


def _columns(record: CustomerRecord) -> dict[str, Any]:
    return {field.attname: getattr(record, field.attname) for field in _RECORD_FIELDS}


def vault_store(pii: CustomerPII) -> uuid.UUID:
    """Encrypt ``pii`` into a new record, index it, and return the record id."""
    keyring = _keyring()
    record = CustomerRecord.seal(pii, keyring=keyring)
    entries = []
    for kind in INDEX_KINDS:
        normalized = normalize(kind, getattr(pii, kind))
        if normalized:
            digest = keyring.blind_digest(kind=kind, normalized=normalized)
            entries.append({"record_id": record.id, "kind": kind, "digest": digest})
    alias = router.db_for_write(CustomerRecord)
    # The record and its index entries in one statement (PostgreSQL; one transaction
    # elsewhere): every new application stores one.
    _store(alias, len(entries)).run(connections[alias], [_columns(record)], entries)
    logger.info("vault record %s stored under key %s", record.id, record.key_id)
    return record.id


@cache
def _store(alias: str, entries: int) -> Inserts:
    """A record's INSERT and its `entries` index entries', built once per process and
    number of entries (apps.core.statements)."""
    record = Insert(CustomerRecord, [field.attname for field in _RECORD_FIELDS], alias)
    if not entries:
        return Inserts(record)
    return Inserts(record, Insert(BlindIndexEntry, ["record_id", "kind", "digest"], alias, entries))


def vault_read(record_id: uuid.UUID) -> CustomerPII:
    """Decrypt one record.

    Raises VaultRecordNotFound, VaultRecordErased, VaultIntegrityError (tampered
    or moved ciphertext) or VaultKeyMissing (its master key left the ring).
    """
    keyring = _keyring()
    alias = router.db_for_read(CustomerRecord)
    try:
        found = _record_read(alias).rows(connections[alias], record=record_id)
    except (TypeError, ValueError):  # no UUID: no record has it
        found = []
    if not found:
        raise VaultRecordNotFound(record_id=record_id)
    return found[0].open(keyring=keyring)


@cache
def _record_read(alias: str) -> ModelRead[CustomerRecord]:
    """`vault_read`'s SELECT, built once per process (apps.core.statements): the workflow
    reads a record at every step that checks the free text for the customer's data."""
    return ModelRead(lambda slots: CustomerRecord.objects.filter(pk=slots.uuid("record")), alias)


def vault_read_many(record_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, CustomerPII]:
    """Decrypt several records in one query.

    Erased and unknown ids are left out of the result (a list page shows the
    other customers; the caller sees the gap). Integrity failures still raise:
    tampering is never silently skipped.
    """
    keyring = _keyring()
    ids = list(dict.fromkeys(record_ids))
    if not ids:
        return {}
    records = CustomerRecord.objects.filter(pk__in=ids, wrapped_key__isnull=False)
    return {record.id: record.open(keyring=keyring) for record in records}


def vault_find(*, kind: str, value: str) -> list[uuid.UUID]:
    """Ids of live records whose ``kind`` field equals ``value`` after normalisation."""
    keyring = _keyring()
    if kind not in INDEX_KINDS:
        raise ValueError(f"unknown blind index kind {kind!r}")
    normalized = normalize(kind, value)
    if not normalized:
        return []
    digest = keyring.blind_digest(kind=kind, normalized=normalized)
    return list(
        BlindIndexEntry.objects.filter(kind=kind, digest=digest, record__wrapped_key__isnull=False)
        .order_by("record__created_at", "record_id")
        .values_list("record_id", flat=True)
    )


def vault_erase(record_id: uuid.UUID) -> bool:
    """Crypto-shred a record: destroy its data key and its index entries. Idempotent:
    True if this call destroyed the key, False if it was already gone."""
    _keyring()
    return _erase(record_id)


def _erase(record_id: uuid.UUID) -> bool:
    """Erase; True if this call destroyed the key, False if it was already gone."""
    with transaction.atomic(using=VAULT_DB_ALIAS):
        try:
            # The lock keeps a concurrent rewrap from writing the key back.
            record = CustomerRecord.objects.select_for_update().get(pk=record_id)
        except CustomerRecord.DoesNotExist:
            raise VaultRecordNotFound(record_id=record_id) from None
        BlindIndexEntry.objects.filter(record_id=record.id).delete()
        if record.wrapped_key is None:
            return False
        record.wrapped_key = None
        record.erased_at = timezone.now()
        record.save(update_fields=["wrapped_key", "erased_at"])
    logger.info("vault record %s erased", record_id)
    return True


def vault_rewrap_all(*, batch_size: int = 500) -> int:
    """Re-wrap every live data key not under the active master key; returns how many.

    Only data keys are unwrapped and wrapped again; no record is decrypted and
    ciphertexts and nonces stay as they are.
    """
    return sum(vault_rewrap_by_key(batch_size=batch_size).values())


def vault_rewrap_by_key(*, batch_size: int = 500) -> dict[str, int]:
    """`vault_rewrap_all`, counting the re-wrapped data keys by the master key id they
    were under (for the audit event of a rotation)."""
    keyring = _keyring()
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    active = keyring.active_key_id
    moved: dict[str, int] = {}
    while True:
        with transaction.atomic(using=VAULT_DB_ALIAS):
            # Rewrapped rows leave the filter, so each batch takes the next ones.
            batch = list(
                CustomerRecord.objects.select_for_update()
                .filter(wrapped_key__isnull=False)
                .exclude(key_id=active)
                .order_by("pk")
                .only("id", "key_id", "wrapped_key")[:batch_size]
            )
            for record in batch:
                moved[record.key_id] = moved.get(record.key_id, 0) + 1
                record.rewrap(keyring=keyring)
                record.save(update_fields=["key_id", "wrapped_key"])
        if batch:
            logger.info("vault rewrapped %d data keys under key %s", len(batch), active)
        if len(batch) < batch_size:
            return moved


def vault_sweep_unreferenced(
    *,
    referenced: Callable[[list[uuid.UUID]], set[uuid.UUID]],
    older_than: datetime,
) -> int:
    """Erase live records created before ``older_than`` that ``referenced`` does not claim.

    ``referenced`` gets a batch of candidate ids and returns those still
    referenced by the shared database. ``older_than`` must leave room for the
    window between a vault write and its reference (e.g. a day ago).
    """
    _keyring()
    erased = 0
    last_id: uuid.UUID | None = None
    while True:
        candidates = CustomerRecord.objects.filter(
            wrapped_key__isnull=False, created_at__lt=older_than
        ).order_by("pk")
        if last_id is not None:
            candidates = candidates.filter(pk__gt=last_id)
        batch = list(candidates.values_list("pk", flat=True)[:SWEEP_BATCH_SIZE])
        if not batch:
            return erased
        last_id = batch[-1]
        keep = referenced(batch)
        for record_id in batch:
            if record_id not in keep and _erase(record_id):
                erased += 1
        if len(batch) < SWEEP_BATCH_SIZE:
            return erased
