"""Compare the barrier's two locks and the published table with the truth; --repair fixes
them (withdraws stray grants, republishes or withdraws published rows)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.applications.barrier import Disagreement, barrier_check


class Command(BaseCommand):
    help = (
        "Report (and with --repair, fix) disagreements between retail permissions, masking "
        "and the published table."
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
            else:
                self.stdout.write(
                    f"application id={item.application_id} publication={item.mismatch}"
                )
        self.stdout.write(f"{len(found)} disagreement(s)")
        if found and not options["repair"]:
            raise SystemExit(1)
