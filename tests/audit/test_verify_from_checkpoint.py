"""`audit_verify --from-checkpoint`: verify what follows a signed checkpoint, so the
events up to it can be archived out of the live database."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.audit.checkpoints import file_name
from apps.audit.models import AuditEvent, AuditSeal
from apps.audit.models import VerificationProblem as P
from apps.audit.sealing import audit_seal
from apps.audit.verification import audit_verify
from tests.audit.conftest import recompute_seals, triggers_lifted, unguarded

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


@pytest.fixture
def two_checkpoints(record_events):
    """Six events: a checkpoint at seq 3, another at seq 6."""
    first = record_events(3)
    audit_seal()
    later = record_events(3)
    audit_seal()
    return first + later


def archive_up_to(seq: int, checkpoint_dir: Path, archive: Path) -> Path:
    """What docs/audit-trail.md's archiving does outside the product: the events and seals up to
    a checkpoint leave the live database, their checkpoint files go to the archive."""
    archive.mkdir()
    for path in sorted(checkpoint_dir.glob("checkpoint-*.json")):
        if int(path.stem.split("-")[1]) <= seq:
            shutil.move(path, archive / path.name)
    event_ids = list(AuditSeal.objects.filter(seq__lte=seq).values_list("event_id", flat=True))
    with triggers_lifted():
        unguarded(AuditSeal).filter(seq__lte=seq).delete()
        unguarded(AuditEvent).filter(pk__in=event_ids).delete()
    return archive / file_name(seq)


def test_after_archiving_only_the_rest_verifies_from_the_archived_checkpoint(
    two_checkpoints, checkpoint_dir, tmp_path, capsys
):
    archived = archive_up_to(3, checkpoint_dir, tmp_path / "archive")
    assert not audit_verify(record=False).ok  # from seq 1: events are missing

    call_command("audit_verify", "--from-checkpoint", str(archived))

    out = capsys.readouterr().out
    assert out.startswith("audit chain OK from checkpoint seq 3: 3 events, head seq 6")
    assert "1 checkpoints verified" in out


def test_a_checkpoint_can_be_named_by_its_seq(two_checkpoints, checkpoint_dir):
    report = audit_verify(record=False, from_checkpoint="3")

    assert report.ok, report.summary
    assert (report.from_seq, report.events_checked, report.head_seq) == (3, 3, 6)


def test_a_change_after_the_checkpoint_is_still_found(two_checkpoints, checkpoint_dir, tmp_path):
    archived = archive_up_to(3, checkpoint_dir, tmp_path / "archive")
    with triggers_lifted():
        unguarded(AuditEvent).filter(pk=two_checkpoints[4].pk).update(reason="changed")

    with pytest.raises(SystemExit) as exited:
        call_command("audit_verify", "--from-checkpoint", str(archived))

    assert exited.value.code == 1
    report = audit_verify(record=False, from_checkpoint=str(archived))
    assert report.first is not None
    assert (report.first.problem, report.first.event_id) == (P.ALTERED, two_checkpoints[4].pk)


def test_a_chain_recomputed_after_the_checkpoint_is_caught_by_the_next_one(
    two_checkpoints, checkpoint_dir, tmp_path
):
    archived = archive_up_to(3, checkpoint_dir, tmp_path / "archive")
    with triggers_lifted():
        unguarded(AuditEvent).filter(pk=two_checkpoints[3].pk).update(reason="forged")
        recompute_seals(4)

    report = audit_verify(record=False, from_checkpoint=str(archived))

    assert report.first is not None
    assert report.first.problem == P.REWRITTEN
    assert report.first.event_id == two_checkpoints[3].pk


def test_the_first_event_after_the_checkpoint_must_link_to_its_hash(
    two_checkpoints, checkpoint_dir, tmp_path
):
    archived = archive_up_to(3, checkpoint_dir, tmp_path / "archive")
    with triggers_lifted():
        unguarded(AuditSeal).filter(seq=4).update(prev_hash="0" * 64)

    report = audit_verify(record=False, from_checkpoint=str(archived))

    assert report.first is not None
    assert (report.first.seq, report.first.event_id) == (4, two_checkpoints[3].pk)


def test_a_starting_checkpoint_that_was_edited_is_refused(two_checkpoints, checkpoint_dir):
    path = checkpoint_dir / file_name(3)
    content = json.loads(path.read_text())
    content["hash"] = "f" * 64
    path.write_text(json.dumps(content))

    report = audit_verify(record=False, from_checkpoint=str(path))

    assert report.first is not None
    assert report.first.problem == P.CHECKPOINT_INVALID
    assert report.events_checked == 0


def test_without_a_verification_key_there_is_no_starting_point(two_checkpoints, settings):
    settings.AUDIT_SIGNING_KEY = ""
    settings.AUDIT_VERIFY_KEY = ""

    with pytest.raises(CommandError) as refused:
        call_command("audit_verify", "--from-checkpoint", "3")

    assert refused.value.returncode == 2


def test_a_missing_starting_checkpoint_is_an_error(two_checkpoints, tmp_path):
    with pytest.raises(CommandError):
        call_command("audit_verify", "--from-checkpoint", str(tmp_path / "nothing.json"))
