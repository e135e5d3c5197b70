"""Compare the barrier's two locks for every application; --repair withdraws stray grants."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.applications.visibility import barrier_check


class Command(BaseCommand):
    help = "Report (and with --repair, fix) disagreements between retail permissions and masking."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--repair", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        found = barrier_check(repair=options["repair"])
        for item in found:
            self.stdout.write(
                f"application id={item.application_id} permission_held={item.permission_held} "
                f"masking_verified={item.masking_verified}"
            )
        self.stdout.write(f"{len(found)} disagreement(s)")
        if found and not options["repair"]:
            raise SystemExit(1)
