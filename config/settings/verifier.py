"""An outside verifier of the audit trail: `SHADAN_ENV=verifier manage.py audit_verify
--no-record` on a machine that holds only the public key (docs/production.md, "Checking
the trail from elsewhere").

It needs DATABASE_URL (a role that may only read the audit tables, or a replica),
AUDIT_VERIFY_KEY and AUDIT_CHECKPOINT_DIR (a read-only copy or mount), and refuses every
private key: the signing key, the audit MAC keys, the vault's keys and database. Without
the MAC keys it checks every hash, link and signed checkpoint and says it did not check
the events' MACs (those prove who wrote an event before it was sealed, a question for
the deployment itself, which holds the keys).
"""

from __future__ import annotations

import secrets

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import (
    AUDIT_MAC_KEYS,
    AUDIT_SIGNING_KEY,
    AUDIT_VERIFY_KEY,
    DATABASES,
    VAULT_INDEX_KEY,
    VAULT_MASTER_KEYS,
)

# Nothing is signed with it: the verifier serves no pages and keeps no sessions.
SECRET_KEY = secrets.token_urlsafe(50)
DEBUG = False

if not AUDIT_VERIFY_KEY:
    raise ImproperlyConfigured("the verifier needs AUDIT_VERIFY_KEY (the public key)")
_held = [
    name
    for name, value in (
        ("AUDIT_SIGNING_KEY", AUDIT_SIGNING_KEY),
        ("AUDIT_MAC_KEYS", AUDIT_MAC_KEYS),
        ("VAULT_MASTER_KEYS", VAULT_MASTER_KEYS),
        ("VAULT_INDEX_KEY", VAULT_INDEX_KEY),
        ("VAULT_DATABASE_URL", "vault" in DATABASES),
    )
    if value
]
if _held:
    raise ImproperlyConfigured(
        "the verifier holds only the public key; remove "
        + ", ".join(_held)
        + " from its environment"
    )
# Without MAC keys no event can be written, which is the point; the start-up warning
# about it would only be noise here.
SILENCED_SYSTEM_CHECKS = ["audit.W002"]
