"""What a verification finds, and the report `audit_verify` returns and records."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from .models import VerificationProblem as P

MAX_FINDINGS = 100


@dataclass(frozen=True)
class Finding:
    problem: P
    message: str
    seq: int | None = None
    event_id: int | None = None
    # Where the problem is seen, when that differs from where it is located: a checkpoint
    # mismatch locates a range that starts before the checkpoint that reveals it.
    seen_at: int | None = None

    @property
    def sort_key(self) -> tuple[bool, int]:
        position = self.seen_at if self.seen_at is not None else self.seq
        return (position is None, position or 0)


@dataclass
class VerificationReport:
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    events_checked: int = 0
    head_seq: int | None = None
    head_hash: str = ""
    checkpoints_configured: bool = True
    checkpoints_verified: int = 0
    checkpoint_files_unchecked: int = 0
    findings: list[Finding] = field(default_factory=list)
    more_findings: int = 0
    from_seq: int | None = None  # verified from this signed checkpoint on (--from-checkpoint)
    # Event rows the walk read from the database (what an incremental run saves).
    events_read: int = 0
    macs_checked: bool = True  # False on a verifier holding only the public key

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def first(self) -> Finding | None:
        return min(self.findings, key=lambda f: f.sort_key, default=None)

    @property
    def summary(self) -> str:
        first = self.first
        if first is not None:
            others = len(self.findings) - 1 + self.more_findings
            tail = f" (and {others} more problem(s))" if others else ""
            return f"audit chain FAILED: {first.problem}: {first.message}{tail}"
        head = f"head seq {self.head_seq} hash {self.head_hash}" if self.head_seq else "empty chain"
        if self.checkpoints_configured:
            marks = f"{self.checkpoints_verified} checkpoints verified"
        else:
            marks = "checkpoints not configured (no AUDIT_SIGNING_KEY or AUDIT_VERIFY_KEY)"
            if self.checkpoint_files_unchecked:
                marks += f", {self.checkpoint_files_unchecked} checkpoint files not checked"
        if not self.macs_checked:
            marks += ", event MACs not checked (no AUDIT_MAC_KEYS here)"
        start = f" from checkpoint seq {self.from_seq}" if self.from_seq is not None else ""
        return f"audit chain OK{start}: {self.events_checked} events, {head}, {marks}"

    def add(self, finding: Finding) -> None:
        if len(self.findings) < MAX_FINDINGS:
            self.findings.append(finding)
        else:
            self.more_findings += 1
