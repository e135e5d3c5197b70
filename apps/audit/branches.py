"""The checks of `audit_verify` about whose checkpoints a database meets: the chain the
deployment expects (AUDIT_CHAIN_ID), and the checkpoints another database of the same
chain wrote after this one branched off (a restored or copied database, see
apps.audit.checkpoints).

A restore from a backup is legitimate, but it loses what happened between the backup
and the restore, and an auditor must see that: it is a finding of its own ("restored"),
not a pass, and it never touches the verification of the database that stayed."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from . import checkpoints as cp
from .findings import Finding, VerificationReport
from .models import AuditSeal
from .models import VerificationProblem as P
from .signing import verify_keys


def expected_chain(report: VerificationReport, chain_id: str | None) -> None:
    """With AUDIT_CHAIN_ID set, the database must hold that chain."""
    pinned = getattr(settings, "AUDIT_CHAIN_ID", "")
    if not pinned and chain_id is None:
        others = cp.chain_directories()
        if others:
            report.add(
                Finding(
                    P.REMOVED,
                    "this database holds no chain, but AUDIT_CHECKPOINT_DIR holds the "
                    f"checkpoints of {len(others)} chain(s) ({others[0]}…): the trail was "
                    "emptied, or the directory is shared with another deployment (set "
                    "AUDIT_CHAIN_ID to say which chain is this one's)",
                    seq=1,
                )
            )
        return
    if not pinned or chain_id == pinned:
        return
    held = f"chain {chain_id}" if chain_id else "no chain at all"
    report.add(
        Finding(
            P.REWRITTEN,
            f"this database holds {held}, but AUDIT_CHAIN_ID is {pinned}: the trail was "
            "replaced (or the setting names another deployment's chain)",
            seq=1,
        )
    )


def flat_layout(report: VerificationReport) -> None:
    """Checkpoint files left directly in AUDIT_CHECKPOINT_DIR (the layout before one
    directory per chain) are where no verification looks: say how to move them."""
    configured = str(settings.AUDIT_CHECKPOINT_DIR)
    if cp.CHAIN_ID_PLACEHOLDER in configured:
        return
    flat = cp.flat_checkpoint_files(Path(configured))
    if flat:
        report.add(
            Finding(
                P.CHECKPOINT_INVALID,
                f"{len(flat)} checkpoint file(s) directly in {configured} ({flat[0].name}…), "
                "where no verification looks: move them into their chain's directory with "
                "`manage.py audit_checkpoints --per-chain`",
            )
        )


def beyond_the_branch(alias: str, report: VerificationReport, files: cp.ChainFiles) -> None:
    """The checkpoints written by another database of this chain after this one went its
    own way: checked for their signature, then reported together as one finding."""
    if not files.left_behind:
        return
    keys = verify_keys()
    beyond = []
    for seq, path, branched_at in files.left_behind:
        if not keys:
            report.checkpoint_files_unchecked += 1
            continue
        checkpoint = cp.read_checkpoint(path, seq, keys)
        if checkpoint.problem:
            report.add(
                Finding(P.CHECKPOINT_INVALID, f"checkpoint {path.name}: {checkpoint.problem}")
            )
            continue
        held = AuditSeal.objects.using(alias).filter(seq=seq).values_list("hash", flat=True)
        if held.first() == checkpoint.hash:
            # Sealed before the backup, checkpointed by the other database after it.
            report.checkpoints_verified += 1
        else:
            beyond.append((seq, path, branched_at))
    if not beyond:
        return
    seq, path, branched_at = beyond[0]
    report.add(
        Finding(
            P.RESTORED,
            f"checkpoint beyond the restored trail: {path.parent.name}/{path.name} (seq "
            f"{seq}) and {len(beyond) - 1} more were written by another database holding "
            f"this chain after this one branched off at seq {branched_at}: this database "
            f"was restored from a backup taken then (or copied), and what the other one "
            "sealed after it is not here",
            seq=branched_at + 1,
        )
    )
