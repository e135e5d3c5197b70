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
    "RETAIL_DATABASE_URL": "postgres://publisher@db/retail",
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
    for name in ("DATABASE_URL", "RETAIL_DATABASE_URL", "SHADAN_SITE_ROLE", "SHADAN_ENV"):
        clean.pop(name, None)
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


RETAIL_SITE = {
    "SHADAN_SITE_ROLE": "retail",
    "DJANGO_SECRET_KEY": "r" * 64,
    "RETAIL_DATABASE_URL": "postgres://retail_site@db/retail",
}
# What a retail site must never be given (config/settings/retail_site.FORBIDDEN).
FORBIDDEN = {
    name: GOOD[name]
    for name in (
        "DATABASE_URL",
        "VAULT_DATABASE_URL",
        "VAULT_MASTER_KEYS",
        "VAULT_INDEX_KEY",
        "AUDIT_MAC_KEYS",
        "AUDIT_SIGNING_KEY",
    )
}
SHOW_DATABASES = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(sorted(s.DATABASES), s.AUTH_USER_MODEL, s.ROOT_URLCONF, s.SHADAN_RETAIL_DATABASE)"
)


def _load_showing(settings_module: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "VAULT_", "AUDIT_"))
    }
    for name in ("DATABASE_URL", "RETAIL_DATABASE_URL", "SHADAN_SITE_ROLE", "SHADAN_ENV"):
        clean.pop(name, None)
    clean.update(env, DJANGO_SETTINGS_MODULE=settings_module)
    return subprocess.run(  # noqa: S603 (our own fixed code)
        [sys.executable, "-c", SHOW_DATABASES],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("module", ["config.settings.production", "config.settings.local"])
def test_a_retail_site_runs_with_its_database_and_secret_key_only(module):
    result = _load_showing(module, RETAIL_SITE)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "['default']",
        "publication.RetailAccount",
        "config.urls_retail",
        "default",
    ]


def test_a_production_retail_site_needs_its_database():
    env = {k: v for k, v in RETAIL_SITE.items() if k != "RETAIL_DATABASE_URL"}

    result = _load("config.settings.production", env)

    assert result.returncode != 0
    assert "RETAIL_DATABASE_URL" in result.stderr


@pytest.mark.parametrize("module", ["config.settings.production", "config.settings.local"])
@pytest.mark.parametrize("forbidden", sorted(FORBIDDEN))
def test_a_retail_site_refuses_every_td_credential(module, forbidden):
    result = _load(module, {**RETAIL_SITE, forbidden: FORBIDDEN[forbidden]})

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"must not be given {forbidden}" in result.stderr
