"""`audit_verify` on a machine that holds only the public key: no signing key, no MAC
keys, no vault (config/settings/verifier.py). It checks every hash, link and signed
checkpoint, and says that it did not check the events' MACs."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from apps.audit.models import AuditEvent, AuditSeal
from apps.audit.models import VerificationProblem as P
from apps.audit.sealing import audit_seal
from apps.audit.verification import audit_verify
from tests.audit.conftest import triggers_lifted, unguarded

ROOT = Path(__file__).resolve().parents[2]


def only_the_public_key(settings) -> None:
    public = Ed25519PrivateKey.from_private_bytes(
        base64.b64decode(settings.AUDIT_SIGNING_KEY)
    ).public_key()
    settings.AUDIT_VERIFY_KEY = base64.b64encode(public.public_bytes_raw()).decode()
    settings.AUDIT_SIGNING_KEY = ""
    settings.AUDIT_MAC_KEYS = ""
    settings.AUDIT_MAC_ACTIVE_KEY_ID = ""


@pytest.mark.django_db(databases=["default", "vault", "retail"])
def test_a_verifier_without_the_mac_keys_verifies_the_chain_and_says_what_it_left_out(
    record_events, settings
):
    record_events(3)
    audit_seal()
    only_the_public_key(settings)

    report = audit_verify(record=False)

    assert report.ok, report.summary
    assert report.checkpoints_verified == 1
    assert report.summary.endswith("event MACs not checked (no AUDIT_MAC_KEYS here)")


@pytest.mark.django_db(databases=["default", "vault", "retail"])
def test_a_verifier_without_the_mac_keys_still_finds_a_changed_event(record_events, settings):
    record_events(3)
    audit_seal()
    only_the_public_key(settings)
    with triggers_lifted():
        unguarded(AuditEvent).filter(pk=AuditSeal.objects.get(seq=2).event_id).update(reason="x")

    report = audit_verify(record=False)

    assert report.first is not None
    assert (report.first.problem, report.first.seq) == (P.ALTERED, 2)


def _settings_load(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "VAULT_", "AUDIT_", "SHADAN_")) and k != "DATABASE_URL"
    }
    clean.update(SHADAN_ENV="verifier", DATABASE_URL="sqlite://:memory:", **env)
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


PUBLIC = base64.b64encode(
    Ed25519PrivateKey.from_private_bytes(b"\x04" * 32).public_key().public_bytes_raw()
).decode()


def test_the_verifier_settings_start_with_the_public_key_alone():
    loaded = _settings_load(AUDIT_VERIFY_KEY=PUBLIC)

    assert loaded.returncode == 0, loaded.stderr
    assert "audit.W002" not in loaded.stderr


@pytest.mark.parametrize(
    "secret",
    [
        {"AUDIT_SIGNING_KEY": base64.b64encode(b"\x04" * 32).decode()},
        {"AUDIT_MAC_KEYS": "m1:" + base64.b64encode(b"\x05" * 32).decode()},
        {"VAULT_DATABASE_URL": "sqlite://:memory:"},
    ],
)
def test_the_verifier_settings_refuse_a_private_key(secret):
    loaded = _settings_load(AUDIT_VERIFY_KEY=PUBLIC, **secret)

    assert loaded.returncode != 0
    assert f"remove {next(iter(secret))}" in loaded.stderr


def test_the_verifier_settings_refuse_to_start_without_the_public_key():
    loaded = _settings_load()

    assert loaded.returncode != 0
    assert "needs AUDIT_VERIFY_KEY" in loaded.stderr
