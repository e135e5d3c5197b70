"""Master keys from settings, and the wrapping of per-record data keys.

Settings (all from the environment, see config/settings/base.py):

- ``VAULT_MASTER_KEYS``: ``"id:base64key,id:base64key"``, each key 32 bytes.
- ``VAULT_ACTIVE_KEY_ID``: the id new data keys are wrapped with.
- ``VAULT_INDEX_KEY``: base64 HMAC key (at least 32 bytes) for the blind index.

An empty ``VAULT_MASTER_KEYS`` means "no vault keys in this process" (the retail
site); any other malformed value stops the process with ImproperlyConfigured.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
import uuid
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

from apps.core.keys import decode_key, parse_key_ring

from .errors import VaultIntegrityError, VaultKeyMissing

MASTER_KEY_BYTES = 32
DATA_KEY_BYTES = 32
MIN_INDEX_KEY_BYTES = 32
NONCE_BYTES = 12
_TAG_BYTES = 16
WRAPPED_KEY_BYTES = NONCE_BYTES + DATA_KEY_BYTES + _TAG_BYTES
_WRAP_AAD_PREFIX = b"shadan.vault.v1.wrap|"

_SETTINGS = frozenset({"VAULT_MASTER_KEYS", "VAULT_ACTIVE_KEY_ID", "VAULT_INDEX_KEY"})


class KeyRing:
    """The master keys (by id), the active key id and the blind-index key."""

    __slots__ = ("_index_key", "_keys", "active_key_id")

    def __init__(self, *, keys: Mapping[str, bytes], active_key_id: str, index_key: bytes) -> None:
        self._keys = dict(keys)
        self.active_key_id = active_key_id
        self._index_key = index_key

    def __repr__(self) -> str:
        return f"KeyRing(key_ids={sorted(self._keys)!r}, active_key_id={self.active_key_id!r})"

    @property
    def key_ids(self) -> frozenset[str]:
        return frozenset(self._keys)

    def wrap(self, *, record_id: uuid.UUID, data_key: bytes) -> tuple[str, bytes]:
        """Wrap a data key under the active master key; returns (key_id, nonce + ciphertext)."""
        key_id = self.active_key_id
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self._keys[key_id]).encrypt(
            nonce, data_key, _wrap_aad(key_id=key_id, record_id=record_id)
        )
        return key_id, nonce + sealed

    def unwrap(self, *, record_id: uuid.UUID, key_id: str, wrapped: bytes) -> bytes:
        """Recover a data key; fails if the wrap belongs to another record or key."""
        master = self._keys.get(key_id)
        if master is None:
            raise VaultKeyMissing(record_id=record_id, key_id=key_id)
        if len(wrapped) != WRAPPED_KEY_BYTES:
            raise VaultIntegrityError(record_id=record_id)
        nonce, sealed = wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:]
        try:
            return AESGCM(master).decrypt(
                nonce, sealed, _wrap_aad(key_id=key_id, record_id=record_id)
            )
        except InvalidTag:
            raise VaultIntegrityError(record_id=record_id) from None

    def blind_digest(self, *, kind: str, normalized: str) -> str:
        """Keyed HMAC-SHA256 (hex) over kind + NUL + normalized value."""
        message = kind.encode() + b"\x00" + normalized.encode("utf-8")
        return hmac.new(self._index_key, message, hashlib.sha256).hexdigest()


def _wrap_aad(*, key_id: str, record_id: uuid.UUID) -> bytes:
    # Key ids cannot contain "|", so the encoding is unambiguous.
    return _WRAP_AAD_PREFIX + key_id.encode() + b"|" + str(record_id).encode()


def parse_keyring(*, master_keys: str, active_key_id: str, index_key: str) -> KeyRing | None:
    """Parse the three settings; None when no master keys are configured at all."""
    ring = parse_key_ring(
        keys=master_keys,
        active_key_id=active_key_id,
        keys_setting="VAULT_MASTER_KEYS",
        active_setting="VAULT_ACTIVE_KEY_ID",
        size_problem=lambda raw: (
            None
            if len(raw) == MASTER_KEY_BYTES
            else f"must be {MASTER_KEY_BYTES} bytes, not {len(raw)}"
        ),
    )
    if ring is None:
        return None
    keys, active = ring
    if not index_key.strip():
        raise ImproperlyConfigured("VAULT_INDEX_KEY is required when VAULT_MASTER_KEYS is set")
    index_raw = decode_key(index_key, what="VAULT_INDEX_KEY")
    if len(index_raw) < MIN_INDEX_KEY_BYTES:
        raise ImproperlyConfigured(f"VAULT_INDEX_KEY must be at least {MIN_INDEX_KEY_BYTES} bytes")
    return KeyRing(keys=keys, active_key_id=active, index_key=index_raw)


_lock = threading.Lock()
_cache: dict[str, KeyRing | None] = {}


def get_keyring() -> KeyRing | None:
    """The key ring from settings (parsed once, reset when the settings change)."""
    with _lock:
        if "ring" not in _cache:
            _cache["ring"] = parse_keyring(
                master_keys=getattr(settings, "VAULT_MASTER_KEYS", "") or "",
                active_key_id=getattr(settings, "VAULT_ACTIVE_KEY_ID", "") or "",
                index_key=getattr(settings, "VAULT_INDEX_KEY", "") or "",
            )
        return _cache["ring"]


def reset_keyring_cache() -> None:
    with _lock:
        _cache.clear()


@receiver(setting_changed)
def _reset_on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in _SETTINGS:
        reset_keyring_cache()
