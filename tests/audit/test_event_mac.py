"""Each event is authenticated when the product writes it (apps.audit.mac): whoever can
only write to the database cannot get an event into the chain (issue 12, item 7).

The forger here has the application's database credentials and the append-only
triggers stay in place: a plain INSERT is all it takes to put an event in the table.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from apps.audit.chain import FORMAT_JSON, FORMAT_TEXT, MAC_FORMATS, canonical_of, link_hash
from apps.audit.checks import check_audit_keys
from apps.audit.context import RequestContext, bound_request_context
from apps.audit.mac import authenticate
from apps.audit.models import AuditAction, AuditEvent, AuditSeal
from apps.audit.models import VerificationProblem as P
from apps.audit.sealing import audit_seal, payloads
from apps.audit.services import audit_record
from apps.audit.verification import audit_verify
from tests.audit.conftest import hours_ago, triggers_lifted, unguarded

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])

TEST_KEY = "test-m1:" + base64.b64encode(b"\x05" * 32).decode()  # config/settings/test.py
OTHER_KEY = base64.b64encode(b"\x06" * 32).decode()


def raw_insert(event: AuditEvent) -> int:
    """INSERT the event's columns as they are, past the model (no MAC is made)."""
    fields = [f for f in AuditEvent._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    values = [f.get_db_prep_save(getattr(event, f.attname), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO audit_auditevent ({columns}) VALUES ({marks}) RETURNING id",  # noqa: S608
            values,
        )
        (event_id,) = cursor.fetchone()
    return int(event_id)


def forged(**overrides: Any) -> AuditEvent:
    """An event that claims a supervisor verified something, dated now: inside the
    grace period, so nothing about its time gives it away."""
    values: dict[str, Any] = {
        "action": AuditAction.APPLICATION_VERIFIED,
        "actor_username": "super_takahashi",
        "object_type": "applications.application",
        "object_id": "1",
        "details": {"version": 3},
    }
    return AuditEvent(**(values | overrides))


def verify_finding(event_id: int) -> str:
    report = audit_verify(record=False)
    assert not report.ok
    messages = [f.message for f in report.findings if f.problem == P.FORGED]
    assert messages, report.summary
    assert any(f"#{event_id} " in message for message in messages), messages
    return " ".join(messages)


def test_every_event_the_product_writes_carries_a_mac_and_is_sealed(record_events, clerk):
    events = record_events(3)

    result = audit_seal()

    assert all(e.mac_key_id == "test-m1" and len(e.mac) == 64 for e in events)
    assert result.sealed == AuditEvent.objects.count()
    assert result.refused == ()
    assert set(AuditSeal.objects.values_list("format", flat=True)) <= MAC_FORMATS
    assert audit_verify(record=False).ok


def test_an_event_inserted_by_sql_inside_the_grace_period_is_not_sealed_and_is_reported(
    record_events, capsys
):
    # given: genuine events before and after a row inserted behind the product's back
    record_events(2)
    audit_seal()
    forged_id = raw_insert(forged())
    after = record_events(1)[0]

    # when: the sealer runs (from cron: it says so and exits 1)
    with pytest.raises(SystemExit) as exited:
        call_command("audit_seal")

    # then: the genuine event is chained, the forged one is not, and verify names it
    assert exited.value.code == 1
    assert f"Not sealed: event #{forged_id}: it has no MAC" in capsys.readouterr().err
    assert not AuditSeal.objects.filter(event_id=forged_id).exists()
    assert AuditSeal.objects.filter(event=after).exists()
    assert "waiting to be sealed although it has no MAC" in verify_finding(forged_id)


def test_events_without_a_seal_are_told_apart_by_their_time_across_chunks(
    record_events, monkeypatch
):
    # The full verification reads the events without a seal a chunk of ids at a time
    # (trail_checks.without_seal): old ones are "inserted", waiting ones whose MAC
    # fails are "forged", waiting genuine ones are neither, whichever chunk they are in.
    from apps.audit import trail_checks

    monkeypatch.setattr(trail_checks, "CHUNK_SIZE", 2)
    record_events(1)
    audit_seal()
    old = [raw_insert(forged(occurred_at=hours_ago(3))) for _ in range(3)]
    genuine = record_events(2)  # waiting for the sealer, with their MACs
    waiting = [raw_insert(forged()) for _ in range(2)]

    report = audit_verify(record=False)

    inserted = [f for f in report.findings if f.problem == P.INSERTED]
    forgeries = [f for f in report.findings if f.problem == P.FORGED]
    assert [(f.event_id, f"({len(old)} such event(s))" in f.message) for f in inserted] == [
        (old[0], True)
    ]
    assert [(f.event_id, "(2 such event(s))" in f.message) for f in forgeries] == [
        (waiting[0], True)
    ]
    assert all(f.event_id not in {e.pk for e in genuine} for f in report.findings)


def test_an_event_with_a_mac_made_with_another_key_is_refused(record_events):
    record_events(1)
    audit_seal()
    event = forged()
    with override_settings(AUDIT_MAC_KEYS=f"test-m1:{OTHER_KEY}"):
        authenticate(event, vendor=connection.vendor)  # the right key id, the wrong key
    forged_id = raw_insert(event)

    result = audit_seal()

    assert result.refused == ((forged_id, "its MAC does not match: not written by the product"),)
    assert "its MAC does not match" in verify_finding(forged_id)


def test_an_event_with_an_unknown_key_id_is_refused(record_events):
    record_events(1)
    audit_seal()
    event = forged()
    with override_settings(AUDIT_MAC_KEYS=f"mine:{OTHER_KEY}", AUDIT_MAC_ACTIVE_KEY_ID="mine"):
        authenticate(event, vendor=connection.vendor)
    forged_id = raw_insert(event)

    result = audit_seal()

    assert [event_id for event_id, _why in result.refused] == [forged_id]
    assert "'mine' is not in AUDIT_MAC_KEYS" in verify_finding(forged_id)


def test_a_genuine_event_changed_before_it_was_sealed_is_refused(record_events):
    record_events(1)
    audit_seal()
    victim = record_events(1)[0]
    with triggers_lifted():
        unguarded(AuditEvent).filter(pk=victim.pk).update(details={"setting": "other"})

    result = audit_seal()

    assert [event_id for event_id, _why in result.refused] == [victim.pk]
    assert "its MAC does not match" in verify_finding(victim.pk)


def test_a_copy_of_a_genuine_event_is_refused_and_reported(record_events):
    # given: a genuine event, sealed, and a copy of it (MAC and all) inserted by SQL
    original = record_events(1)[0]
    audit_seal()
    copy_id = raw_insert(AuditEvent.objects.get(pk=original.pk))

    result = audit_seal()

    assert result.refused == ((copy_id, f"a copy of event #{original.pk} (same MAC)"),)
    assert f"is a copy of event #{original.pk}" in verify_finding(copy_id)


def test_a_copy_made_before_the_original_was_sealed_is_refused_too(record_events):
    record_events(1)
    audit_seal()
    original = record_events(1)[0]
    copy_id = raw_insert(AuditEvent.objects.get(pk=original.pk))

    result = audit_seal()

    assert result.refused == ((copy_id, f"a copy of event #{original.pk} (same MAC)"),)
    assert AuditSeal.objects.filter(event=original).exists()


def test_copies_among_many_events_sharing_their_instants_are_all_found(record_events, monkeypatch):
    # The full check compares only events that share an instant, read a chunk of
    # instants at a time: copies in a later chunk count too, and the first reported is
    # the copy of the earliest original.
    from apps.audit import trail_checks

    monkeypatch.setattr(trail_checks, "CHUNK_SIZE", 2)
    events = record_events(5)
    audit_seal()
    with triggers_lifted():
        for event in events:  # five instants, each shared by two events
            twin = record_events(1)[0]
            unguarded(AuditEvent).filter(pk=twin.pk).update(occurred_at=event.occurred_at)
    copies = [raw_insert(AuditEvent.objects.get(pk=events[i].pk)) for i in (4, 1)]

    report = audit_verify(record=False)

    messages = [f.message for f in report.findings if f.problem == P.FORGED]
    copied = [m for m in messages if "is a copy of" in m]
    assert copied == [
        f"event #{copies[1]} is a copy of event #{events[1].pk} (the same MAC and nonce; "
        "2 copies in all): replayed behind the product's back"
    ]


def test_a_same_mac_row_at_another_time_is_reported_as_forged(record_events):
    # Not a copy the MAC vouches for: the time is covered, so the row's own MAC fails.
    original = record_events(1)[0]
    audit_seal()
    row = AuditEvent.objects.get(pk=original.pk)
    row.occurred_at = hours_ago(2)
    moved_id = raw_insert(row)

    report = audit_verify(record=False)

    assert not report.ok
    assert any(
        f"#{moved_id} " in f.message for f in report.findings if f.problem in (P.FORGED, P.INSERTED)
    ), report.summary


def _seal_by_hand(event_id: int, fmt: int) -> int:
    """What a forger with database access does once the sealer refuses: write the seal."""
    head = AuditSeal.objects.order_by("-seq").first()
    assert head is not None
    [(_, payload)] = payloads(AuditEvent.objects.filter(pk=event_id), fmt)
    seq = head.seq + 1
    AuditSeal.objects.create(
        seq=seq,
        event_id=event_id,
        prev_hash=head.hash,
        hash=link_hash(head.hash, seq, canonical_of(payload)),
        format=fmt,
    )
    return seq


def test_a_forged_event_sealed_by_hand_is_named_at_its_seq(record_events):
    record_events(2)
    audit_seal()
    event = forged()
    event.mac_key_id, event.mac_nonce, event.mac = "test-m1", "00" * 12, "0" * 64
    forged_id = raw_insert(event)
    seq = _seal_by_hand(forged_id, AuditSeal.objects.get(seq=1).format)

    report = audit_verify(record=False)

    first = report.first
    assert first is not None
    assert (first.problem, first.seq, first.event_id) == (P.FORGED, seq, forged_id)
    assert "its MAC does not match" in first.message


def test_an_event_sealed_by_hand_in_a_format_without_mac_after_macs_began_is_named(
    record_events,
):
    record_events(2)
    audit_seal()
    forged_id = raw_insert(forged())
    legacy = FORMAT_TEXT if connection.vendor == "postgresql" else FORMAT_JSON
    seq = _seal_by_hand(forged_id, legacy)

    first = audit_verify(record=False).first

    assert first is not None
    assert (first.problem, first.seq, first.event_id) == (P.FORGED, seq, forged_id)
    assert "sealed without a MAC" in first.message
    assert "from seq 1 on" in first.message


def test_a_sealed_event_altered_with_its_seal_recomputed_is_named_by_its_mac(record_events):
    # The chain alone would only say "rewritten somewhere before the next checkpoint".
    events = record_events(5)
    audit_seal()
    victim = AuditSeal.objects.get(event=events[2])
    with triggers_lifted():
        unguarded(AuditEvent).filter(pk=events[2].pk).update(reason="書き換え")
        [(_, payload)] = payloads(AuditEvent.objects.filter(pk=events[2].pk), victim.format)
        digest = link_hash(victim.prev_hash, victim.seq, canonical_of(payload))
        unguarded(AuditSeal).filter(seq=victim.seq).update(hash=digest)

    findings = audit_verify(record=False).findings

    assert (P.FORGED, victim.seq, events[2].pk) in [
        (f.problem, f.seq, f.event_id) for f in findings
    ]


def test_events_sealed_before_macs_existed_still_verify(record_events, monkeypatch):
    # given: a chain begun before this change: events without a MAC, sealed in format 1/2
    legacy = FORMAT_TEXT if connection.vendor == "postgresql" else FORMAT_JSON
    old = [raw_insert(forged(object_id=str(n), occurred_at=hours_ago(0.5))) for n in range(3)]
    monkeypatch.setattr("apps.audit.sealing.sealing_format", lambda connection: legacy)
    audit_seal()
    monkeypatch.undo()
    # when: the product, now writing MACs, carries on
    record_events(3)
    audit_seal()

    # then
    formats = list(AuditSeal.objects.order_by("seq").values_list("format", flat=True))
    assert formats[:3] == [legacy] * 3
    assert set(formats[3:]) <= MAC_FORMATS
    assert set(AuditEvent.objects.filter(pk__in=old).values_list("mac", flat=True)) == {""}
    assert audit_verify(record=False).ok


def test_after_a_key_rotation_events_under_the_old_key_still_verify(record_events):
    # given: events under the first key
    old = record_events(2)
    audit_seal()
    # when: a second key is added and made active
    rotated = {
        "AUDIT_MAC_KEYS": f"{TEST_KEY},test-m2:{OTHER_KEY}",
        "AUDIT_MAC_ACTIVE_KEY_ID": "test-m2",
    }
    with override_settings(**rotated):
        new = record_events(2)
        assert audit_seal().refused == ()
        # then: both verify, each under its own key id
        assert audit_verify(record=False).ok
    assert {e.mac_key_id for e in old} == {"test-m1"}
    assert {e.mac_key_id for e in new} == {"test-m2"}


def test_dropping_a_key_while_its_events_are_kept_is_a_finding(record_events):
    events = record_events(2)
    audit_seal()

    with override_settings(
        AUDIT_MAC_KEYS=f"test-m2:{OTHER_KEY}", AUDIT_MAC_ACTIVE_KEY_ID="test-m2"
    ):
        first = audit_verify(record=False).first

    assert first is not None
    assert (first.problem, first.event_id) == (P.FORGED, events[0].pk)
    assert "'test-m1' is not in AUDIT_MAC_KEYS" in first.message


def test_the_mac_survives_what_each_database_does_to_the_values(clerk):
    # JSON with integral floats, keys that are not strings, tuples, non-ASCII, control
    # characters; an IPv6 address.
    context = RequestContext(request_id="r\t1", client_ip="2001:db8::1", user_agent="UA\x01")
    with bound_request_context(context):
        audit_record(
            actor=clerk,
            action=AuditAction.CONFIGURATION_CHANGED,
            obj=clerk,
            changed_fields=("b", "a"),
            details={
                "big": 1e20,
                "two": 2.0,
                "half": 0.5,
                "small": 1e-7,
                "nested": {"list": (1, "二", None, True), "長いキー": {"z": [], "a": {}}, 7: "7"},
                "control": "a\x1fb\u2028c",
            },
            reason="理由\\n",
        )

    result = audit_seal()

    assert result.refused == ()
    assert audit_verify(record=False).ok


def test_without_a_mac_key_no_event_can_be_written(db):
    with override_settings(AUDIT_MAC_KEYS="", AUDIT_MAC_ACTIVE_KEY_ID=""):
        with pytest.raises(ImproperlyConfigured, match="AUDIT_MAC_KEYS"):
            audit_record(actor=None, action=AuditAction.EXPORT)
        warnings = [m.id for m in check_audit_keys()]
    assert "audit.W002" in warnings
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


@pytest.mark.parametrize(
    ("keys", "active"),
    [
        ("test-m1", "test-m1"),
        ("test-m1:not base64!", "test-m1"),
        ("test-m1:" + base64.b64encode(b"short").decode(), "test-m1"),
        (TEST_KEY, "other"),
        (TEST_KEY, ""),
        (f"{TEST_KEY},{TEST_KEY}", "test-m1"),
        ("bad id:" + OTHER_KEY, "bad id"),
    ],
)
def test_a_malformed_mac_key_setting_is_an_error_that_names_no_key_material(keys, active):
    with override_settings(AUDIT_MAC_KEYS=keys, AUDIT_MAC_ACTIVE_KEY_ID=active):
        errors = [m for m in check_audit_keys() if m.id == "audit.E001"]

    assert len(errors) == 1
    assert OTHER_KEY not in errors[0].msg
    assert "BQUF" not in errors[0].msg  # the test key's base64
