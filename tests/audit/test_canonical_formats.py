"""Format 2 of the canonical bytes (PostgreSQL): the database's text rendering of an
event, hashed as is; seals written in format 1 before it still verify. Formats 3 and 4
are 1 and 2 followed by the event's MAC."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pytest
from django.db import connection

from apps.audit.chain import (
    FORMAT_JSON,
    FORMAT_JSON_MAC,
    FORMAT_TEXT,
    FORMAT_TEXT_MAC,
    canonical_text,
    sealing_format,
)
from apps.audit.context import RequestContext, bound_request_context
from apps.audit.models import AuditAction, AuditEvent, AuditSeal
from apps.audit.models import VerificationProblem as P
from apps.audit.sealing import audit_seal
from apps.audit.services import audit_record
from apps.audit.verification import audit_verify
from tests.audit.conftest import triggers_lifted, unguarded
from tests.conftest import on_postgres, require_postgres

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


def _awkward_event(actor: Any) -> AuditEvent:
    context = RequestContext(request_id="req-1", client_ip="192.0.2.7", user_agent="UA\tx")
    with bound_request_context(context):
        return audit_record(
            actor=actor,
            action=AuditAction.PII_READ,
            obj=actor,
            changed_fields=["b", "a"],
            details={"purpose": "construction", "fields": ["phone"], "日本": "語"},
            reason="現地\\確認\tforged\tcolumns\nnext line\r",
        )


def test_postgresql_seals_in_format_4_and_sqlite_in_format_3(record_events):
    record_events(2)
    audit_seal()

    expected = FORMAT_TEXT_MAC if on_postgres() else FORMAT_JSON_MAC
    assert sealing_format(connection) == expected
    assert set(AuditSeal.objects.values_list("format", flat=True)) == {expected}


@pytest.mark.postgres
def test_format_2_is_the_documented_text(clerk):
    require_postgres()
    event = _awkward_event(clerk)
    audit_seal()
    seal = AuditSeal.objects.get(event=event)
    event = AuditEvent.objects.get(pk=event.pk)

    # Recomputed from the definition in apps/audit/chain.py alone.
    occurred = event.occurred_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    text = "\t".join(
        [
            str(event.pk),
            occurred,
            str(clerk.pk),
            "clerk_sato",
            "td",
            '["clerk"]',
            "pii.read",
            "accounts.user",
            str(clerk.pk),
            event.object_label,
            '["a", "b"]',
            '{"fields": ["phone"], "日本": "語", "purpose": "construction"}',
            "現地\\\\確認\\tforged\\tcolumns\\nnext line\\r",
            "req-1",
            "192.0.2.7",
            "UA\\tx",
        ]
    )
    mac = f"\t{event.mac_key_id}\t{event.mac_nonce}\t{event.mac}"
    expected = hashlib.sha256(
        bytes.fromhex(seal.prev_hash) + seal.seq.to_bytes(8, "big") + (text + mac).encode()
    ).hexdigest()
    rendered = AuditEvent.objects.annotate(c=canonical_text()).values_list("c", flat=True)
    assert rendered.get(pk=event.pk) == text
    assert seal.format == FORMAT_TEXT_MAC
    assert seal.hash == expected


@pytest.mark.postgres
def test_format_2_writes_a_missing_actor_and_address_as_backslash_n():
    require_postgres()
    event = audit_record(actor=None, action=AuditAction.EXPORT, reason="\\N")

    text = AuditEvent.objects.annotate(c=canonical_text()).values_list("c", flat=True)
    columns = text.get(pk=event.pk).split("\t")

    assert len(columns) == 16
    assert columns[2] == "\\N"  # actor_id
    assert columns[14] == "\\N"  # client_ip
    assert columns[12] == "\\\\N"  # a reason that reads \N is not a null


@pytest.mark.postgres
def test_seals_of_format_1_and_2_verify_side_by_side_and_tampering_is_found_in_each(
    record_events, monkeypatch
):
    require_postgres()
    # given: a chain begun in format 1 (before format 2 existed), continued in format 2
    monkeypatch.setattr("apps.audit.sealing.sealing_format", lambda connection: FORMAT_JSON)
    old = record_events(3)
    audit_seal()
    monkeypatch.undo()
    new = record_events(3)
    audit_seal()
    formats = list(AuditSeal.objects.order_by("seq").values_list("format", flat=True))
    assert formats == [1, 1, 1, 4, 4, 4]
    assert audit_verify(record=False).ok

    # when: one event of each format is altered
    with triggers_lifted():
        unguarded(AuditEvent).filter(pk=old[1].pk).update(reason="changed")
        unguarded(AuditEvent).filter(pk=new[1].pk).update(details={"setting": "changed"})
    report = audit_verify(record=False)

    # then: both are found, each at its own seq
    altered = [(f.problem, f.event_id) for f in report.findings]
    assert (P.ALTERED, old[1].pk) in altered
    assert (P.ALTERED, new[1].pk) in altered
    assert report.first is not None and report.first.event_id == old[1].pk


def test_a_seal_whose_format_is_changed_no_longer_verifies(record_events):
    events = record_events(2)
    audit_seal()
    seal = AuditSeal.objects.get(event=events[0])
    # the other format on PostgreSQL; on SQLite format 2, which SQLite never seals in
    other = FORMAT_JSON if seal.format == FORMAT_TEXT else FORMAT_TEXT

    with triggers_lifted():
        unguarded(AuditSeal).filter(seq=seal.seq).update(format=other)
    report = audit_verify(record=False)

    assert not report.ok
    assert report.first is not None and report.first.seq == seal.seq
    assert report.first.problem == P.ALTERED


def test_a_seal_naming_a_format_that_does_not_exist_is_a_finding(record_events):
    events = record_events(2)
    audit_seal()

    with triggers_lifted():
        unguarded(AuditSeal).filter(event=events[1]).update(format=9)
    report = audit_verify(record=False)

    assert report.first is not None
    assert (report.first.problem, report.first.event_id) == (P.ALTERED, events[1].pk)
