"""The chain walk of `audit_verify`: every seal in seq order, its event's hash
recomputed, its MAC checked, and the signed checkpoints compared on the way (see
apps.audit.verification for what each kind of tampering looks like).

On PostgreSQL the walk goes segment by segment (SEGMENT seals), each first on a fast
path (`Walk._fast`): the segment's seals streamed as lines by one COPY
(apps.audit.stream.copied_lines), and for each the checks an intact seal passes, in
one loop with no query and no object per seal: it follows the one before, links to
it, hashes to its stored hash, and its MAC checks. The first seal that does not pass
any of them, and the rest of its segment, go the general path (`Walk._general`, the
same for every database), which tells what is wrong with it; the next segment starts
on the fast path again. The fast path only ever accepts what the general path would
accept without a finding, leaving the walk in the state the general path would, so
a report does not depend on which path saw a seal (tests/audit run both over the same
tampering).
"""

from __future__ import annotations

import hashlib
from binascii import hexlify
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connections, transaction

from . import checkpoints as cp
from .chain import MAC_FORMATS, Authenticated, canonical_of, known_formats, links
from .chain_reads import Row, chain, find_moved_content
from .findings import Finding, VerificationReport
from .mac import line_mac_ok, mac_keys, mac_problem, text_mac_problem
from .models import AuditSeal
from .models import VerificationProblem as P
from .signing import verify_keys
from .stream import PLANNER, copied_lines

_MAX_ORDER_SEARCHES = 3
_MAX_RENUMBERING = 16
# Seals per COPY of the fast path: a seal it does not accept costs at most reading the
# rest of its segment once more on the general path.
SEGMENT = 100_000
_NONE = 2**63  # a seq no chain reaches


class _Irregular(Exception):
    """A seal the fast path leaves to the general path."""


@contextmanager
def _walk_transaction(alias: str) -> Iterator[None]:
    """The walk's reads on PostgreSQL: one snapshot (REPEATABLE READ; inside a caller's
    transaction, that one's) and the planner settings of apps.audit.stream.PLANNER.
    The walk writes nothing, so its transaction (or savepoint) is rolled back at the
    end, which also takes the settings back."""
    connection = connections[alias]
    outermost = not connection.in_atomic_block
    with transaction.atomic(using=alias), connection.cursor() as cursor:
        if outermost:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        names = ", ".join("set_config(%s, %s, true)" for _ in PLANNER)
        cursor.execute(f"SELECT {names}", [value for setting in PLANNER for value in setting])
        yield
        transaction.set_rollback(True, using=alias)


class Walk:
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
        if connections[self.alias].vendor == "postgresql":
            with _walk_transaction(self.alias):
                position = self.start_seq
                while position < self.head_seq:
                    until = min(position + SEGMENT, self.head_seq)
                    # After a renumbering every seal hashes at another seq: general path.
                    if self.shift or not self._fast(until):
                        self._general(after=self.last_seq, until=until)
                    position = until
        else:
            self._general(after=self.start_seq, until=self.head_seq)
        self.report.head_seq = self.last_seq or None
        self.report.head_hash = self.last_hash
        self._checkpoints_beyond_head()
        self._count_renumbered()

    def _general(self, *, after: int, until: int) -> None:
        """Every seal after `after` up to `until`, whatever it looks like."""
        for chunk, events in chain(self.alias, after=after, head_seq=until):
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

    def _next_checkpoint(self, seq: int) -> int:
        """The next seq after `seq` at which `_checkpoints_up_to` has work to do."""
        file_seq = self.files[self.next_file][0] if self.next_file < len(self.files) else _NONE
        after_good = self.good_checkpoint_seq + 1
        return min(file_seq, after_good if after_good > seq else _NONE)

    def _fast(self, until: int) -> bool:
        """The seals after the last one walked up to `until` (PostgreSQL), each accepted
        if it is plainly intact (see the module docstring), until the first that is not:
        whether the segment was accepted to its end. Everything read after the first
        seal not accepted is read and dropped (the COPY must end before the general path
        can query)."""
        keys = mac_keys() if self.check_macs else None
        sha256 = hashlib.sha256
        last_seq, last_event_id = self.last_seq, self.last_event_id
        last_hash_bytes = self.last_hash.encode("ascii")
        last_digest: bytes | None = None  # the raw hash of the seal before, once checked
        checkpoint_at = self._next_checkpoint(last_seq)
        accepted = 0
        regular = True
        with copied_lines(self.alias, after=last_seq, until=until) as lines:
            for line in lines:
                try:
                    seq_text, event_text, prev_hash, stored, fmt, covered = line.split(b"\t", 5)
                    seq = int(seq_text)
                    if seq != last_seq + 1:
                        raise _Irregular
                    if seq == 1:  # the chain starts: its prev_hash is the chain id
                        prev_digest = bytes.fromhex(prev_hash.decode("ascii"))
                    elif prev_hash != last_hash_bytes:
                        raise _Irregular
                    elif last_digest is None:  # the first seal of the segment
                        prev_digest = bytes.fromhex(prev_hash.decode("ascii"))
                    else:
                        prev_digest = last_digest
                    digest = sha256(prev_digest)
                    digest.update(seq.to_bytes(8, "big"))
                    digest.update(covered)
                    raw_digest = digest.digest()  # finalised once: compared, then linked
                    if hexlify(raw_digest) != stored:  # exactly the stored text (lowercase hex)
                        raise _Irregular
                    if fmt == b"4":
                        if keys is not None and not line_mac_ok(keys, covered):
                            raise _Irregular
                        if self.mac_from is None:
                            self.mac_from = seq
                    elif fmt != b"2" or self.mac_from is not None:
                        raise _Irregular
                    event_id = int(event_text)
                except (_Irregular, ValueError, KeyError, UnicodeError):
                    regular = False
                    break
                if seq == 1:
                    self.chain_id = prev_hash.decode("ascii")
                if seq >= checkpoint_at:
                    self._checkpoints_up_to(seq, event_id, stored.decode("ascii"))
                    checkpoint_at = self._next_checkpoint(seq)
                last_seq, last_event_id = seq, event_id
                last_hash_bytes, last_digest = stored, raw_digest
                accepted += 1
            if not regular:
                for _ in lines:
                    pass
        self.last_seq, self.last_event_id = last_seq, last_event_id
        self.last_hash = last_hash_bytes.decode("ascii")
        self.report.events_read += accepted
        self.report.events_checked += accepted
        return regular

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
        if self.last_seq == 0 and seq == 1:
            self.chain_id = prev_hash
        if seq != self.last_seq + 1:
            self._gap(seq, event_id)
        elif seq > 1 and prev_hash != self.last_hash:
            self._broken_link(seq, event_id, prev_hash, digest, row)
            return
        if row is None:
            self.report.add(
                Finding(
                    P.REMOVED,
                    f"event #{event_id} sealed at seq {seq} is missing (removed)",
                    seq=seq,
                    event_id=event_id,
                )
            )
            return
        self._content(seq, event_id, prev_hash, digest, row)

    def _gap(self, seq: int, event_id: int) -> None:
        first_missing = self.last_seq + 1
        span = f"seq {first_missing}" + (f"–{seq - 1}" if seq - 1 > first_missing else "")
        self.report.add(
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

    def _content(self, seq: int, event_id: int, prev_hash: str, digest: str, row: Row) -> None:
        """The event holds what was sealed at its seq (at its original seq, after a
        renumbering); else its content moved to a later event, or it was altered."""
        canonical = canonical_of(row)
        if links(prev_hash, seq, canonical, digest):
            self._authentic(seq, event_id, row)
            return
        if self.shift and links(prev_hash, seq + self.shift, canonical, digest):
            self.renumbered += 1
            self._authentic(seq, event_id, row)
            return
        moved = None
        if self.order_searches > 0:
            self.order_searches -= 1
            moved = find_moved_content(
                self.alias,
                seq=seq,
                event_id=event_id,
                prev_hash=prev_hash,
                digest=digest,
                head_seq=self.head_seq,
            )
        if moved is not None:
            other_seq, other_id = moved
            self.report.add(
                Finding(
                    P.OUT_OF_ORDER,
                    f"event #{event_id} at seq {seq} does not hold what was sealed there; "
                    f"that content is now in event #{other_id} at seq {other_seq}",
                    seq=seq,
                    event_id=event_id,
                )
            )
        else:
            self.report.add(
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
        if canonical is not None and links(prev_hash, seq, canonical, digest):
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
                if links(prev_hash, seq + shift, canonical, digest):
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
