"""Every entry point (manage.py, gunicorn's config.wsgi, Celery's config) chooses its
settings by one rule, and a machine without a developer's keys file never guesses."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from config.environment import SettingsNotChosen, settings_module

ROOT = Path(__file__).resolve().parents[2]


def test_shadan_env_names_the_settings_module(tmp_path):
    assert settings_module({"SHADAN_ENV": "production"}, tmp_path / "none") == (
        "config.settings.production"
    )
    assert settings_module({"SHADAN_ENV": "local"}, tmp_path / "none") == "config.settings.local"


def test_an_explicit_django_settings_module_wins(tmp_path):
    chosen = settings_module(
        {"DJANGO_SETTINGS_MODULE": "bench.settings", "SHADAN_ENV": "local"}, tmp_path / "none"
    )
    assert chosen == "bench.settings"


def test_a_checkout_with_local_keys_runs_on_local_settings(tmp_path):
    keys = tmp_path / ".local-keys.env"
    keys.write_text("DJANGO_SECRET_KEY=x\n")
    assert settings_module({}, keys) == "config.settings.local"


def test_without_shadan_env_or_local_keys_nothing_is_chosen(tmp_path):
    with pytest.raises(SettingsNotChosen, match="SHADAN_ENV"):
        settings_module({}, tmp_path / ".local-keys.env")


def test_an_unknown_shadan_env_is_refused(tmp_path):
    with pytest.raises(SettingsNotChosen, match="prod"):
        settings_module({"SHADAN_ENV": "prod"}, tmp_path / "none")


@pytest.fixture
def bare_checkout(tmp_path: Path) -> Path:
    """manage.py and config/ as on a production host: no .local-keys.env."""
    shutil.copy(ROOT / "manage.py", tmp_path / "manage.py")
    shutil.copytree(
        ROOT / "config", tmp_path / "config", ignore=shutil.ignore_patterns("__pycache__")
    )
    return tmp_path


def _run(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DJANGO_SETTINGS_MODULE", "SHADAN_ENV", "PYTHONPATH"}
    }
    # The copied config/ comes first; Django and the apps from the real checkout.
    clean["PYTHONPATH"] = f"{cwd}{os.pathsep}{ROOT}"
    clean.update(env)
    return subprocess.run(  # noqa: S603 (our own fixed arguments)
        [sys.executable, *args], cwd=cwd, env=clean, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    "entry",
    [
        ["manage.py", "check"],
        ["-c", "import config.wsgi"],
        ["-c", "from config.celery_app import app; app.conf.broker_url"],
    ],
    ids=["manage.py", "gunicorn config.wsgi", "celery -A config"],
)
def test_an_entry_point_without_settings_refuses_and_says_how_to_choose(bare_checkout, entry):
    result = _run(bare_checkout, *entry)

    assert result.returncode != 0
    assert "SHADAN_ENV=production" in result.stderr
    assert "Traceback" not in result.stderr


def test_development_settings_refuse_to_load_under_shadan_env_production(bare_checkout):
    result = _run(
        bare_checkout,
        "manage.py",
        "check",
        SHADAN_ENV="production",
        DJANGO_SETTINGS_MODULE="config.settings.local",
    )

    assert result.returncode != 0
    assert "SHADAN_ENV=production" in result.stderr
