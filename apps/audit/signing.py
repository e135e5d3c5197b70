"""Ed25519 keys for the checkpoints, read from settings.

AUDIT_SIGNING_KEY: base64 of the raw 32-byte Ed25519 private key (the sealer signs).
AUDIT_VERIFY_KEY: base64 of one or more raw 32-byte public keys, comma-separated (an
external verifier holds only these; old keys stay listed after a rotation so older
checkpoints still verify). Empty: the public key derived from AUDIT_SIGNING_KEY.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _raw32(value: str, setting: str) -> bytes:
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ImproperlyConfigured(f"{setting} is not valid base64") from None
    if len(raw) != 32:
        raise ImproperlyConfigured(f"{setting} must encode exactly 32 bytes, not {len(raw)}")
    return raw


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short, stable name for a public key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(public_key.public_bytes_raw()).hexdigest()[:16]


def signing_key() -> Ed25519PrivateKey | None:
    value = getattr(settings, "AUDIT_SIGNING_KEY", "")
    if not value:
        return None
    return Ed25519PrivateKey.from_private_bytes(_raw32(value, "AUDIT_SIGNING_KEY"))


def verify_keys() -> dict[str, Ed25519PublicKey]:
    """The trusted public keys by key id; empty when checkpoints are not configured."""
    value = getattr(settings, "AUDIT_VERIFY_KEY", "")
    keys: list[Ed25519PublicKey] = []
    if value:
        keys = [
            Ed25519PublicKey.from_public_bytes(_raw32(part, "AUDIT_VERIFY_KEY"))
            for part in value.split(",")
            if part.strip()
        ]
    else:
        private = signing_key()
        if private is not None:
            keys = [private.public_key()]
    return {key_id(key): key for key in keys}


@dataclass(frozen=True)
class Signature:
    key_id: str
    value: str  # base64


def sign(private_key: Ed25519PrivateKey, message: bytes) -> Signature:
    return Signature(
        key_id=key_id(private_key.public_key()),
        value=base64.b64encode(private_key.sign(message)).decode("ascii"),
    )


def signature_valid(public_key: Ed25519PublicKey, message: bytes, signature_b64: str) -> bool:
    try:
        public_key.verify(base64.b64decode(signature_b64, validate=True), message)
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True
