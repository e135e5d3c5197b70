"""A head seal written by hand: the sealer refuses to chain after a hash nothing can be
linked to and says why, instead of failing on it; a chain id that is not one names no
checkpoint directory."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from apps.audit.models import AuditCheckpoint, AuditEvent, AuditSeal
from apps.audit.sealing import BrokenChainHead, audit_seal, audit_seal_written
from apps.audit.verification import audit_verify
from tests.audit.conftest import triggers_lifted, unguarded

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])

NOT_HEX = "zz" * 32


def _tamper(seq: int, **values: str) -> None:
    with triggers_lifted():
        unguarded(AuditSeal).filter(seq=seq).update(**values)


def test_a_head_hash_that_is_not_hexadecimal_refuses_every_waiting_event_and_says_why(
    record_events, checkpoint_dir
):
    # given: three sealed events, the head's hash rewritten by hand, two events waiting
    record_events(3)
    audit_seal()
    _tamper(3, hash=NOT_HEX)
    waiting = record_events(2)

    # when
    result = audit_seal()

    # then: nothing chained, each waiting event refused with the reason; no checkpoint
    assert result.sealed == 0 and result.head_seq == 3
    assert [event_id for event_id, _ in result.refused] == [e.pk for e in waiting]
    assert all("head seal (seq 3)" in why for _, why in result.refused)
    assert all("not 64 hexadecimal digits" in why for _, why in result.refused)
    assert AuditSeal.objects.count() == 3
    assert result.checkpoint is None and "no checkpoint" in result.checkpoint_note
    assert sorted(p.name for p in checkpoint_dir.iterdir()) == ["checkpoint-000000000003.json"]


def test_the_seal_command_names_each_refused_event_and_exits_1(record_events, capsys):
    record_events(2)
    audit_seal()
    _tamper(2, hash="ab" * 31 + "g!")
    event = record_events(1)[0]

    with pytest.raises(SystemExit) as exited:
        call_command("audit_seal")

    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert f"Not sealed: event #{event.pk}: the chain's head seal (seq 2)" in err


def test_a_broken_head_with_nothing_waiting_is_not_signed(record_events, checkpoint_dir):
    # given: a head whose checkpoint was not written yet (the file and its row gone),
    # and its hash rewritten by hand
    record_events(2)
    audit_seal()
    with triggers_lifted():
        unguarded(AuditCheckpoint).all().delete()
    for path in checkpoint_dir.iterdir():
        path.unlink()
    _tamper(2, hash=NOT_HEX)

    # when
    result = audit_seal()

    # then: no checkpoint signs it
    assert (result.sealed, result.refused, result.checkpoint) == (0, (), None)
    assert "head seal (seq 2)" in result.checkpoint_note
    assert list(checkpoint_dir.iterdir()) == []


def test_the_collectors_sealing_refuses_with_a_named_error_instead_of_committing_unsealed(
    record_events,
):
    record_events(1)
    audit_seal()
    _tamper(1, hash=NOT_HEX)
    events = record_events(1)

    with pytest.raises(BrokenChainHead, match="head seal \\(seq 1\\)"):
        audit_seal_written(after_id=events[0].pk - 1)


def test_a_head_prev_hash_that_is_not_hexadecimal_does_not_stop_the_sealer(record_events):
    # The head's own hash is sound, so new events link to it; the hand-written link
    # before it is the verifier's finding (chain.links: a non-hex prev_hash links nothing).
    record_events(3)
    audit_seal()
    _tamper(3, prev_hash=NOT_HEX)
    record_events(1)

    result = audit_seal()

    assert result.sealed == 1 and result.refused == ()
    assert AuditSeal.objects.get(seq=4).prev_hash == AuditSeal.objects.get(seq=3).hash
    report = audit_verify()
    assert not report.ok and report.findings[0].seq == 3


def test_a_chain_id_written_by_hand_names_no_checkpoint_directory(
    record_events, checkpoint_root, tmp_path
):
    record_events(1)
    audit_seal()
    _tamper(1, prev_hash="../../outside")
    record_events(1)

    result = audit_seal()

    assert result.sealed == 1
    assert result.checkpoint is None and "chain id" in result.checkpoint_note
    assert not (tmp_path / "outside").exists()
    assert AuditEvent.objects.filter(seal__isnull=True).count() == 0
