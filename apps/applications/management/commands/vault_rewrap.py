"""Re-wrap every data key under the active master key (after adding a new one), and
record it in the audit trail.

It lives here, not in apps.vault, because the vault imports nothing of the product
(an import-linter contract), the audit trail included; like `vault_sweep`.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from apps.audit.models import AuditAction
from apps.audit.services import audit_record
from apps.vault.errors import VaultError
from apps.vault.keyring import get_keyring
from apps.vault.services import vault_rewrap_by_key


class Command(BaseCommand):
    help = "Re-wrap every record's data key under VAULT_ACTIVE_KEY_ID; no record is decrypted."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        try:
            moved = vault_rewrap_by_key(batch_size=batch_size)
        except (VaultError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        keyring = get_keyring()
        active = keyring.active_key_id if keyring is not None else "?"
        count = sum(moved.values())
        # Key ids and counts only: a rotation concerns every record, listing them helps
        # no one. Recorded even when nothing moved: the run itself is worth knowing.
        with transaction.atomic():
            audit_record(
                actor=None,
                action=AuditAction.VAULT_REWRAPPED,
                details={
                    "why": "vault_rewrap command",
                    "to_key_id": active,
                    "records": count,
                    "from_key_ids": dict(sorted(moved.items())),
                },
            )
        self.stdout.write(
            self.style.SUCCESS(f"Rewrapped {count} data key(s) under master key {active}.")
        )
