"""Where this database's checkpoints are, and the move from the flat layout.

manage.py audit_checkpoints              # chain id, its directory, branch, files
manage.py audit_checkpoints --per-chain  # move flat checkpoint-*.json files into
                                         # <AUDIT_CHECKPOINT_DIR>/<chain id>/
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import router

from apps.audit import checkpoints as cp
from apps.audit.models import AuditCheckpoint, AuditSeal


class Command(BaseCommand):
    help = (
        "Show this database's audit chain id and checkpoint directory; with --per-chain, "
        "move checkpoint files of the flat layout into one directory per chain."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--per-chain",
            action="store_true",
            help="Move every checkpoint-*.json directly in AUDIT_CHECKPOINT_DIR into "
            "<AUDIT_CHECKPOINT_DIR>/<its chain id>/ (never over an existing file).",
        )

    def handle(self, *args: Any, per_chain: bool, **options: Any) -> None:
        root = Path(str(settings.AUDIT_CHECKPOINT_DIR))
        if per_chain:
            moved = cp.move_into_chain_directories(root)
            for source, target in moved:
                self.stdout.write(f"moved {source.name} -> {target.parent.name}/{target.name}")
            left = cp.flat_checkpoint_files(root)
            self.stdout.write(f"{len(moved)} file(s) moved; {len(left)} left in {root}.")
            if left:
                self.stderr.write(
                    "Left in place (unreadable, or the target exists): check by hand."
                )
                raise SystemExit(1)
            return
        alias = router.db_for_read(AuditSeal)
        chain_id = (
            AuditSeal.objects.using(alias).filter(seq=1).values_list("prev_hash", flat=True).first()
            or AuditCheckpoint.objects.using(alias)
            .order_by("-seq")
            .values_list("chain_id", flat=True)
            .first()
        )
        if chain_id is None:
            self.stdout.write("No chain yet: run audit_seal once events exist.")
            return
        directory = cp.checkpoint_dir(chain_id)
        last = (
            AuditCheckpoint.objects.using(alias)
            .order_by("-seq")
            .values_list("file_name", flat=True)
            .first()
        )
        branch = cp.branch_of(last or "")
        self.stdout.write(f"chain id: {chain_id}")
        self.stdout.write(f"directory: {directory}")
        self.stdout.write(f"writes into: {branch or 'the chain directory itself'}")
        pinned = getattr(settings, "AUDIT_CHAIN_ID", "")
        self.stdout.write(f"AUDIT_CHAIN_ID: {pinned or 'unset (set it to the chain id above)'}")
        flat = cp.flat_checkpoint_files(root)
        if flat:
            self.stderr.write(
                f"{len(flat)} checkpoint file(s) directly in {root} (the layout before one "
                "directory per chain): run `audit_checkpoints --per-chain`."
            )
