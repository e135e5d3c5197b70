"""The sealer: every committed event gets one place in a gapless hash chain."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from django.core.management import call_command

from apps.audit.chain import CANONICAL_COLUMNS, MAC_COLUMNS
from apps.audit.models import AuditAction, AuditEvent, AuditSeal
from apps.audit.sealing import audit_seal
from apps.audit.services import audit_record
from apps.audit.verification import audit_verify
from tests.audit.conftest import hours_ago

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


def test_sealing_gives_every_event_one_gapless_position_in_id_order(record_events):
    events = record_events(5)

    result = audit_seal()

    seals = list(AuditSeal.objects.order_by("seq").values_list("seq", "event_id"))
    assert seals == [(n + 1, e.pk) for n, e in enumerate(events)]
    assert result.sealed == 5
    assert result.head_seq == 5


def test_each_seal_links_to_the_previous_one(record_events):
    record_events(3)
    audit_seal()

    seals = list(AuditSeal.objects.order_by("seq"))
    assert [s.prev_hash for s in seals[1:]] == [s.hash for s in seals[:-1]]
    assert len(seals[0].prev_hash) == 64  # the chain id, random
    assert len({s.hash for s in seals}) == 3


def test_the_hash_follows_the_documented_format_1(clerk, monkeypatch):
    # given: an event with every kind of column filled, sealed in format 1 (every seal on
    # SQLite; the older seals on PostgreSQL)
    monkeypatch.setattr("apps.audit.sealing.sealing_format", lambda connection: 1)
    event = audit_record(
        actor=clerk,
        action=AuditAction.PII_READ,
        obj=clerk,
        changed_fields=["b", "a"],
        details={"purpose": "construction", "fields": ["phone"]},
        reason="現地確認",
    )
    audit_seal()
    seal = AuditSeal.objects.get(event=event)
    assert seal.format == 1
    event = AuditEvent.objects.get(pk=event.pk)
    # when: an outside verifier recomputes it from docs/audit-trail.md's description alone
    canonical = json.dumps(
        {
            "id": event.pk,
            "occurred_at": event.occurred_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "actor_id": clerk.pk,
            "actor_username": "clerk_sato",
            "actor_division": "td",
            "actor_roles": event.actor_roles,
            "action": "pii.read",
            "object_type": "accounts.user",
            "object_id": str(clerk.pk),
            "object_label": event.object_label,
            "changed_fields": ["a", "b"],
            "details": {"fields": ["phone"], "purpose": "construction"},
            "reason": "現地確認",
            "request_id": "",
            "client_ip": None,
            "user_agent": "",
        },
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    expected = hashlib.sha256(
        bytes.fromhex(seal.prev_hash) + seal.seq.to_bytes(8, "big") + canonical
    ).hexdigest()
    # then
    assert seal.hash == expected


def test_every_column_of_an_event_is_covered_by_its_hash():
    columns = {f.attname for f in AuditEvent._meta.concrete_fields}

    # The MAC columns follow the canonical bytes in formats 3 and 4.
    assert set(CANONICAL_COLUMNS) | set(MAC_COLUMNS) == columns, (
        "a new AuditEvent column needs a deliberate place in the chain (apps/audit/chain.py)"
    )


def test_an_event_that_commits_late_is_sealed_after_the_ones_already_sealed(record_events):
    # given: two events sealed while the transaction holding a lower id was still open
    early, _later = record_events(2)
    audit_seal()
    late = AuditEvent(id=early.pk - 1, action=AuditAction.EXPORT, occurred_at=hours_ago(0.1))
    late.save(force_insert=True)

    audit_seal()

    assert AuditSeal.objects.get(event=late).seq == 3
    assert audit_verify().ok


def test_sealing_again_with_nothing_new_changes_nothing(record_events):
    record_events(2)
    first = audit_seal()

    again = audit_seal()

    assert again.sealed == 0
    assert (again.head_seq, again.head_hash) == (first.head_seq, first.head_hash)
    assert again.checkpoint is None
    assert AuditSeal.objects.count() == 2


def test_sealing_works_through_many_batches(record_events):
    record_events(7)

    result = audit_seal(batch_size=3)

    assert result.sealed == 7
    assert list(AuditSeal.objects.values_list("seq", flat=True)) == list(range(1, 8))
    assert audit_verify().ok


def test_an_unsealed_event_far_behind_the_head_is_left_for_verify_to_report(record_events):
    record_events(1)
    audit_seal()
    straggler = AuditEvent(action=AuditAction.EXPORT, occurred_at=hours_ago(3))
    straggler.save(force_insert=True)

    assert audit_seal().sealed == 0
    assert audit_seal(look_at_all=True).sealed == 1
    assert AuditSeal.objects.get(event=straggler).seq == 2


def test_the_seal_command_reports_the_head(record_events, capsys):
    record_events(2)

    call_command("audit_seal")

    out = capsys.readouterr().out
    head = AuditSeal.objects.get(seq=2)
    assert f"Sealed 2 event(s); head seq 2 hash {head.hash}" in out
    assert "checkpoint-000000000002.json written" in out
