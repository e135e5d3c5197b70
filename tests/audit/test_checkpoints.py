"""Signed checkpoints of the chain head, outside the database."""

from __future__ import annotations

import base64
import json
import logging

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command

from apps.audit import checkpoints
from apps.audit.models import AuditCheckpoint, AuditEvent, AuditSeal
from apps.audit.models import VerificationProblem as P
from apps.audit.sealing import audit_seal
from apps.audit.selectors import chain_status
from apps.audit.verification import audit_verify
from tests.audit.conftest import first_finding, recompute_seals, triggers_lifted, unguarded

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


OTHER_KEY = Ed25519PrivateKey.from_private_bytes(b"\x09" * 32)


def test_sealing_writes_a_signed_checkpoint_of_the_head_to_the_directory(
    record_events, checkpoint_dir, settings
):
    record_events(3)

    result = audit_seal()

    head = AuditSeal.objects.get(seq=3)
    path = checkpoint_dir / "checkpoint-000000000003.json"
    assert result.checkpoint == path
    content = json.loads(path.read_text())
    assert content["format"] == "shadan-audit-checkpoint/1"
    assert (content["seq"], content["hash"], content["event_count"]) == (3, head.hash, 3)
    assert content["event_id"] == head.event_id
    assert content["chain_id"] == AuditSeal.objects.get(seq=1).prev_hash
    assert content["created_at"].endswith("Z")
    # the signature covers every other member, keys sorted, compact separators
    public = Ed25519PrivateKey.from_private_bytes(
        base64.b64decode(settings.AUDIT_SIGNING_KEY)
    ).public_key()
    unsigned = {k: v for k, v in content.items() if k != "signature"}
    public.verify(
        base64.b64decode(content["signature"]),
        json.dumps(unsigned, sort_keys=True, separators=(",", ":")).encode(),
    )
    assert AuditCheckpoint.objects.get().file_name == path.name


def test_a_checkpoint_is_never_overwritten(record_events, checkpoint_dir):
    record_events(2)
    audit_seal()
    path = checkpoint_dir / "checkpoint-000000000002.json"
    before = path.read_bytes()

    audit_seal()
    record_events(1)
    audit_seal()

    assert path.read_bytes() == before
    assert sorted(p.name for p in checkpoint_dir.iterdir()) == [
        "checkpoint-000000000002.json",
        "checkpoint-000000000003.json",
    ]


def test_without_a_signing_key_the_chain_is_sealed_but_no_checkpoint_is_written(
    record_events, checkpoint_dir, settings, caplog
):
    settings.AUDIT_SIGNING_KEY = ""
    record_events(2)

    with caplog.at_level(logging.WARNING, logger="apps.audit.sealing"):
        result = audit_seal()

    assert result.sealed == 2
    assert result.checkpoint is None
    assert not checkpoint_dir.exists()
    assert "AUDIT_SIGNING_KEY is not set" in caplog.text
    report = audit_verify()
    assert report.ok
    assert "checkpoints not configured" in report.summary


def test_a_verifier_holding_only_the_public_key_checks_the_checkpoints(record_events, settings):
    record_events(2)
    audit_seal()
    public = Ed25519PrivateKey.from_private_bytes(
        base64.b64decode(settings.AUDIT_SIGNING_KEY)
    ).public_key()
    settings.AUDIT_SIGNING_KEY = ""
    settings.AUDIT_VERIFY_KEY = b64(public.public_bytes_raw())

    report = audit_verify()

    assert report.ok, report.summary
    assert report.checkpoints_verified == 1


def test_a_verifier_trusting_another_key_rejects_the_checkpoints(record_events, settings):
    record_events(2)
    audit_seal()
    settings.AUDIT_VERIFY_KEY = b64(OTHER_KEY.public_key().public_bytes_raw())

    first = first_finding()

    assert first.problem == P.CHECKPOINT_INVALID
    assert "signed by an unknown key" in first.message


def test_an_edited_checkpoint_fails_its_signature(record_events, checkpoint_dir):
    record_events(2)
    audit_seal()
    path = checkpoint_dir / "checkpoint-000000000002.json"
    content = json.loads(path.read_text())
    content["created_at"] = "2020-01-01T00:00:00.000000Z"
    path.write_text(json.dumps(content))

    first = first_finding()

    assert (first.problem, first.seq) == (P.CHECKPOINT_INVALID, 2)
    assert "checkpoint-000000000002.json: signature does not verify" in first.message


def test_a_forger_cannot_paper_over_a_rewrite_with_a_checkpoint_of_their_own(
    record_events, checkpoint_dir
):
    # given: an event rewritten, the chain recomputed, and our checkpoint replaced by one
    # of the new head signed with the forger's key (ours is not in the database)
    record_events(3)
    audit_seal()
    with triggers_lifted():
        unguarded(AuditEvent).filter(pk=AuditSeal.objects.get(seq=2).event_id).update(reason="x")
        recompute_seals(from_seq=2)
    (checkpoint_dir / "checkpoint-000000000003.json").unlink()
    head = AuditSeal.objects.get(seq=3)
    checkpoints.write_checkpoint(
        directory=checkpoint_dir,
        private_key=OTHER_KEY,
        chain_id=AuditSeal.objects.get(seq=1).prev_hash,
        seq=3,
        hash=head.hash,
        event_id=head.event_id,
    )

    report = audit_verify()

    assert [(f.problem, f.seq) for f in report.findings] == [(P.CHECKPOINT_INVALID, 3)]
    assert "signed by an unknown key" in report.summary


def test_a_checkpoint_file_that_disappears_is_a_finding(record_events, checkpoint_dir):
    record_events(2)
    audit_seal()
    (checkpoint_dir / "checkpoint-000000000002.json").unlink()

    first = first_finding()

    assert first.problem == P.CHECKPOINT_INVALID
    assert "checkpoint-000000000002.json (seq 2) was written but is no longer" in first.message


def test_checkpoints_of_another_chain_are_a_finding(record_events, checkpoint_dir):
    record_events(2)
    audit_seal()
    path = checkpoint_dir / "checkpoint-000000000002.json"
    stranger = path.with_name("checkpoint-000000000001.json")
    checkpoints.write_checkpoint(
        directory=checkpoint_dir,
        private_key=Ed25519PrivateKey.from_private_bytes(b"\x04" * 32),
        chain_id="a" * 64,
        seq=1,
        hash=AuditSeal.objects.get(seq=1).hash,
        event_id=1,
    )
    assert stranger.exists()

    first = first_finding()

    assert (first.problem, first.seq) == (P.REWRITTEN, 1)
    assert "belongs to another chain" in first.message


def test_each_verification_is_recorded_for_the_chain_status(record_events, capsys):
    record_events(2)
    audit_seal()

    call_command("audit_verify")
    with triggers_lifted():
        unguarded(AuditSeal).filter(seq=2).update(hash="0" * 64)
    with pytest.raises(SystemExit):
        call_command("audit_verify")

    status = chain_status()
    assert status.head is not None and status.head.seq == 2
    assert status.last_checkpoint is not None and status.last_checkpoint.seq == 2
    last = status.last_verification
    assert last is not None
    assert not last.ok
    assert last.problem == P.ALTERED
    assert last.problem_seq == 2
    assert last.summary.startswith("audit chain FAILED: altered:")
    assert last.finished_at >= last.started_at
    assert capsys.readouterr().out.startswith("audit chain OK: 2 events")
