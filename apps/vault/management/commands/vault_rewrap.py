"""Re-wrap every data key under the active master key (after adding a new one)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.vault.errors import VaultError
from apps.vault.keyring import get_keyring
from apps.vault.services import vault_rewrap_all


class Command(BaseCommand):
    help = "Re-wrap every record's data key under VAULT_ACTIVE_KEY_ID; no record is decrypted."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        try:
            count = vault_rewrap_all(batch_size=batch_size)
        except (VaultError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        keyring = get_keyring()
        active = keyring.active_key_id if keyring is not None else "?"
        self.stdout.write(
            self.style.SUCCESS(f"Rewrapped {count} data key(s) under master key {active}.")
        )
