"""Copy the retail site's view log into the audit trail (what the periodic task
`audit.collect_retail_views` runs). Safe to run at any time and twice at once: each view
reaches the trail exactly once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.audit.collector import BATCH_SIZE, retail_views_collect


class Command(BaseCommand):
    help = "Copy the retail view log into the audit trail, with each view's original time."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        result = retail_views_collect(batch_size=max(1, batch_size))
        self.stdout.write(
            f"Collected {result.collected} retail view(s); log read up to row {result.last_id}"
            + (
                "; newer rows wait for an earlier one still being written."
                if result.waiting
                else "."
            )
        )
