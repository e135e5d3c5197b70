"""`audit_verify`: recompute the chain, check it against the signed checkpoints.

The walk reads seals by seq in keyset-paginated chunks (constant memory, one index
range scan per chunk) and the chunk's events by primary key; on PostgreSQL seals and
events come through one server-side cursor instead (apps.audit.stream). Every hash is
recomputed from the event's canonical bytes. What each kind of tampering looks like:

- altered: the recomputed hash of an event differs from its seal;
- out of order: same, but the content sealed at that position is found in another
  event further down the chain (two events' contents or seals swapped);
- removed: a gap in seq, a seal whose event row is gone, or a seal that no longer
  links to the one before it (a row deleted and the following seals renumbered);
  a checkpoint beyond the head means events were cut off the end;
- inserted: an event older than AUDIT_SEAL_GRACE_SECONDS without a seal (the sealer
  would have sealed a genuine one by then);
- forged: an event without a valid MAC (apps.audit.mac) that is sealed (someone wrote
  its seal by hand) or waiting to be (the sealer refuses it), a copy of another event
  (same MAC), or a seal without a MAC (format 1 or 2) after the chain's first seal
  with one (format 3 or 4): what was written before MACs existed stays valid, nothing
  written after may pretend to be that old;
- rewritten: the chain is consistent but disagrees with a signed checkpoint (every
  hash recomputed after a change); the change lies between the last checkpoint that
  matches and the first that does not.

After a finding the walk resynchronises on the stored hashes, so independent findings
further down are reported too; the first one (lowest seq) is the headline.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from django.db import connections, router, transaction
from django.utils import timezone

from . import branches, trail_checks
from . import checkpoints as cp
from .db import trigger_problems
from .findings import Finding, VerificationReport
from .models import AuditCheckpoint, AuditSeal, AuditVerification
from .models import VerificationProblem as P
from .signing import verify_keys
from .walk import Walk

__all__ = ["Finding", "StartError", "VerificationReport", "audit_verify"]


class StartError(Exception):
    """`--from-checkpoint` cannot start: no such checkpoint, or no key to check it with."""


def _start_checkpoint(alias: str, start: str) -> cp.CheckpointFile:
    """A checkpoint named by its seq (in AUDIT_CHECKPOINT_DIR) or by the path of its file
    (e.g. in an archive), read and its signature checked."""
    keys = verify_keys()
    if not keys:
        raise StartError(
            "verifying from a checkpoint needs AUDIT_VERIFY_KEY (or AUDIT_SIGNING_KEY): an "
            "unsigned starting point proves nothing"
        )
    if start.isdigit():
        # The chain id names the directory locally; once seq 1 is archived, the recorded
        # checkpoints still know it.
        chain_id = (
            AuditSeal.objects.using(alias).filter(seq=1).values_list("prev_hash", flat=True).first()
        ) or (
            AuditCheckpoint.objects.using(alias)
            .order_by("-seq")
            .values_list("chain_id", flat=True)
            .first()
        )
        directory = cp.checkpoint_dir(chain_id)
        if directory is None:
            raise StartError("the checkpoint directory is not known: give the file's path")
        recorded = (
            AuditCheckpoint.objects.using(alias)
            .filter(seq=int(start))
            .values_list("file_name", flat=True)
            .first()
        )
        path = cp.recorded_path(directory, recorded or cp.file_name(int(start)))
    else:
        path = Path(start)
    if not path.is_file():
        raise StartError(f"no checkpoint file {path}")
    return cp.read_checkpoint_file(path, keys)


def _recorded_chain(alias: str) -> str | None:
    """The chain id the recorded checkpoints name (seq 1 may be archived)."""
    chain = AuditCheckpoint.objects.using(alias).order_by("-seq").values_list("chain_id", flat=True)
    return chain.first()


def audit_verify(*, record: bool = True, from_checkpoint: str | None = None) -> VerificationReport:
    """Verify the trail; record the outcome as an AuditVerification. `from_checkpoint`
    (a seq or a checkpoint file's path): verify only what follows that signed
    checkpoint, so the events up to it may have been archived. Raises StartError if
    that checkpoint cannot be found or no verification key is configured."""
    alias = router.db_for_read(AuditSeal)
    report = VerificationReport(started_at=timezone.now())
    seals = AuditSeal.objects.using(alias)
    start = _start_checkpoint(alias, from_checkpoint) if from_checkpoint is not None else None
    if start is not None:
        chain_id: str | None = start.chain_id
        report.from_seq = start.seq
    else:
        chain_id = seals.filter(seq=1).values_list("prev_hash", flat=True).first()
    branches.expected_chain(report, chain_id or _recorded_chain(alias))
    branches.flat_layout(report)
    directory = cp.checkpoint_dir(chain_id)
    recorded = AuditCheckpoint.objects.using(alias).order_by("seq").values_list("seq", "file_name")
    # Files first, then the head: every file listed was written after its seal committed.
    files = cp.chain_files(directory, list(recorded))
    walk = Walk(alias, report, files.own)
    walk.head_seq = seals.order_by("-seq").values_list("seq", flat=True).first() or 0
    if start is not None and start.problem:
        report.add(
            Finding(
                P.CHECKPOINT_INVALID,
                f"starting checkpoint {start.path.name}: {start.problem}; nothing after it "
                "can be vouched for",
                seq=start.seq if start.seq >= 0 else None,
            )
        )
    else:
        if start is not None:
            walk.begin_at(start)
        walk.run()
    if report.checkpoints_configured:
        trail_checks.recorded_files_present(
            alias, report, directory, {seq for seq, _ in walk.files}, walk.start_seq
        )
    branches.beyond_the_branch(alias, report, files)
    # From a checkpoint, the table-wide checks look at the events after it only: the
    # periodic run's cost follows the new events (the weekly full run looks at all).
    after_id = start.event_id if start is not None and not start.problem else None
    _table_checks(alias, report, after_id=after_id, check_macs=walk.check_macs)
    report.finished_at = finished_at = timezone.now()
    if record:
        _record(alias, report, finished_at)
    return report


def _table_checks(
    alias: str, report: VerificationReport, *, after_id: int | None, check_macs: bool
) -> None:
    """What the walk cannot see: unsealed, unauthenticated and copied events, and the
    append-only triggers."""
    if after_id is None:
        trail_checks.without_seal(alias, report, report.started_at, check_macs=check_macs)
    else:
        trail_checks.unsealed(alias, report, report.started_at, after_id=after_id)
        if check_macs:
            trail_checks.unauthenticated(alias, report, report.started_at)
    trail_checks.copies(alias, report, after_id=after_id)
    disarmed = trigger_problems(connections[alias])
    if disarmed:
        report.add(
            Finding(
                P.UNPROTECTED,
                "append-only triggers disarmed: "
                + "; ".join(disarmed)
                + " (re-install them with apps.audit.db.install_triggers, and find out who "
                "changed them)",
            )
        )


def _record(alias: str, report: VerificationReport, finished_at: datetime) -> None:
    first = report.first
    with transaction.atomic(using=alias):
        AuditVerification.objects.using(alias).create(
            started_at=report.started_at,
            finished_at=finished_at,
            ok=report.ok,
            summary=report.summary,
            events_checked=report.events_checked,
            head_seq=report.head_seq,
            head_hash=report.head_hash,
            checkpoints_verified=report.checkpoints_verified,
            problem=first.problem if first else "",
            problem_seq=first.seq if first else None,
            problem_event_id=first.event_id if first else None,
        )
