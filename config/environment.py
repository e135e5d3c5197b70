"""Which settings module a process runs on: one rule for manage.py, gunicorn and Celery.

Production must never start on development settings by omission (DEBUG-free but with
console e-mail, generated keys and none of production's refusals). So:

1. `DJANGO_SETTINGS_MODULE`, when set, is used as given (pytest, the bench, a developer
   who knows what they want);
2. else `SHADAN_ENV` (`local`, `test`, `production` or `verifier`) names the module;
3. else a checkout with `.local-keys.env` (written by `make run`) is a developer's
   machine: local settings;
4. else the process refuses to start and says how to choose.

`local` and `test` themselves refuse to load under `SHADAN_ENV=production`, so a stray
`DJANGO_SETTINGS_MODULE` cannot turn a production host into a development one.
Imports nothing of Django: it runs before Django is configured.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
LOCAL_KEYS_FILE = BASE_DIR / ".local-keys.env"
ENVIRONMENTS = {
    "local": "config.settings.local",
    "test": "config.settings.test",
    "production": "config.settings.production",
    # An outside verifier of the audit trail holding only the public key.
    "verifier": "config.settings.verifier",
}
# Commands that run before any environment exists (step 1 of a deployment): they print
# and touch nothing, so they run on settings without a database or secrets.
BOOTSTRAP_COMMANDS = frozenset({"generate_production_keys", "database_grants"})
BOOTSTRAP_SETTINGS = "config.settings.bootstrap"


class SettingsNotChosen(RuntimeError):
    """No settings module could be chosen without guessing."""


def settings_module(
    environ: Mapping[str, str] | None = None, local_keys_file: Path = LOCAL_KEYS_FILE
) -> str:
    environ = os.environ if environ is None else environ
    explicit = environ.get("DJANGO_SETTINGS_MODULE", "").strip()
    if explicit:
        return explicit
    name = environ.get("SHADAN_ENV", "").strip()
    if name:
        try:
            return ENVIRONMENTS[name]
        except KeyError:
            raise SettingsNotChosen(
                f"SHADAN_ENV={name!r} is not one of {', '.join(ENVIRONMENTS)}."
            ) from None
    if local_keys_file.exists():
        return ENVIRONMENTS["local"]
    raise SettingsNotChosen(
        "No settings chosen: set SHADAN_ENV=production (or local, test). Without it, only a "
        f"developer's checkout with {local_keys_file.name} (written by `make run`) runs on "
        "the local settings; this machine has none, so nothing starts by guessing."
    )


def configure(command: str | None = None) -> None:
    """Set DJANGO_SETTINGS_MODULE for this process (manage.py, gunicorn), or exit saying why.

    `command` is manage.py's sub-command: the bootstrap commands always get the
    bootstrap settings, whatever else is set, so they work before any key exists.
    """
    if command in BOOTSTRAP_COMMANDS:
        os.environ["DJANGO_SETTINGS_MODULE"] = BOOTSTRAP_SETTINGS
        return
    try:
        os.environ["DJANGO_SETTINGS_MODULE"] = settings_module()
    except SettingsNotChosen as exc:
        raise SystemExit(f"shadan: {exc}") from None


def choose_if_possible() -> SettingsNotChosen | None:
    """For config/celery_app.py, imported by every process through config/__init__.py:
    choose now when the rule can (Celery's Django fix-up needs the variable before the app
    exists), else return the reason, which the Celery app raises when it is configured.
    Not raising here lets manage.py's bootstrap commands import the package first."""
    try:
        os.environ["DJANGO_SETTINGS_MODULE"] = settings_module()
    except SettingsNotChosen as exc:
        return exc
    return None


def refuse_under_production(module: str) -> None:
    """Called by the development and test settings: never on a production host."""
    if os.environ.get("SHADAN_ENV", "").strip() == "production":
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            f"{module} is a development setting and SHADAN_ENV=production: "
            "unset DJANGO_SETTINGS_MODULE (or set it to config.settings.production)."
        )
