"""Production refuses to start without its secrets; the embedded default needs none."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOOD = {
    "DJANGO_SECRET_KEY": "p" * 64,
    "DATABASE_URL": "postgres://shadan@db/shadan",
    "VAULT_DATABASE_URL": "postgres://vault@db/vault",
    "VAULT_MASTER_KEYS": "prod-1:" + "A" * 43 + "=",
    "VAULT_ACTIVE_KEY_ID": "prod-1",
    "VAULT_INDEX_KEY": "B" * 43 + "=",
    "AUDIT_SIGNING_KEY": "C" * 43 + "=",
    "AUDIT_MAC_KEYS": "prod-1:" + "D" * 43 + "=",
    "AUDIT_MAC_ACTIVE_KEY_ID": "prod-1",
}


def _load(settings_module: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "VAULT_", "AUDIT_"))
    }
    clean.pop("DATABASE_URL", None)
    clean.update(env, DJANGO_SETTINGS_MODULE=settings_module)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_starts_with_every_setting():
    result = _load("config.settings.production", GOOD)
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


@pytest.mark.parametrize("missing", sorted(GOOD))
def test_production_refuses_to_start_without(missing):
    env = {k: v for k, v in GOOD.items() if k != missing}

    result = _load("config.settings.production", env)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr


def test_production_refuses_a_short_secret_key():
    result = _load("config.settings.production", {**GOOD, "DJANGO_SECRET_KEY": "short"})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_a_retail_site_runs_without_vault_settings_and_refuses_them():
    # The audit MAC key it needs: it writes the retail views' audit events.
    retail = {
        k: GOOD[k]
        for k in ("DJANGO_SECRET_KEY", "DATABASE_URL", "AUDIT_MAC_KEYS", "AUDIT_MAC_ACTIVE_KEY_ID")
    }
    assert (
        _load("config.settings.production", {**retail, "SHADAN_SITE_ROLE": "retail"}).returncode
        == 0
    )
    with_vault = _load("config.settings.production", {**GOOD, "SHADAN_SITE_ROLE": "retail"})
    assert with_vault.returncode != 0
