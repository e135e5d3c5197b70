"""Test settings: SQLite in memory by default; the three *_DATABASE_URL switch to PostgreSQL.

The vault and audit keys here are fixed, public test values: they protect nothing real.
"""

from __future__ import annotations

import base64
import os

from config.environment import refuse_under_production

refuse_under_production(__name__)

from .retail_site import site_role  # noqa: E402

_TD = site_role() == "td"
os.environ.setdefault("RETAIL_DATABASE_URL", "sqlite://:memory:")
if _TD:
    os.environ.setdefault("DATABASE_URL", "sqlite://:memory:")
    os.environ.setdefault("VAULT_DATABASE_URL", "sqlite://:memory:")
    os.environ.setdefault("VAULT_MASTER_KEYS", "test-k1:" + base64.b64encode(b"\x01" * 32).decode())
    os.environ.setdefault("VAULT_ACTIVE_KEY_ID", "test-k1")
    os.environ.setdefault("VAULT_INDEX_KEY", base64.b64encode(b"\x02" * 32).decode())
    os.environ.setdefault("AUDIT_MAC_KEYS", "test-m1:" + base64.b64encode(b"\x05" * 32).decode())
    os.environ.setdefault("AUDIT_MAC_ACTIVE_KEY_ID", "test-m1")

from .base import *  # noqa: E402,F403

SECRET_KEY = "test-only-not-a-secret"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
LANGUAGE_CODE = "ja"
# Client.login() has no request, which django-axes needs; the lock-out tests turn it on.
AXES_ENABLED = False
# A fixed, public test key for the audit checkpoints; tests that write checkpoints point
# AUDIT_CHECKPOINT_DIR at their own tmp_path, so this directory normally stays empty
# (and a developer's var/audit-checkpoints is never touched by the suite).
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

AUDIT_SIGNING_KEY = base64.b64encode(b"\x04" * 32).decode() if _TD else ""
AUDIT_CHECKPOINT_DIR = Path(tempfile.gettempdir()) / f"shadan-test-audit-checkpoints-{os.getpid()}"
