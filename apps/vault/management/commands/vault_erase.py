"""Crypto-shred one vault record by id."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.vault.errors import VaultError
from apps.vault.services import vault_erase


class Command(BaseCommand):
    help = "Erase a vault record by destroying its data key (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("record_id", help="UUID of the vault record")

    def handle(self, *args: Any, record_id: str, **options: Any) -> None:
        try:
            parsed = uuid.UUID(record_id)
        except ValueError:
            raise CommandError("record_id must be a UUID") from None
        try:
            vault_erase(parsed)
        except VaultError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Erased vault record {parsed}."))
