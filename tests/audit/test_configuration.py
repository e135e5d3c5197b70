"""The audit settings fail loudly when wrong, and development gets a chain per database."""

from __future__ import annotations

import base64

import pytest

from apps.audit.checks import check_audit_keys
from apps.audit.models import AuditCheckpoint, AuditEvent, AuditSeal
from apps.audit.sealing import audit_seal
from apps.audit.verification import audit_verify
from tests.audit.conftest import triggers_lifted, unguarded

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


def _ids(settings) -> list[str]:
    return [str(message.id) for message in check_audit_keys()]


def test_a_well_configured_trail_passes_the_checks(settings):
    assert _ids(settings) == []


@pytest.mark.parametrize(
    "value",
    ["not base64!", base64.b64encode(b"short").decode(), base64.b64encode(b"x" * 64).decode()],
)
def test_a_malformed_signing_key_stops_the_process(settings, value):
    settings.AUDIT_SIGNING_KEY = value

    assert _ids(settings) == ["audit.E001"]


def test_a_missing_signing_key_is_a_warning(settings):
    settings.AUDIT_SIGNING_KEY = ""

    assert _ids(settings) == ["audit.W001"]


def test_a_verify_key_that_would_reject_our_own_checkpoints_is_an_error(settings):
    settings.AUDIT_VERIFY_KEY = base64.b64encode(b"\x07" * 32).decode()

    assert _ids(settings) == ["audit.E002"]


def test_a_checkpoint_directory_per_chain_is_refused_outside_development(settings, tmp_path):
    settings.AUDIT_CHECKPOINT_DIR = tmp_path / "{chain_id}"
    settings.DEBUG = False

    assert _ids(settings) == ["audit.E004"]

    settings.DEBUG = True
    assert _ids(settings) == []


def test_in_development_a_re_created_database_starts_a_chain_of_its_own(
    settings, tmp_path, record_events
):
    settings.AUDIT_CHECKPOINT_DIR = tmp_path / "{chain_id}"
    record_events(2)
    audit_seal()
    old_chain = AuditSeal.objects.get(seq=1).prev_hash
    # when: the database is thrown away and filled again
    with triggers_lifted():
        for model in (AuditCheckpoint, AuditSeal, AuditEvent):
            unguarded(model)._raw_delete("default")
    record_events(3)
    audit_seal()

    report = audit_verify()

    new_chain = AuditSeal.objects.get(seq=1).prev_hash
    assert report.ok, report.summary
    assert report.checkpoints_verified == 1
    assert {p.name for p in tmp_path.iterdir()} == {old_chain, new_chain}


def test_a_malformed_chain_id_stops_the_process(settings):
    settings.AUDIT_CHAIN_ID = "not-a-chain-id"

    assert _ids(settings) == ["audit.E005"]


def test_the_deployment_check_asks_for_the_chain_id_until_it_is_set(settings):
    from apps.audit.checks import check_chain_pinned

    settings.AUDIT_CHAIN_ID = ""
    assert [str(m.id) for m in check_chain_pinned()] == ["audit.W003"]

    settings.AUDIT_CHAIN_ID = "c0" * 32
    assert check_chain_pinned() == []
