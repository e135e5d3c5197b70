"""Where in a field the leak scanner's findings are, so the clerk sees the text to correct.

The scanner (leaks.py) answers only "which kinds, in which field". To show *where*, this
asks the scanner about pieces of the text: the shortest piece that still holds a kind on
its own is that leak. One piece found for two kinds (the customer's own phone number is
also "a phone number") is named once, by the more specific kind.

The pieces are the customer's personal data, typed by the T&D clerk: they are for that
clerk's encode page only, never for logs, the audit trail, exceptions or retail.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from .leaks import CustomerIdentity, Leak, LeakKind, scan_text

# Enough to show a clerk what to correct; a field holding more is rewritten, not patched.
MAX_SPANS_PER_KIND = 20
_KIND_ORDER = {kind: index for index, kind in enumerate(LeakKind)}


@dataclass(frozen=True)
class Span:
    kind: LeakKind
    start: int
    end: int

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True)
class FieldLeaks:
    """A field's leaks named once each (``kinds``, in LeakKind order) and where they are."""

    field: str
    kinds: list[LeakKind]
    spans: list[Span]


def _joined(before: str, after: str) -> bool:
    """Whether a cut between these two characters would make a new token: cutting "online"
    makes "line", cutting a 22-digit supply point id makes a phone-shaped number."""
    a, b = unicodedata.normalize("NFKC", before), unicodedata.normalize("NFKC", after)
    if not (a and b):
        return False
    letters = a[-1].isascii() and a[-1].isalpha() and b[0].isascii() and b[0].isalpha()
    return letters or (a[-1].isdigit() and b[0].isdigit())


def _cuts(text: str) -> list[int]:
    return [
        i for i in range(len(text) + 1) if i in (0, len(text)) or not _joined(text[i - 1], text[i])
    ]


class _Oracle:
    def __init__(self, text: str, kind: LeakKind, customer: CustomerIdentity | None) -> None:
        self.text, self.kind, self.customer = text, kind, customer

    def holds(self, start: int, end: int) -> bool:
        piece = self.text[start:end]
        return bool(piece) and self.kind in scan_text(text=piece, customer=self.customer)


def _last_span(oracle: _Oracle, cuts: list[int], limit: int) -> tuple[int, int]:
    """A short piece of text[:limit] that holds the kind, given that text[:limit] does.

    Two binary searches over the cut points: the latest start that still holds, then the
    earliest end. The invariant (the kept bound always holds) makes the answer hold the
    kind on its own even where the scanner is not monotone in the piece."""
    starts = [c for c in cuts if c < limit]
    lo, hi = 0, len(starts)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if oracle.holds(starts[mid], limit):
            lo = mid
        else:
            hi = mid
    start = starts[lo]
    ends = [c for c in cuts if start < c <= limit]
    lo, hi = -1, len(ends) - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if oracle.holds(start, ends[mid]):
            hi = mid
        else:
            lo = mid
    return start, ends[hi]


def spans_of(*, text: str, kind: LeakKind, customer: CustomerIdentity | None) -> list[Span]:
    """Where ``kind`` is in ``text``, left to right (empty if the scanner no longer finds it)."""
    oracle = _Oracle(text, kind, customer)
    cuts = _cuts(text)
    found: list[Span] = []
    limit = len(text)
    while len(found) < MAX_SPANS_PER_KIND and limit > 0 and oracle.holds(0, limit):
        start, end = _last_span(oracle, cuts, limit)
        found.append(Span(kind, start, end))
        limit = start
    return sorted(found, key=lambda span: span.start)


def locate(
    *, leaks: list[Leak], texts: Mapping[str, str], customer: CustomerIdentity | None
) -> list[FieldLeaks]:
    """The refused fields in the order of ``leaks``, each leak named once and located.

    A piece already claimed by a more specific kind is not named again; a kind the scanner
    reported but no piece holds (the field changed since) is still named, unmarked."""
    by_field: dict[str, list[LeakKind]] = {}
    for leak in leaks:
        by_field.setdefault(leak.field, []).append(leak.kind)
    result: list[FieldLeaks] = []
    for field, kinds in by_field.items():
        text = texts.get(field, "")
        kept: list[Span] = []
        named: list[LeakKind] = []
        for kind in sorted(set(kinds), key=_KIND_ORDER.__getitem__):
            spans = spans_of(text=text, kind=kind, customer=customer)
            new = [span for span in spans if not any(span.overlaps(k) for k in kept)]
            if new or not spans:
                named.append(kind)
            kept.extend(new)
        result.append(FieldLeaks(field, named, sorted(kept, key=lambda s: (s.start, s.end))))
    return result
