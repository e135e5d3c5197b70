"""Compare the barrier's two locks and the retail database (published rows, retail
accounts) with the truth; --repair fixes them (withdraws stray grants, writes the
replication messages that republish, withdraw or provision, and runs the relay)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.applications.barrier import Disagreement, PublicationMismatch, barrier_check


class Command(BaseCommand):
    help = (
        "Report (and with --repair, fix) disagreements between retail permissions, masking "
        "and the retail database (published rows, retail accounts)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--repair", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        found = barrier_check(repair=options["repair"])
        for item in found:
            if isinstance(item, Disagreement):
                self.stdout.write(
                    f"application id={item.application_id} "
                    f"permission_held={item.permission_held} "
                    f"masking_verified={item.masking_verified}"
                )
            elif isinstance(item, PublicationMismatch):
                self.stdout.write(
                    f"application id={item.application_id} publication={item.mismatch}"
                )
            else:
                self.stdout.write(f"user id={item.user_id} retail_account={item.mismatch}")
        self.stdout.write(f"{len(found)} disagreement(s)")
        if found and not options["repair"]:
            raise SystemExit(1)
