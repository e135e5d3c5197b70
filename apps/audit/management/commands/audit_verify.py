"""Verify the audit chain and its signed checkpoints; exit 1 on any finding."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.audit.verification import audit_verify


class Command(BaseCommand):
    help = (
        "Recompute every hash of the audit chain, check the signed checkpoints and look "
        "for unsealed old events. Prints one line; exits 1 and names the first event "
        "that does not match."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-record",
            action="store_false",
            dest="record",
            help="Do not store the result (e.g. on a read-only replica).",
        )

    def handle(self, *args: Any, record: bool, **options: Any) -> None:
        report = audit_verify(record=record)
        if report.ok:
            self.stdout.write(report.summary)
            return
        self.stderr.write(report.summary)
        for finding in sorted(report.findings, key=lambda f: f.sort_key)[1:]:
            self.stderr.write(f"  also: {finding.problem}: {finding.message}")
        raise SystemExit(1)
