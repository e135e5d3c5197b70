"""The hourly verification starts at the last verified signed checkpoint: it reads the
events written since, still finds tampering among them and a forged starting point,
and leaves the events before it to the weekly full walk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from apps.audit import tasks
from apps.audit.incremental import audit_verify_incremental
from apps.audit.models import AuditCheckpoint, AuditEvent, AuditVerification
from apps.audit.models import VerificationProblem as P
from apps.audit.sealing import audit_seal
from apps.audit.verification import audit_verify
from tests.audit.conftest import triggers_lifted, unguarded
from tests.audit.test_event_mac import raw_insert

pytestmark = pytest.mark.django_db(databases=["default", "vault"])


@pytest.fixture
def verified_then_more(record_events):
    """Five events sealed and verified (checkpoint at seq 5), then three more sealed."""
    old = record_events(5)
    audit_seal()
    assert audit_verify(record=True).ok
    new = record_events(3)
    audit_seal()
    return old, new


def checkpoint_file(checkpoint_dir: Path, seq: int) -> Path:
    # Found by name under the directory, wherever apps.audit.checkpoints puts it.
    name = AuditCheckpoint.objects.get(seq=seq).file_name
    return next(checkpoint_dir.rglob(name))


def test_it_reads_only_the_events_after_the_last_verified_checkpoint(verified_then_more):
    report = audit_verify_incremental(record=False)

    assert report.ok, report.summary
    assert report.from_seq == 5
    assert (report.events_checked, report.events_read, report.head_seq) == (3, 3, 8)


def test_a_change_to_an_old_event_is_left_to_the_full_walk(verified_then_more):
    # given: an event before the starting checkpoint edited, no seal recomputed
    old, _new = verified_then_more
    with triggers_lifted():
        unguarded(AuditEvent).filter(pk=old[1].pk).update(reason="書き換え")

    incremental = audit_verify_incremental(record=False)
    full = audit_verify(record=False)

    # then: the hourly run did not read it again; the weekly one finds it
    assert incremental.ok and incremental.events_read == 3
    assert full.first is not None
    assert (full.first.problem, full.first.event_id) == (P.ALTERED, old[1].pk)


def test_a_change_to_a_new_event_is_found(verified_then_more):
    _old, new = verified_then_more
    with triggers_lifted():
        unguarded(AuditEvent).filter(pk=new[1].pk).update(reason="書き換え")

    report = audit_verify_incremental(record=False)

    assert report.first is not None
    assert (report.first.problem, report.first.event_id) == (P.ALTERED, new[1].pk)


def test_a_copy_of_an_old_event_inserted_since_is_found(verified_then_more):
    old, _new = verified_then_more
    copy_id = raw_insert(AuditEvent.objects.get(pk=old[0].pk))

    report = audit_verify_incremental(record=False)

    messages = [f.message for f in report.findings if f.problem == P.FORGED]
    assert any(f"event #{copy_id} is a copy of event #{old[0].pk}" in m for m in messages)


def test_a_starting_checkpoint_with_a_forged_signature_is_refused(
    verified_then_more, checkpoint_dir
):
    path = checkpoint_file(checkpoint_dir, 5)
    content = json.loads(path.read_text())
    content["signature"] = content["signature"][::-1]
    path.write_text(json.dumps(content))

    report = audit_verify_incremental(record=False)

    assert report.first is not None
    assert report.first.problem == P.CHECKPOINT_INVALID
    assert "signature does not verify" in report.first.message
    assert report.events_read == 0


def test_a_failed_run_does_not_move_the_starting_point(verified_then_more, record_events):
    _old, new = verified_then_more
    with triggers_lifted():
        unguarded(AuditEvent).filter(pk=new[0].pk).update(reason="書き換え")
    assert not audit_verify_incremental(record=True).ok
    record_events(2)
    audit_seal()

    report = audit_verify_incremental(record=True)

    assert report.from_seq == 5
    assert report.first is not None and report.first.event_id == new[0].pk


def test_the_next_run_starts_where_the_last_good_one_ended(verified_then_more, record_events):
    assert audit_verify_incremental(record=True).ok  # verifies up to seq 8
    record_events(2)
    audit_seal()

    report = audit_verify_incremental(record=False)

    assert report.ok, report.summary
    assert (report.from_seq, report.events_read, report.head_seq) == (8, 2, 10)


def test_without_a_verified_run_the_whole_chain_is_verified(record_events):
    record_events(4)
    audit_seal()

    report = audit_verify_incremental(record=True)

    assert report.ok, report.summary
    assert (report.from_seq, report.events_checked) == (None, 4)
    assert AuditVerification.objects.get().ok


def test_the_hourly_task_is_incremental_and_the_weekly_one_full(verified_then_more):
    assert tasks.verify() == {"ok": True, "events_checked": 3, "from_seq": 5}
    assert tasks.verify_full() == {"ok": True, "events_checked": 8, "from_seq": None}
    schedule = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"audit.verify", "audit.verify_full"} <= schedule


def test_the_command_verifies_incrementally_when_asked(verified_then_more, capsys):
    call_command("audit_verify", "--incremental", "--no-record")

    assert capsys.readouterr().out.startswith("audit chain OK from checkpoint seq 5: 3 events")
