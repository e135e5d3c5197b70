"""One checkpoint directory per chain, and branches: two databases writing into the same
AUDIT_CHECKPOINT_DIR never disturb each other's verification, and a restored copy of the
live database (same chain id) never writes where the live one's files are.

A second database is played by the test database itself: its rows after a point are set
aside ("the live database went on") and put back ("back to the live database"), so both
histories of one chain meet one directory, as they do on a host where a restored copy was
started with the live environment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import models

from apps.audit import checkpoints, sealing
from apps.audit.models import AuditCheckpoint, AuditEvent, AuditSeal
from apps.audit.models import VerificationProblem as P
from apps.audit.sealing import audit_seal
from apps.audit.verification import audit_verify
from tests.audit.conftest import CHAIN_ID, triggers_lifted, unguarded

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])

TABLES: tuple[type[models.Model], ...] = (AuditCheckpoint, AuditSeal, AuditEvent)


def set_aside_after(seq: int) -> dict[type[models.Model], list[models.Model]]:
    """Take everything sealed after `seq` out of the database (as a dump taken at `seq`
    would not have it) and return it, to be put back by `put_back`."""
    event_ids = list(AuditSeal.objects.filter(seq__gt=seq).values_list("event_id", flat=True))
    later: dict[type[models.Model], list[models.Model]] = {
        AuditCheckpoint: list(AuditCheckpoint.objects.filter(seq__gt=seq)),
        AuditSeal: list(AuditSeal.objects.filter(seq__gt=seq)),
        AuditEvent: list(AuditEvent.objects.filter(pk__in=event_ids)),
    }
    with triggers_lifted():
        for model in TABLES:
            unguarded(model).filter(pk__in=[row.pk for row in later[model]])._raw_delete("default")
    return later


def put_back(rows: dict[type[models.Model], list[models.Model]]) -> None:
    for model in reversed(TABLES):
        unguarded(model).bulk_create(rows[model])


def files_under(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.json"))}


def test_each_chain_writes_only_into_its_own_directory(record_events, checkpoint_root):
    record_events(2)

    audit_seal()

    assert [p.name for p in checkpoint_root.iterdir()] == [CHAIN_ID]
    assert (
        json.loads((checkpoint_root / CHAIN_ID / checkpoints.file_name(2)).read_text())["chain_id"]
        == CHAIN_ID
    )


def test_two_chains_sharing_the_checkpoint_directory_verify_each_on_its_own(
    record_events, checkpoint_root, settings
):
    # given: another deployment's chain (another database) in the same directory, with a
    # checkpoint at the seq ours is about to reach
    record_events(3)
    audit_seal()
    other = set_aside_after(0)  # our database is now empty...
    record_events(4)
    audit_seal()  # ...and starts the other chain, with a random id
    other_chain = AuditSeal.objects.get(seq=1).prev_hash
    assert other_chain != CHAIN_ID
    theirs = set_aside_after(0)
    put_back(other)

    # when: our chain goes on past the other chain's head, in the shared directory
    record_events(2)
    audit_seal()

    # then: ours verifies, and so does theirs, each against its own files only
    report = audit_verify(record=False)
    assert report.ok, report.summary
    assert report.checkpoints_verified == 2
    set_aside_after(0)
    put_back(theirs)
    report = audit_verify(record=False)
    assert report.ok, report.summary
    assert report.checkpoints_verified == 1
    assert sorted(p.name for p in checkpoint_root.iterdir()) == sorted([CHAIN_ID, other_chain])


def test_a_restored_copy_branches_off_and_never_touches_the_live_files(
    record_events, checkpoint_root, checkpoint_dir
):
    # given: a backup taken at seq 3; the live database went on to seq 5
    record_events(3)
    audit_seal()
    record_events(2)
    audit_seal()
    live_files = files_under(checkpoint_root)
    live_rows = set_aside_after(3)  # what the dump of seq 3 does not hold

    # when: the restored copy, started with the live environment, writes and seals
    record_events(3)
    result = audit_seal()

    # then: its checkpoint went into a branch of its own; the live files are as they were
    assert "branched off" in result.checkpoint_note
    assert result.checkpoint is not None
    assert result.checkpoint.parent.parent == checkpoint_dir
    assert result.checkpoint.parent.name.startswith(checkpoints.BRANCH_PREFIX)
    after = files_under(checkpoint_root)
    assert {name: after[name] for name in live_files} == live_files
    assert [name for name in after if name not in live_files] == [
        f"{CHAIN_ID}/{result.checkpoint.parent.name}/{checkpoints.file_name(6)}"
    ]
    # the copy's verification shows the restore, distinctly, not as a pass
    copy = audit_verify(record=False)
    assert not copy.ok
    assert [f.problem for f in copy.findings] == [P.RESTORED]
    assert copy.first is not None and copy.first.seq == 4
    assert "checkpoint beyond the restored trail" in copy.summary
    assert "branched off at seq 3" in copy.summary
    assert copy.checkpoints_verified == 2  # seq 3 (before the backup) and its own seq 6
    # and it goes on in its branch
    record_events(1)
    again = audit_seal()
    assert again.checkpoint is not None
    assert again.checkpoint.parent == result.checkpoint.parent

    # when: back to the live database
    set_aside_after(3)
    put_back(live_rows)

    # then: the live chain verifies as before, and writes on in the chain's directory
    live = audit_verify(record=False)
    assert live.ok, live.summary
    assert live.checkpoints_verified == 2
    record_events(2)
    result = audit_seal()
    assert result.checkpoint == checkpoint_dir / checkpoints.file_name(7)
    assert audit_verify(record=False).ok


def test_a_restored_copy_meeting_the_live_directory_reports_the_checkpoints_beyond_it(
    record_events,
):
    record_events(3)
    audit_seal()
    record_events(2)
    audit_seal()

    set_aside_after(3)  # the copy, before it sealed anything of its own
    report = audit_verify(record=False)

    assert [f.problem for f in report.findings] == [P.RESTORED]
    assert "checkpoint beyond the restored trail" in report.summary
    assert report.checkpoints_verified == 1  # the one written before the backup


def test_a_trail_replaced_by_a_new_chain_is_caught_when_the_chain_id_is_pinned(
    record_events, settings
):
    record_events(2)
    audit_seal()
    settings.AUDIT_CHAIN_ID = CHAIN_ID
    assert audit_verify(record=False).ok
    # when: the whole trail is replaced by a fresh one (a new chain id, nothing to
    # disagree with in its own, empty directory)
    set_aside_after(0)
    record_events(3)
    audit_seal()

    report = audit_verify(record=False)

    assert not report.ok
    assert report.first is not None and report.first.problem == P.REWRITTEN
    assert f"AUDIT_CHAIN_ID is {CHAIN_ID}" in report.summary


def test_an_emptied_trail_is_caught_by_the_checkpoints_left_in_the_directory(record_events):
    record_events(2)
    audit_seal()
    set_aside_after(0)

    report = audit_verify(record=False)

    assert report.first is not None and report.first.problem == P.REMOVED
    assert "holds no chain" in report.summary


def test_the_flat_layout_moves_into_one_directory_per_chain(
    record_events, checkpoint_root, checkpoint_dir, capsys
):
    # given: checkpoints written before one directory per chain
    record_events(2)
    audit_seal()
    record_events(1)
    audit_seal()
    for path in list(checkpoint_dir.iterdir()):
        path.rename(checkpoint_root / path.name)
    checkpoint_dir.rmdir()
    before = audit_verify(record=False)
    assert not before.ok  # the recorded files are not where they belong
    assert "`manage.py audit_checkpoints --per-chain`" in " ".join(
        f.message for f in before.findings
    )

    call_command("audit_checkpoints", "--per-chain")

    assert "2 file(s) moved; 0 left" in capsys.readouterr().out
    assert sorted(p.name for p in checkpoint_dir.iterdir()) == [
        checkpoints.file_name(2),
        checkpoints.file_name(3),
    ]
    report = audit_verify(record=False)
    assert report.ok, report.summary
    assert report.checkpoints_verified == 2


def test_the_command_names_the_chain_and_its_directory(record_events, checkpoint_dir, capsys):
    record_events(1)
    audit_seal()

    call_command("audit_checkpoints")

    out = capsys.readouterr().out
    assert f"chain id: {CHAIN_ID}" in out
    assert f"directory: {checkpoint_dir}" in out


def test_a_restored_copy_of_an_idle_live_database_branches_off_even_when_it_seals_first(
    record_events, checkpoint_root, checkpoint_dir, monkeypatch
):
    # given: the live database at seq 3, its checkpoint written; a backup taken then
    database = {"instance": "live"}
    monkeypatch.setattr(sealing, "database_instance", lambda alias: database["instance"])
    record_events(3)
    audit_seal()
    live_rows = set_aside_after(3)  # nothing yet: both hold the same three events

    # when: the copy (another database) seals first, then the live one goes on
    database["instance"] = "copy"
    record_events(2)
    copy_result = audit_seal()
    copy_rows = set_aside_after(3)
    put_back(live_rows)
    database["instance"] = "live"
    record_events(1)
    live_result = audit_seal()

    # then: the copy branched off, the live one kept the chain's directory and verifies
    assert copy_result.checkpoint is not None
    assert copy_result.checkpoint.parent.name.startswith(checkpoints.BRANCH_PREFIX)
    assert live_result.checkpoint == checkpoint_dir / checkpoints.file_name(4)
    assert audit_verify(record=False).ok
    # and the copy sees the live checkpoint beyond the point it branched off at
    set_aside_after(3)
    put_back(copy_rows)
    database["instance"] = "copy"
    copy = audit_verify(record=False)
    assert [f.problem for f in copy.findings] == [P.RESTORED]
    assert "branched off at seq 3" in copy.summary
