"""Fresh secrets, one function per kind: `init_local_keys` writes them into a developer's
.local-keys.env, `generate_production_keys` prints them for a production environment file.

Formats are the settings' own (config/settings/base.py): key rings are
"id:base64key[,id:base64key]", keys are base64 of random bytes, the audit signing key is
a raw 32-byte Ed25519 private key in base64 and AUDIT_VERIFY_KEY its public key.
"""

from __future__ import annotations

import base64
import secrets

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

# The names every environment holds, in the order they are written. AUDIT_VERIFY_KEY is
# derived from AUDIT_SIGNING_KEY (`public_key_of`), so it is not generated on its own.
KEY_NAMES = (
    "DJANGO_SECRET_KEY",
    "VAULT_MASTER_KEYS",
    "VAULT_ACTIVE_KEY_ID",
    "VAULT_INDEX_KEY",
    "AUDIT_SIGNING_KEY",
    "AUDIT_MAC_KEYS",
    "AUDIT_MAC_ACTIVE_KEY_ID",
)


def new_symmetric_key() -> str:
    """32 random bytes in base64: an AES-256 or HMAC-SHA256 key."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


def generate(name: str, *, key_id: str) -> str:
    """A fresh value for the variable `name`; `key_id` names the first key of each ring."""
    if name == "DJANGO_SECRET_KEY":
        return secrets.token_urlsafe(50)
    if name in {"VAULT_MASTER_KEYS", "AUDIT_MAC_KEYS"}:
        return f"{key_id}:{new_symmetric_key()}"
    if name in {"VAULT_ACTIVE_KEY_ID", "AUDIT_MAC_ACTIVE_KEY_ID"}:
        return key_id
    if name in {"VAULT_INDEX_KEY", "SHADAN_ACCESS_SAMPLE_KEY"}:
        return new_symmetric_key()
    if name == "AUDIT_SIGNING_KEY":
        return base64.b64encode(Ed25519PrivateKey.generate().private_bytes_raw()).decode()
    raise ValueError(name)


def public_key_of(signing_key: str) -> str:
    """The AUDIT_VERIFY_KEY that checks what AUDIT_SIGNING_KEY signs."""
    private = Ed25519PrivateKey.from_private_bytes(base64.b64decode(signing_key))
    return base64.b64encode(private.public_key().public_bytes_raw()).decode()
