"""`make run` serves the demo as production would: DEBUG off, static files through
WhiteNoise, so nobody signed in to the demo sees Django's technical pages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Runs under config.settings.local exactly as `make run` configures it, on throwaway
# databases and a throwaway static directory.
SCRIPT = r"""
import json, django
django.setup()
from django.conf import settings
from django.core.management import call_command
from django.core import checks
from django.test import Client

call_command("migrate", verbosity=0)
call_command("collectstatic", interactive=False, verbosity=0)
from apps.administration.services import user_create
retail = user_create(acting_user=None, username="kouri_probe", password="x" * 20,
                     division="retail", roles=["retail"])
client = Client(HTTP_HOST="127.0.0.1")
client.force_login(retail)
missing = client.get("/no-such-page/")
static = client.get("/static/css/shadan.css")
print(json.dumps({
    "debug": settings.DEBUG,
    "errors": [m.id for m in checks.run_checks() if m.level >= checks.ERROR],
    "missing_status": missing.status_code,
    "missing_lists_urls": b"URLconf" in missing.content or b"admin/" in missing.content,
    "static_status": static.status_code,
}))
"""


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    tmp = tmp_path_factory.mktemp("local")
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "VAULT_", "RETAIL_"))
    }
    env.pop("DATABASE_URL", None)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DATABASE_URL=f"sqlite:///{tmp / 'shadan.sqlite3'}",
        VAULT_DATABASE_URL=f"sqlite:///{tmp / 'vault.sqlite3'}",
        RETAIL_DATABASE_URL=f"sqlite:///{tmp / 'retail.sqlite3'}",
        DJANGO_STATIC_ROOT=str(tmp / "static"),
        AUDIT_CHECKPOINT_DIR=str(tmp / "checkpoints" / "{chain_id}"),
    )
    result = subprocess.run(  # noqa: S603 (our own fixed code, no outside input)
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_local_demo_runs_with_debug_off_and_passes_its_system_checks(local):
    assert local["debug"] is False
    assert local["errors"] == []


def test_a_retail_user_of_the_demo_gets_the_products_404_not_a_list_of_urls(local):
    assert local["missing_status"] == 404
    assert local["missing_lists_urls"] is False


def test_the_demo_serves_its_static_files_without_debug(local):
    assert local["static_status"] == 200
