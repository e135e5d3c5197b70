"""The investigation report for a period, from shadan's own audit trail or from a legacy
system's CSV files. Bad legacy rows are printed (file:line: reason) and the command
exits non-zero without a report."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.exposure.legacy import LegacyDataError
from apps.exposure.models import PERIOD_EARLIEST, PERIOD_LATEST
from apps.exposure.output import render
from apps.exposure.services import exposure_record_run


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"not an ISO 8601 date (YYYY-MM-DD): {value!r}") from None


class Command(BaseCommand):
    help = (
        "Who could see non-public customer information, for how long, and who looked: "
        "the investigation report for a period (both dates inclusive, Asia/Tokyo)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="period_from", required=True, type=_date)
        parser.add_argument("--to", dest="period_to", required=True, type=_date)
        parser.add_argument(
            "--legacy",
            type=Path,
            help="A directory of legacy CSV files (records.csv, roster.csv, access_log.csv, "
            "switches.csv) instead of shadan's own audit trail.",
        )
        parser.add_argument("--format", choices=("json", "csv", "html"), default="json")
        parser.add_argument("--output", type=Path, help="Write here instead of stdout.")

    def handle(
        self,
        *args: Any,
        period_from: date,
        period_to: date,
        legacy: Path | None,
        format: str,
        output: Path | None,
        **options: Any,
    ) -> None:
        if not PERIOD_EARLIEST <= period_from <= period_to <= PERIOD_LATEST:
            if period_to < period_from:
                raise CommandError("--to is before --from")
            raise CommandError(f"the period must lie between {PERIOD_EARLIEST} and {PERIOD_LATEST}")
        if legacy is not None and not legacy.is_dir():
            raise CommandError(f"not a directory: {legacy}")
        try:
            report = exposure_record_run(
                acting_user=None,
                period_from=period_from,
                period_to=period_to,
                legacy_dir=legacy,
                output_format=format,
            )
        except LegacyDataError as bad:
            for problem in bad.problems:
                self.stderr.write(str(problem))
            if bad.count > len(bad.problems):
                self.stderr.write(f"… and {bad.count - len(bad.problems)} more")
            raise CommandError(f"{bad.count} bad row(s): no report was made") from None
        text = render(report, format)
        if output is None:
            self.stdout.write(text, ending="")
        else:
            output.write_text(text, encoding="utf-8")
            self.stderr.write(f"written to {output}")
