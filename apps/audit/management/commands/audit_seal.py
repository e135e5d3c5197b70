"""Chain the committed audit events and write a signed checkpoint of the head.
Exits 1 after naming each event it refused to chain (no valid MAC)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.audit.sealing import audit_seal


class Command(BaseCommand):
    help = "Seal committed audit events into the hash chain and checkpoint the head."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--all",
            action="store_true",
            dest="look_at_all",
            help="Look at every event, not only those near the head (recovery after a "
            "long stop of the sealer).",
        )

    def handle(self, *args: Any, look_at_all: bool, **options: Any) -> None:
        result = audit_seal(look_at_all=look_at_all)
        self.stdout.write(
            f"Sealed {result.sealed} event(s); head seq {result.head_seq}"
            + (f" hash {result.head_hash}" if result.head_hash else "")
            + f"; {result.checkpoint_note}."
        )
        if result.refused:
            # An alarm for whoever runs this from cron: events in the trail that the
            # product did not write.
            for event_id, why in result.refused:
                self.stderr.write(f"Not sealed: event #{event_id}: {why}.")
            raise SystemExit(1)
