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

from collections.abc import Iterator
from pathlib import Path

from django.db import connections, router, transaction
from django.utils import timezone

from . import branches, trail_checks
from . import checkpoints as cp
from .chain import MAC_FORMATS, Authenticated, Payload, canonical_of, known_formats, link_hash
from .db import trigger_problems
from .findings import Finding, VerificationReport
from .mac import mac_keys, mac_problem, text_mac_problem
from .models import AuditCheckpoint, AuditEvent, AuditSeal, AuditVerification
from .models import VerificationProblem as P
from .sealing import payloads
from .signing import verify_keys
from .stream import streamed_chunks

__all__ = ["Finding", "StartError", "VerificationReport", "audit_verify"]

CHUNK_SIZE = trail_checks.CHUNK_SIZE
_MAX_ORDER_SEARCHES = 3
_MAX_RENUMBERING = 16

Row = Payload  # what apps.audit.chain.canonical_of hashes, in the seal's format
SealRow = tuple[int, int, str, str, int]  # seq, event id, prev_hash, hash, format


def _seal_chunks(alias: str, *, after: int, head_seq: int) -> Iterator[list[SealRow]]:
    last = after
    while last < head_seq:
        chunk = list(
            AuditSeal.objects.using(alias)
            .filter(seq__gt=last, seq__lte=head_seq)
            .order_by("seq")
            .values_list("seq", "event_id", "prev_hash", "hash", "format")[:CHUNK_SIZE]
        )
        if not chunk:
            return
        yield chunk
        last = chunk[-1][0]


def _events(alias: str, chunk: list[SealRow]) -> dict[int, Row]:
    """The events sealed in this chunk of seals, by id, read for their seals' formats:
    a join on the seq range (two parameters) rather than a list of thousands of ids."""
    found: dict[int, Row] = {}
    in_range = AuditEvent.objects.using(alias).filter(
        seal__seq__gte=chunk[0][0], seal__seq__lte=chunk[-1][0]
    )
    known = known_formats(connections[alias])
    for fmt in sorted({seal[4] for seal in chunk} & set(known)):
        found.update(payloads(in_range.filter(seal__format=fmt), fmt))
    return found


def _chain(
    alias: str, *, after: int, head_seq: int
) -> Iterator[tuple[list[SealRow], dict[int, Row]]]:
    """The seals after `after` with their events, chunk by chunk: on PostgreSQL in one
    stream (apps.audit.stream), elsewhere two keyset reads per chunk."""
    if connections[alias].vendor == "postgresql":
        yield from streamed_chunks(alias, after=after, head_seq=head_seq, size=CHUNK_SIZE)
        return
    for chunk in _seal_chunks(alias, after=after, head_seq=head_seq):
        yield chunk, _events(alias, chunk)


def _find_moved_content(
    alias: str, *, seq: int, event_id: int, prev_hash: str, digest: str, head_seq: int
) -> tuple[int, int] | None:
    """The later event (seq, id) holding the content that was sealed at `seq`: either
    the seals were swapped (its row hashes as it is) or the contents were (it hashes
    once given back the id of the event sealed at `seq`)."""
    for chunk in _seal_chunks(alias, after=seq, head_seq=head_seq):
        events = _events(alias, chunk)
        for other_seq, other_id, _prev, _hash, _format in chunk:
            row = events.get(other_id)
            if row is None:
                continue
            candidates = (canonical_of(row), canonical_of(row, as_id=event_id))
            if any(link_hash(prev_hash, seq, c) == digest for c in candidates):
                return other_seq, other_id
    return None


class _Walk:
    """One pass over the chain up to `head_seq`, comparing checkpoints on the way."""

    def __init__(
        self, alias: str, report: VerificationReport, files: list[tuple[int, Path]]
    ) -> None:
        self.alias = alias
        self.report = report
        self.head_seq = 0
        self.keys = verify_keys()
        self.report.checkpoints_configured = bool(self.keys)
        # A verifier holding only the public key (no AUDIT_MAC_KEYS) checks the chain and
        # the checkpoints, and says it did not check the MACs.
        self.check_macs = report.macs_checked = mac_keys() is not None
        self.files = files
        self.next_file = 0
        self.chain_id = ""
        self.last_seq = 0
        self.last_event_id: int | None = None
        self.last_hash = ""
        self.order_searches = _MAX_ORDER_SEARCHES
        self.formats = known_formats(connections[alias])
        # For locating a rewrite: the first event after the last checkpoint that matched.
        self.after_good_checkpoint: tuple[int, int] | None = None
        self.good_checkpoint_seq = 0
        self.start_seq = 0
        # After a removal with the seals behind it renumbered, every later seal still
        # hashes with its original seq = seq + shift: those are one finding, not one each.
        self.shift = 0
        self.renumbered = 0
        self.renumbering: Finding | None = None
        # The seq of the first seal with a MAC: from there on every seal must have one.
        self.mac_from: int | None = None

    def begin_at(self, start: cp.CheckpointFile) -> None:
        """Trust the chain up to a verified checkpoint (what came before may be archived):
        the seal after it must link to its hash."""
        self.start_seq = self.last_seq = self.good_checkpoint_seq = start.seq
        self.last_hash, self.last_event_id = start.hash, start.event_id
        self.chain_id = start.chain_id
        self.files = [(seq, path) for seq, path in self.files if seq > start.seq]
        self.mac_from = (
            AuditSeal.objects.using(self.alias)
            .filter(seq__lte=start.seq, format__in=MAC_FORMATS)
            .order_by("seq")
            .values_list("seq", flat=True)
            .first()
        )
        stored = (
            AuditSeal.objects.using(self.alias)
            .filter(seq=start.seq)
            .values_list("hash", flat=True)
            .first()
        )
        if stored is not None and stored != start.hash:
            self.report.add(
                Finding(
                    P.REWRITTEN,
                    f"the starting checkpoint {start.path.name} does not match the chain at "
                    f"seq {start.seq}: the chain was recomputed up to there",
                    seq=start.seq,
                    event_id=start.event_id,
                )
            )
        if 0 < self.head_seq < start.seq:
            self.report.add(
                Finding(
                    P.REMOVED,
                    f"the chain ends at seq {self.head_seq}, before the starting checkpoint "
                    f"(seq {start.seq}): events were removed",
                    seq=self.head_seq + 1,
                )
            )

    def run(self) -> None:
        for chunk, events in _chain(self.alias, after=self.start_seq, head_seq=self.head_seq):
            self.report.events_read += len(events)
            for seq, event_id, prev_hash, digest, fmt in chunk:
                if fmt not in self.formats:
                    self.report.add(
                        Finding(
                            P.ALTERED,
                            f"the seal of event #{event_id} at seq {seq} names canonical "
                            f"format {fmt}, which this database never seals in (seal altered)",
                            seq=seq,
                            event_id=event_id,
                        )
                    )
                else:
                    self._format_after_macs(seq, event_id, fmt)
                    self._seal(seq, event_id, prev_hash, digest, events.get(event_id))
                self._checkpoints_up_to(seq, event_id, digest)
                self.last_seq, self.last_event_id, self.last_hash = seq, event_id, digest
                self.report.events_checked += 1
        self.report.head_seq = self.last_seq or None
        self.report.head_hash = self.last_hash
        self._checkpoints_beyond_head()
        self._count_renumbered()

    def _format_after_macs(self, seq: int, event_id: int, fmt: int) -> None:
        if fmt in MAC_FORMATS:
            if self.mac_from is None:
                self.mac_from = seq
        elif self.mac_from is not None:
            self.report.add(
                Finding(
                    P.FORGED,
                    f"event #{event_id} at seq {seq} is sealed without a MAC (format {fmt}) "
                    f"although every event from seq {self.mac_from} on has one: it was "
                    "sealed behind the product's back",
                    seq=seq,
                    event_id=event_id,
                )
            )

    def _authentic(self, seq: int, event_id: int, row: Row) -> None:
        if not isinstance(row, Authenticated) or not self.check_macs:
            return  # sealed before MACs existed (format 1 or 2), or no key to check with
        # Values parsed from format 2 text are in the MAC message's form already.
        check = text_mac_problem if isinstance(row.base, bytes) else mac_problem
        problem = check(row.mac_row)
        if problem is not None:
            self.report.add(
                Finding(
                    P.FORGED,
                    f"event #{event_id} at seq {seq} is in the chain although {problem}: "
                    "the product did not write it (its seal was written by hand)",
                    seq=seq,
                    event_id=event_id,
                )
            )

    def _count_renumbered(self) -> None:
        finding = self.renumbering
        if finding is None or not self.renumbered or finding not in self.report.findings:
            return
        index = self.report.findings.index(finding)
        self.report.findings[index] = Finding(
            finding.problem,
            f"{finding.message}; the {self.renumbered} event(s) after it were renumbered with "
            "it and are otherwise intact (each hashes at its original seq)",
            seq=finding.seq,
            event_id=finding.event_id,
            seen_at=finding.seen_at,
        )

    def _seal(self, seq: int, event_id: int, prev_hash: str, digest: str, row: Row | None) -> None:
        add = self.report.add
        if self.last_seq == 0 and seq == 1:
            self.chain_id = prev_hash
        if seq != self.last_seq + 1:
            first_missing = self.last_seq + 1
            span = f"seq {first_missing}" + (f"–{seq - 1}" if seq - 1 > first_missing else "")
            add(
                Finding(
                    P.REMOVED,
                    f"{span} missing: event #{event_id} at seq {seq} follows "
                    + (
                        f"event #{self.last_event_id} at seq {self.last_seq}"
                        if self.last_seq
                        else "the start of the chain"
                    ),
                    seq=first_missing,
                    event_id=event_id,
                )
            )
        elif seq > 1 and prev_hash != self.last_hash:
            self._broken_link(seq, event_id, prev_hash, digest, row)
            return
        if row is None:
            add(
                Finding(
                    P.REMOVED,
                    f"event #{event_id} sealed at seq {seq} is missing (removed)",
                    seq=seq,
                    event_id=event_id,
                )
            )
            return
        canonical = canonical_of(row)
        if link_hash(prev_hash, seq, canonical) == digest:
            self._authentic(seq, event_id, row)
            return
        if self.shift and link_hash(prev_hash, seq + self.shift, canonical) == digest:
            self.renumbered += 1
            self._authentic(seq, event_id, row)
            return
        moved = None
        if self.order_searches > 0:
            self.order_searches -= 1
            moved = _find_moved_content(
                self.alias,
                seq=seq,
                event_id=event_id,
                prev_hash=prev_hash,
                digest=digest,
                head_seq=self.head_seq,
            )
        if moved is not None:
            other_seq, other_id = moved
            add(
                Finding(
                    P.OUT_OF_ORDER,
                    f"event #{event_id} at seq {seq} does not hold what was sealed there; "
                    f"that content is now in event #{other_id} at seq {other_seq}",
                    seq=seq,
                    event_id=event_id,
                )
            )
        else:
            add(
                Finding(
                    P.ALTERED,
                    f"event #{event_id} at seq {seq} was altered after it was sealed "
                    "(its hash does not match)",
                    seq=seq,
                    event_id=event_id,
                )
            )

    def _broken_link(
        self, seq: int, event_id: int, prev_hash: str, digest: str, row: Row | None
    ) -> None:
        canonical = canonical_of(row) if row is not None else None
        if canonical is not None and link_hash(prev_hash, seq, canonical) == digest:
            # This seal is intact; the one before it was recomputed after a change.
            self.report.add(
                Finding(
                    P.ALTERED,
                    f"event #{self.last_event_id} at seq {self.last_seq} was altered and its "
                    f"seal recomputed: event #{event_id} at seq {seq} still links to the "
                    "original",
                    seq=self.last_seq,
                    event_id=self.last_event_id,
                )
            )
            return
        if canonical is not None:
            for shift in range(self.shift + 1, self.shift + _MAX_RENUMBERING + 1):
                if link_hash(prev_hash, seq + shift, canonical) == digest:
                    finding = Finding(
                        P.REMOVED,
                        f"{shift - self.shift} event(s) removed before event #{event_id}, "
                        f"which was sealed at seq {seq + shift} and renumbered to seq {seq}",
                        seq=seq,
                        event_id=event_id,
                    )
                    self.report.add(finding)
                    self._count_renumbered()
                    self.shift, self.renumbered, self.renumbering = shift, 0, finding
                    return
        self.report.add(
            Finding(
                P.REMOVED,
                f"event #{event_id} at seq {seq} does not link to event #{self.last_event_id} "
                f"at seq {self.last_seq}: an event between them was removed or a seal altered",
                seq=seq,
                event_id=event_id,
            )
        )

    def _file(self, index: int) -> cp.CheckpointFile:
        seq, path = self.files[index]
        return cp.read_checkpoint(path, seq, self.keys)

    def _checkpoints_up_to(self, seq: int, event_id: int, digest: str) -> None:
        if self.good_checkpoint_seq + 1 == seq:
            self.after_good_checkpoint = (seq, event_id)
        # A checkpoint signed the seal under its original seq (the removal is a finding).
        original = seq + self.shift
        while self.next_file < len(self.files) and self.files[self.next_file][0] <= original:
            file_seq = self.files[self.next_file][0]
            index = self.next_file
            self.next_file += 1
            if not self.keys:
                self.report.checkpoint_files_unchecked += 1
                continue
            checkpoint = self._file(index)
            if checkpoint.problem:
                self._invalid(checkpoint)
            elif file_seq != original:
                continue  # its seq is missing from the chain: already a finding
            elif checkpoint.chain_id != self.chain_id:
                self.report.add(
                    Finding(
                        P.REWRITTEN,
                        f"checkpoint {checkpoint.path.name} belongs to another chain: the trail "
                        "was replaced (or, on a development machine, the database was "
                        "re-created: move the old checkpoint files away)",
                        seq=seq,
                    )
                )
            elif checkpoint.hash != digest:
                start_seq, start_event = self.after_good_checkpoint or (seq, event_id)
                self.report.add(
                    Finding(
                        P.REWRITTEN,
                        f"checkpoint {checkpoint.path.name} does not match the chain at seq "
                        f"{seq}: events were changed and the chain recomputed somewhere from "
                        f"event #{start_event} at seq {start_seq} to event #{event_id} at "
                        f"seq {seq}",
                        seq=start_seq,
                        event_id=start_event,
                        seen_at=seq,
                    )
                )
            else:
                self.report.checkpoints_verified += 1
                self.good_checkpoint_seq = seq

    def _checkpoints_beyond_head(self) -> None:
        for index in range(self.next_file, len(self.files)):
            if not self.keys:
                self.report.checkpoint_files_unchecked += 1
                continue
            checkpoint = self._file(index)
            if checkpoint.problem:
                self._invalid(checkpoint)
            else:
                # What a restore from an older backup looks like, and a cut-off end too:
                # a finding of its own, so the auditor sees which it may be.
                self.report.add(
                    Finding(
                        P.RESTORED,
                        f"checkpoint beyond the restored trail: {checkpoint.path.name} covers "
                        f"seq {checkpoint.seq} but the chain ends at seq {self.last_seq}: this "
                        f"database was restored from a backup taken at seq {self.last_seq}, or "
                        f"the events after seq {self.last_seq} were removed",
                        seq=self.last_seq + 1,
                    )
                )

    def _invalid(self, checkpoint: cp.CheckpointFile) -> None:
        self.report.add(
            Finding(
                P.CHECKPOINT_INVALID,
                f"checkpoint {checkpoint.path.name}: {checkpoint.problem}",
                seq=checkpoint.seq,
            )
        )


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
    walk = _Walk(alias, report, files.own)
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
    trail_checks.unsealed(alias, report, report.started_at, after_id=after_id)
    if walk.check_macs:
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
    report.finished_at = timezone.now()
    if record:
        first = report.first
        with transaction.atomic(using=alias):
            AuditVerification.objects.using(alias).create(
                started_at=report.started_at,
                finished_at=report.finished_at,
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
    return report
