"""`manage.py generate_production_keys`: every production secret, usable, printed only."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from apps.vault.keyring import parse_keyring

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = {
    "DJANGO_SECRET_KEY",
    "VAULT_MASTER_KEYS",
    "VAULT_ACTIVE_KEY_ID",
    "VAULT_INDEX_KEY",
    "AUDIT_SIGNING_KEY",
    "AUDIT_VERIFY_KEY",
    "AUDIT_MAC_KEYS",
    "AUDIT_MAC_ACTIVE_KEY_ID",
    "SHADAN_ACCESS_SAMPLE_KEY",
}


def _generate(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    # As an operator runs it on a fresh host: no settings chosen, no keys anywhere.
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "VAULT_", "AUDIT_")) and k != "DATABASE_URL"
    }
    clean.update(env)
    return subprocess.run(  # noqa: S603 (our own fixed arguments)
        [sys.executable, "manage.py", "generate_production_keys", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _values(output: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in output.splitlines() if line and line[0] != "#")
    return dict(pairs)


def _tracked_and_untracked_files() -> str:
    return subprocess.run(
        ["git", "status", "--porcelain", "--ignored", "--untracked-files=all"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_it_prints_every_production_secret_and_production_accepts_them():
    result = _generate(SHADAN_ENV="production")

    assert result.returncode == 0, result.stderr
    values = _values(result.stdout)
    assert set(values) == EXPECTED
    assert len(values["DJANGO_SECRET_KEY"]) >= 50
    ring = parse_keyring(
        master_keys=values["VAULT_MASTER_KEYS"],
        active_key_id=values["VAULT_ACTIVE_KEY_ID"],
        index_key=values["VAULT_INDEX_KEY"],
    )
    assert ring is not None
    assert ring.key_ids == {"prod-1"}
    assert values["AUDIT_MAC_ACTIVE_KEY_ID"] == "prod-1"
    assert len(base64.b64decode(values["AUDIT_MAC_KEYS"].partition(":")[2])) == 32
    assert len(base64.b64decode(values["VAULT_INDEX_KEY"])) == 32
    # The verify key is the signing key's public half.
    private = Ed25519PrivateKey.from_private_bytes(base64.b64decode(values["AUDIT_SIGNING_KEY"]))
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(values["AUDIT_VERIFY_KEY"]))
    public.verify(private.sign(b"checkpoint"), b"checkpoint")

    started = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={
            **os.environ,
            **values,
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "DATABASE_URL": "postgres://shadan_app@db/shadan",
            "VAULT_DATABASE_URL": "postgres://shadan_vault@db/shadan_vault",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode == 0, started.stderr


def test_every_run_makes_new_keys_and_names_the_rings_as_asked():
    first = _values(_generate().stdout)
    second = _values(_generate("--key-id", "prod-2").stdout)

    assert second["VAULT_ACTIVE_KEY_ID"] == "prod-2"
    assert second["VAULT_MASTER_KEYS"].startswith("prod-2:")
    for name in EXPECTED - {"VAULT_ACTIVE_KEY_ID", "AUDIT_MAC_ACTIVE_KEY_ID"}:
        assert first[name] != second[name]


def test_it_writes_nothing_into_the_checkout():
    before = _tracked_and_untracked_files()

    result = _generate()

    assert result.returncode == 0, result.stderr
    assert _tracked_and_untracked_files() == before
    assert _values(result.stdout)["DJANGO_SECRET_KEY"] not in result.stderr
