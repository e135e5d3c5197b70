"""Verify the audit chain and its signed checkpoints; exit 1 on any finding."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.audit.incremental import audit_verify_incremental
from apps.audit.verification import StartError, audit_verify


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
        start = parser.add_mutually_exclusive_group()
        start.add_argument(
            "--incremental",
            action="store_true",
            help="Verify from the last signed checkpoint a verification found intact, as "
            "the hourly task does (the whole chain if there is none yet). Without it, "
            "the whole chain is verified from seq 1, as the weekly task does.",
        )
        start.add_argument(
            "--from-checkpoint",
            metavar="SEQ_OR_FILE",
            default=None,
            help="Verify only the events after this signed checkpoint (its seq in "
            "AUDIT_CHECKPOINT_DIR, or the path of its file, e.g. in an archive): the events "
            "up to it may have been archived. The checkpoint's signature is checked and the "
            "first event after it must link to its hash.",
        )

    def handle(
        self,
        *args: Any,
        record: bool,
        incremental: bool,
        from_checkpoint: str | None,
        **options: Any,
    ) -> None:
        try:
            if incremental:
                report = audit_verify_incremental(record=record)
            else:
                report = audit_verify(record=record, from_checkpoint=from_checkpoint)
        except StartError as error:
            raise CommandError(str(error), returncode=2) from None
        if report.ok:
            self.stdout.write(report.summary)
            return
        self.stderr.write(report.summary)
        for finding in sorted(report.findings, key=lambda f: f.sort_key)[1:]:
            self.stderr.write(f"  also: {finding.problem}: {finding.message}")
        raise SystemExit(1)
