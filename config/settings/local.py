"""Embedded default for a developer's machine: SQLite files, eager tasks, generated keys.

`make run` generates the development keys on first run (python manage.py init_local_keys):
the T&D processes' into the git-ignored .local-keys.env, the retail site's own secret key
into .local-keys-retail.env. Each process reads only its own file, before base.py: the
retail site (SHADAN_SITE_ROLE=retail) never sees the vault's or the audit trail's keys,
and gets no default for the shared or vault database either.
"""

from __future__ import annotations

import os
from pathlib import Path

import environ

from config.environment import refuse_under_production

refuse_under_production(__name__)

from .retail_site import site_role  # noqa: E402

_BASE = Path(__file__).resolve().parent.parent.parent
_ROLE = site_role()
_KEYS = _BASE / (".local-keys.env" if _ROLE == "td" else ".local-keys-retail.env")
if _KEYS.exists():
    environ.Env.read_env(str(_KEYS), overwrite=False)

(_BASE / "var").mkdir(exist_ok=True)
if _ROLE == "td":
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{_BASE / 'var' / 'shadan.sqlite3'}")
    os.environ.setdefault("VAULT_DATABASE_URL", f"sqlite:///{_BASE / 'var' / 'vault.sqlite3'}")
os.environ.setdefault("RETAIL_DATABASE_URL", f"sqlite:///{_BASE / 'var' / 'retail.sqlite3'}")
# Where the T&D sign-in sends a retail person (`make run` serves the retail site there).
os.environ.setdefault("SHADAN_RETAIL_SITE_URL", "http://127.0.0.1:8001/")
# Off, as in production: a demo user must never see Django's technical 404 page (it lists
# every URL) or a stack trace. DJANGO_DEBUG=true turns it on for a developer.
os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")
os.environ.setdefault("LOG_LEVEL", "WARNING")
# Only for a machine that has not run init_local_keys yet (e.g. `manage.py check`).
os.environ.setdefault("DJANGO_SECRET_KEY", "local-development-only-not-a-secret")

from .base import *  # noqa: E402,F403
from .base import MIDDLEWARE, env  # noqa: E402

SHADAN_LOCAL_DEVELOPMENT = True

SECRET_KEY = env.str("DJANGO_SECRET_KEY")
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

# A re-created development database starts a new audit chain: give each chain its own
# checkpoint directory, or the old chain's checkpoints would (rightly) fail the new one.
# Development only: in production a checkpoint of a vanished chain is the alarm.
AUDIT_CHECKPOINT_DIR = Path(
    env.str("AUDIT_CHECKPOINT_DIR", default=str(_BASE / "var" / "audit-checkpoints" / "{chain_id}"))
)

# With DEBUG off runserver serves no static files: WhiteNoise serves what `make run`
# collected into STATIC_ROOT (var/static), as gunicorn does in production.
MIDDLEWARE = [
    MIDDLEWARE[0],
    "whitenoise.middleware.WhiteNoiseMiddleware",
    *MIDDLEWARE[1:],
]
