"""`audit_verify` detects and locates each way of tampering with the trail.

Each test plays someone with full access to the database: they lift the triggers,
tamper with raw SQL or an unguarded QuerySet, and put the triggers back.
"""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import transaction

from apps.audit.models import AuditAction, AuditEvent, AuditSeal
from apps.audit.models import VerificationProblem as P
from apps.audit.sealing import audit_seal
from apps.audit.verification import audit_verify
from tests.audit.conftest import (
    event_values,
    first_finding,
    hours_ago,
    recompute_seals,
    triggers_lifted,
    unguarded,
)

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


@pytest.fixture
def trail(record_events) -> list[AuditEvent]:
    """Ten sealed events with a signed checkpoint of the head."""
    events = record_events(10)
    audit_seal()
    return events


def verify_fails(capsys) -> str:
    with pytest.raises(SystemExit) as exited:
        call_command("audit_verify")
    assert exited.value.code == 1
    err = capsys.readouterr().err
    return err.splitlines()[0]


def test_an_untouched_trail_verifies_with_a_one_line_summary(trail, capsys):
    call_command("audit_verify")

    head = AuditSeal.objects.get(seq=10)
    assert capsys.readouterr().out == (
        f"audit chain OK: 10 events, head seq 10 hash {head.hash}, 1 checkpoints verified\n"
    )


def test_an_altered_event_is_named_with_its_position(trail, capsys):
    victim = trail[3]
    with triggers_lifted():
        unguarded(AuditEvent).filter(pk=victim.pk).update(reason="書き換え")

    line = verify_fails(capsys)

    assert line.startswith("audit chain FAILED: altered:")
    assert f"event #{victim.pk} at seq 4 was altered" in line
    report = audit_verify()
    assert [(f.problem, f.seq, f.event_id) for f in report.findings] == [(P.ALTERED, 4, victim.pk)]


@pytest.mark.parametrize(
    "column, value",
    [("occurred_at", hours_ago(5)), ("actor_username", "someone_else"), ("client_ip", "10.0.0.9")],
)
def test_any_altered_column_is_detected(trail, column, value):
    with triggers_lifted():
        unguarded(AuditEvent).filter(pk=trail[0].pk).update(**{column: value})

    assert first_finding().event_id == trail[0].pk


def test_an_event_altered_with_its_own_seal_recomputed_is_still_named(trail):
    with triggers_lifted():
        unguarded(AuditEvent).filter(pk=trail[5].pk).update(reason="書き換え")
        recompute_seals(from_seq=6, to_seq=6)  # but not the ones after it

    first = first_finding()

    assert (first.problem, first.seq, first.event_id) == (P.ALTERED, 6, trail[5].pk)


def test_a_removed_event_is_named_by_the_gap_it_leaves(trail, capsys):
    victim = trail[4]
    with triggers_lifted():
        unguarded(AuditSeal).filter(event=victim)._raw_delete("default")
        unguarded(AuditEvent).filter(pk=victim.pk)._raw_delete("default")

    line = verify_fails(capsys)

    assert line.startswith("audit chain FAILED: removed:")
    assert f"seq 5 missing: event #{trail[5].pk} at seq 6 follows event #{trail[3].pk}" in line


def test_a_removed_event_with_the_chain_renumbered_behind_it_is_located(trail):
    victim = trail[4]
    with triggers_lifted():
        unguarded(AuditSeal).filter(event=victim)._raw_delete("default")
        unguarded(AuditEvent).filter(pk=victim.pk)._raw_delete("default")
        for seq in range(6, 11):
            unguarded(AuditSeal).filter(seq=seq).update(seq=seq - 1)

    first = first_finding()

    assert (first.problem, first.seq, first.event_id) == (P.REMOVED, 5, trail[5].pk)
    assert "1 event(s) removed" in first.message


def test_an_event_row_gone_from_under_its_seal_is_named(trail):
    victim = trail[2]
    # The seal's foreign key is checked at commit, so the row can only be gone inside a
    # transaction (or with foreign keys switched off); it is rolled back afterwards.
    with triggers_lifted(), transaction.atomic():
        unguarded(AuditEvent).filter(pk=victim.pk)._raw_delete("default")
        first = first_finding(record=False)
        transaction.set_rollback(True)

    assert (first.problem, first.seq, first.event_id) == (P.REMOVED, 3, victim.pk)
    assert "is missing" in first.message


def test_an_inserted_event_is_named(trail, capsys):
    forged = AuditEvent(
        action=AuditAction.APPLICATION_VERIFIED,
        actor_username="super_takahashi",
        occurred_at=hours_ago(30),
    )
    forged.save(force_insert=True)
    audit_seal()  # the sealer does not pick up an event dated long before the head

    line = verify_fails(capsys)

    assert line.startswith("audit chain FAILED: inserted:")
    assert f"event #{forged.pk} is not in the chain" in line


def test_events_swapped_are_reported_out_of_order(trail, capsys):
    first_one, second_one = trail[2], trail[7]
    a, b = event_values(first_one.pk), event_values(second_one.pk)
    with triggers_lifted():
        unguarded(AuditEvent).filter(pk=first_one.pk).update(**b)
        unguarded(AuditEvent).filter(pk=second_one.pk).update(**a)

    line = verify_fails(capsys)

    assert line.startswith("audit chain FAILED: out_of_order:")
    assert f"event #{first_one.pk} at seq 3" in line
    assert f"now in event #{second_one.pk} at seq 8" in line


def test_seals_swapped_are_reported_out_of_order(trail, record_events):
    parking = record_events(1)[0]  # the seal's event must stay unique at every step
    with triggers_lifted():
        unguarded(AuditSeal).filter(seq=2).update(event_id=parking.pk)
        unguarded(AuditSeal).filter(seq=9).update(event_id=trail[1].pk)
        unguarded(AuditSeal).filter(seq=2).update(event_id=trail[8].pk)

    first = first_finding()

    assert (first.problem, first.seq, first.event_id) == (P.OUT_OF_ORDER, 2, trail[8].pk)
    assert f"now in event #{trail[1].pk} at seq 9" in first.message


def test_a_whole_table_rewritten_with_consistent_hashes_is_caught_by_the_checkpoint(trail, capsys):
    # given: an event altered and every later hash recomputed: the chain is consistent
    with triggers_lifted():
        unguarded(AuditEvent).filter(pk=trail[6].pk).update(reason="書き換え")
        recompute_seals(from_seq=7)

    line = verify_fails(capsys)

    # then: only the signed checkpoint outside the database disagrees
    assert line == (
        "audit chain FAILED: rewritten: checkpoint checkpoint-000000000010.json does not "
        f"match the chain at seq 10: events were changed and the chain recomputed somewhere "
        f"from event #{trail[0].pk} at seq 1 to event #{trail[9].pk} at seq 10"
    )
    assert [f.problem for f in audit_verify().findings] == [P.REWRITTEN]


def test_a_rewrite_is_located_between_the_last_good_and_the_first_bad_checkpoint(
    trail, record_events
):
    record_events(5)
    audit_seal()  # checkpoints at seq 10 and 15
    with triggers_lifted():
        event = AuditSeal.objects.get(seq=12).event_id
        unguarded(AuditEvent).filter(pk=event).update(reason="書き換え")
        recompute_seals(from_seq=12)

    report = audit_verify()

    assert report.checkpoints_verified == 1
    assert [(f.problem, f.seq) for f in report.findings] == [(P.REWRITTEN, 11)]
    assert "at seq 11 to event" in report.summary


def test_events_cut_off_the_end_are_caught_by_the_checkpoint(trail):
    with triggers_lifted():
        for seq in (10, 9):
            event = AuditSeal.objects.get(seq=seq).event_id
            unguarded(AuditSeal).filter(seq=seq)._raw_delete("default")
            unguarded(AuditEvent).filter(pk=event)._raw_delete("default")

    first = first_finding()

    # From the database alone a cut-off end and a restore from an older backup look the
    # same: its own problem, naming both.
    assert (first.problem, first.seq) == (P.RESTORED, 9)
    assert "chain ends at seq 8" in first.message
    assert "the events after seq 8 were removed" in first.message


def test_lifted_triggers_are_themselves_a_finding(trail):
    from django.db import connection

    from apps.audit.db import drop_triggers, install_triggers

    drop_triggers(connection, ["audit_auditseal"])
    try:
        report = audit_verify(record=False)
    finally:
        install_triggers(connection)

    assert [f.problem for f in report.findings] == [P.UNPROTECTED]
    assert "audit_auditseal_no_update" in report.summary


def test_a_removal_in_a_long_chain_renumbered_behind_it_is_one_finding_with_a_count(
    record_events,
):
    # given a chain of 320 events sealed in four runs, each with its signed checkpoint
    for _ in range(4):
        record_events(80)
        audit_seal()
    victim = AuditSeal.objects.get(seq=100)
    # when one event is removed and every seal behind it moved up one place
    with triggers_lifted():
        unguarded(AuditSeal).filter(seq=100)._raw_delete("default")
        unguarded(AuditEvent).filter(pk=victim.event_id)._raw_delete("default")
        for seq in range(101, 321):
            unguarded(AuditSeal).filter(seq=seq).update(seq=seq - 1)

    report = audit_verify(record=False)

    # then the removal is the one finding, with the untouched events after it counted
    assert len(report.findings) == 1, report.summary
    first = report.first
    assert first is not None
    assert (first.problem, first.seq) == (P.REMOVED, 100)
    assert "1 event(s) removed" in first.message
    assert "the 219 event(s) after it were renumbered with it" in first.message
    assert report.more_findings == 0
    # the checkpoints after the removal still match the events they signed
    assert report.checkpoints_verified == 4
