"""The walk's fast path on PostgreSQL (apps.audit.walk): it accepts only what the
general path accepts without a finding, so a report is the same whichever path saw a
seal; and the two pieces it is built from, the MAC from precomputed pads and the MAC
message built from a format 4 line, give the same answers as the plain ones."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from json.encoder import encode_basestring
from typing import Any

import pytest
from django.db import transaction

from apps.audit import mac, walk
from apps.audit.chain import canonical_of, link_hash
from apps.audit.context import RequestContext, bound_request_context
from apps.audit.mac import MacKeys, line_mac_ok, mac_keys, text_mac_problem, values_from_text
from apps.audit.models import AuditAction, AuditEvent, AuditSeal
from apps.audit.sealing import audit_seal, payloads
from apps.audit.services import audit_record
from apps.audit.stream import copied_lines
from apps.audit.verification import VerificationReport, audit_verify
from tests.audit.conftest import event_values, recompute_seals, triggers_lifted, unguarded
from tests.conftest import require_postgres

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


@pytest.mark.parametrize("size", [1, 32, 64, 65, 100, 200])
def test_the_mac_from_precomputed_pads_is_hmac_sha256(size):
    key = bytes(range(256))[:size] if size <= 256 else b""
    keys = MacKeys(keys={"k": key}, active_key_id="k")
    for message in (b"", b"x", b"y" * 63, b"z" * 64, "監査".encode() * 100):
        assert keys.mac("k", message) == hmac.digest(key, message, "sha256")
    assert keys.mac("other", b"x") is None


def test_a_str_without_a_quote_backslash_or_control_character_encodes_as_itself_quoted():
    for point in range(0x110000):
        char = chr(point)
        as_itself = encode_basestring(char) == f'"{char}"'
        assert as_itself == (mac._NEEDS_ESCAPE.search(char) is None), hex(point)


_AWKWARD: list[dict[str, Any]] = [
    {"reason": "plain", "details": {}},
    {"reason": 'back\\slash "quoted"', "details": {"b": 1, "aa": [1.5, 1.0, 1e20, 0.1]}},
    {"reason": "tab\there\nnewline\rcr \x01 \x1f", "details": {"日本": "語", "z": None}},
    {"reason": "\\N", "details": {"nested": {"k": [True, False, {"x": "\\t"}]}}},
    {"reason": "絵文字 😀 and \u2028", "details": {"s": 'a"b\\c\td'}},
]
_CONTEXTS = [
    RequestContext(request_id="r-1", client_ip="192.0.2.7", user_agent="UA\tx"),
    RequestContext(request_id="", client_ip="2001:db8::1", user_agent='"q"'),
    RequestContext(request_id="r\\3", client_ip="::ffff:192.0.2.9", user_agent=""),
    RequestContext(request_id="r-4", client_ip=None, user_agent="é"),
]


def _awkward_trail(clerk: Any) -> None:
    for n, values in enumerate(_AWKWARD):
        with bound_request_context(_CONTEXTS[n % len(_CONTEXTS)]):
            audit_record(
                actor=clerk if n % 2 else None,
                action=AuditAction.PII_READ,
                obj=clerk,
                object_label=f"label\\{n}\n",
                changed_fields=["b", "a"] if n % 2 else [],
                **values,
            )
    audit_seal()


def _format_4_lines() -> list[str]:
    with copied_lines("default", after=0, until=10**9) as lines:
        return [line.split(b"\t", 5)[5].decode() for line in lines]


@pytest.mark.postgres
def test_a_format_4_line_checks_as_the_mac_of_its_values_does(clerk):
    require_postgres()
    _awkward_trail(clerk)
    keys = mac_keys()
    assert keys is not None
    lines = _format_4_lines()
    assert len(lines) >= len(_AWKWARD)  # the clerk's own creation is on the trail too
    # Both MAC versions: an IPv6 address or a float keeps an event on version 1.
    assert {line.split("\t")[-2].startswith("v2") for line in lines} == {True, False}

    def plain_ok(line: str) -> bool:
        *canonical, key_id, nonce, mac = line.split("\t")
        text = "\t".join(canonical)
        return text_mac_problem((*values_from_text(text), key_id, nonce, mac)) is None

    for line in lines:
        assert line_mac_ok(keys, line.encode()) and plain_ok(line)
        fields = line.split("\t")
        # Any one field changed, and the two still agree (on "not authentic").
        for index, field in enumerate(fields):
            for changed in (field + "x", field[:-1], "\\N"):
                if changed == field:
                    continue
                altered = "\t".join([*fields[:index], changed, *fields[index + 1 :]])
                # An actor that is no longer a number, an escape format 2 never writes:
                # unreadable either way (the walk takes the general path for those).
                try:
                    expected = plain_ok(altered)
                except (ValueError, KeyError):
                    expected = False
                try:
                    fast = line_mac_ok(keys, altered.encode())
                except (ValueError, KeyError):
                    fast = False
                assert fast == expected, (index, changed)


def _report(
    monkeypatch: pytest.MonkeyPatch, *, fast: bool
) -> tuple[VerificationReport, list[bool]]:
    """A verification with segments of 3 seals, each tried on the fast path first (and
    whether it took each one to its end), or with the general path only."""
    segments: list[bool] = []
    fast_path = walk.Walk._fast

    def spy(self: walk.Walk, until: int) -> bool:
        segments.append(fast_path(self, until))
        return segments[-1]

    with monkeypatch.context() as patch:
        patch.setattr(walk, "SEGMENT", 3)
        patch.setattr(walk.Walk, "_fast", spy if fast else lambda self, until: False)
        return audit_verify(record=False), segments


def _summary(report: VerificationReport) -> tuple[Any, ...]:
    return (
        [(f.problem, f.seq, f.event_id, f.seen_at, f.message) for f in report.findings],
        report.events_checked,
        report.events_read,
        report.head_seq,
        report.head_hash,
        report.checkpoints_verified,
    )


def _alter(trail: list[AuditEvent]) -> None:
    unguarded(AuditEvent).filter(pk=trail[4].pk).update(reason="書き換え")


def _alter_and_recompute(trail: list[AuditEvent]) -> None:
    unguarded(AuditEvent).filter(pk=trail[6].pk).update(reason="書き換え")
    recompute_seals(7)


def _remove(trail: list[AuditEvent]) -> None:
    unguarded(AuditSeal).filter(event=trail[3])._raw_delete("default")
    unguarded(AuditEvent).filter(pk=trail[3].pk)._raw_delete("default")


def _remove_and_renumber(trail: list[AuditEvent]) -> None:
    _remove(trail)
    for seq in range(5, 13):
        unguarded(AuditSeal).filter(seq=seq).update(seq=seq - 1)


def _swap(trail: list[AuditEvent]) -> None:
    a, b = event_values(trail[2].pk), event_values(trail[8].pk)
    unguarded(AuditEvent).filter(pk=trail[2].pk).update(**b)
    unguarded(AuditEvent).filter(pk=trail[8].pk).update(**a)


def _mac_replaced(trail: list[AuditEvent]) -> None:
    """A MAC made up by someone without the key, the chain recomputed over it."""
    unguarded(AuditEvent).filter(pk=trail[5].pk).update(mac="0" * 64)
    prev = AuditSeal.objects.get(seq=6).prev_hash
    for seq, event_id, fmt in (
        AuditSeal.objects.filter(seq__gte=6).order_by("seq").values_list("seq", "event", "format")
    ):
        [(_, payload)] = payloads(AuditEvent.objects.filter(pk=event_id), fmt)
        prev = link_hash(prev, seq, canonical_of(payload))
        unguarded(AuditSeal).filter(seq=seq).update(hash=prev)
        unguarded(AuditSeal).filter(seq=seq + 1).update(prev_hash=prev)


def _format_downgraded(trail: list[AuditEvent]) -> None:
    unguarded(AuditSeal).filter(seq=9).update(format=2)


def _hash_in_capitals(trail: list[AuditEvent]) -> None:
    seal = AuditSeal.objects.get(seq=10)
    unguarded(AuditSeal).filter(seq=10).update(hash=seal.hash.upper())


def _tab_in_a_hash(trail: list[AuditEvent]) -> None:
    seal = AuditSeal.objects.get(seq=2)
    unguarded(AuditSeal).filter(seq=2).update(prev_hash=seal.prev_hash[:10] + "\t4")


@pytest.mark.postgres
@pytest.mark.parametrize(
    "tamper",
    [
        None,
        _alter,
        _alter_and_recompute,
        _remove,
        _remove_and_renumber,
        _swap,
        _mac_replaced,
        _format_downgraded,
        _hash_in_capitals,
        _tab_in_a_hash,
    ],
)
def test_the_fast_path_reports_what_the_general_path_reports(
    record_events: Callable[[int], list[AuditEvent]],
    monkeypatch: pytest.MonkeyPatch,
    tamper: Callable[[list[AuditEvent]], None] | None,
):
    require_postgres()
    trail = record_events(6)
    audit_seal()  # a signed checkpoint at seq 6
    trail += record_events(6)
    audit_seal()  # and one at seq 12
    if tamper is not None:
        with triggers_lifted():
            tamper(trail)

    with transaction.atomic():  # the walk's snapshot is this transaction's
        general, _ = _report(monkeypatch, fast=False)
        fast, segments = _report(monkeypatch, fast=True)

    assert _summary(fast) == _summary(general)
    assert any(segments)  # the fast path took some segment to its end
    if tamper is None:
        assert False not in segments
    assert fast.ok == (tamper is None)
    assert fast.events_checked == AuditSeal.objects.count()
