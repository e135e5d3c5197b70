"""Crypto-shred vault records by id, and record it in the audit trail.

It lives here, not in apps.vault, because the vault imports nothing of the product
(an import-linter contract), the audit trail included; like `vault_sweep`.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from apps.audit.models import AuditAction
from apps.audit.services import audit_record
from apps.vault.errors import VaultError, VaultRecordNotFound
from apps.vault.services import vault_erase

# Ids listed in the audit event up to this many; beyond it the event holds counts and
# the first ids only, so one event stays a readable size.
MAX_LISTED_IDS = 100


class Command(BaseCommand):
    help = "Erase vault records by destroying their data keys (idempotent); audited."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("record_ids", nargs="+", help="UUIDs of the vault records")

    def handle(self, *args: Any, record_ids: list[str], **options: Any) -> None:
        try:
            parsed = list(dict.fromkeys(uuid.UUID(value) for value in record_ids))
        except ValueError:
            raise CommandError("record_id must be a UUID") from None
        erased: list[uuid.UUID] = []
        already: list[uuid.UUID] = []
        missing: list[uuid.UUID] = []
        try:
            for record_id in parsed:
                try:
                    (erased if vault_erase(record_id) else already).append(record_id)
                except VaultRecordNotFound:
                    missing.append(record_id)
        except VaultError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            # The vault shares no transaction with the trail: record what was done,
            # even when a later id failed.
            if erased or already:
                _audit(erased, already)
        for record_id in erased:
            self.stdout.write(self.style.SUCCESS(f"Erased vault record {record_id}."))
        for record_id in already:
            self.stdout.write(f"Vault record {record_id} was already erased.")
        if missing:
            raise CommandError("no such vault record: " + ", ".join(map(str, missing)))


def _listed(ids: list[uuid.UUID]) -> list[str]:
    return [str(record_id) for record_id in ids[:MAX_LISTED_IDS]]


def _audit(erased: list[uuid.UUID], already: list[uuid.UUID]) -> None:
    details: dict[str, Any] = {
        "why": "vault_erase command",
        "records": len(erased),
        "record_ids": _listed(erased),
    }
    if already:
        details |= {"already_erased": len(already), "already_erased_ids": _listed(already)}
    if len(erased) > MAX_LISTED_IDS or len(already) > MAX_LISTED_IDS:
        details["ids_listed_up_to"] = MAX_LISTED_IDS
    with transaction.atomic():
        audit_record(
            actor=None,
            action=AuditAction.VAULT_ERASED,
            details=details,
        )
