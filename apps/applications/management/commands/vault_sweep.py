"""Erase vault records that no application references (left by edits or interrupted writes)."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from apps.applications.models import Application
from apps.audit.models import AuditAction
from apps.audit.services import audit_record
from apps.vault.services import vault_sweep_unreferenced


def referenced_ids(candidates: list[uuid.UUID]) -> set[uuid.UUID]:
    return set(
        Application.objects.filter(customer_ref__in=candidates).values_list(
            "customer_ref", flat=True
        )
    )


class Command(BaseCommand):
    help = "Crypto-shred vault records older than --hours that no application points at."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--hours",
            type=int,
            default=24,
            help="Only records older than this (leaves room for a write in progress).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        cutoff = timezone.now() - datetime.timedelta(hours=options["hours"])
        erased = vault_sweep_unreferenced(referenced=referenced_ids, older_than=cutoff)
        if erased:
            audit_record(
                actor=None,
                action=AuditAction.VAULT_ERASED,
                details={
                    "records": erased,
                    "why": "unreferenced",
                    "older_than": cutoff.isoformat(),
                },
            )
        self.stdout.write(
            f"erased {erased} unreferenced vault record(s) older than {cutoff:%Y-%m-%d %H:%M}"
        )
