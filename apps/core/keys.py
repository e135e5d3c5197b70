"""Key rings from settings: `"id:base64key,id:base64key"` and the id in use.

The vault's master keys and the audit trail's MAC keys are both configured this way and
rotated the same way (add a key, make it active, keep the old ids while data made with
them is kept). Errors name the setting and the key id, never key material.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured

_KEY_ID = re.compile(r"[A-Za-z0-9_-]+")


def decode_key(value: str, *, what: str) -> bytes:
    try:
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ImproperlyConfigured(f"{what} is not valid base64") from None


def parse_key_ring(
    *,
    keys: str,
    active_key_id: str,
    keys_setting: str,
    active_setting: str,
    size_problem: Callable[[bytes], str | None],
    max_id_length: int | None = None,
) -> tuple[dict[str, bytes], str] | None:
    """The keys by id and the active id; None when no key is configured at all.

    `size_problem` says what is wrong with a decoded key's length ("must be 32 bytes"),
    or None when it is right.
    """
    if not keys.strip():
        return None
    parsed: dict[str, bytes] = {}
    for position, entry in enumerate(keys.split(","), start=1):
        key_id, sep, encoded = entry.strip().partition(":")
        if not sep or not key_id or not encoded:
            raise ImproperlyConfigured(
                f"{keys_setting} entry {position} must look like 'id:base64key'"
            )
        if not _KEY_ID.fullmatch(key_id) or (max_id_length and len(key_id) > max_id_length):
            limit = f" (at most {max_id_length})" if max_id_length else ""
            raise ImproperlyConfigured(
                f"{keys_setting} entry {position}: key ids may contain only "
                f"letters, digits, '_' and '-'{limit}"
            )
        if key_id in parsed:
            raise ImproperlyConfigured(f"{keys_setting} names key id {key_id!r} twice")
        raw = decode_key(encoded, what=f"{keys_setting} key {key_id!r}")
        problem = size_problem(raw)
        if problem:
            raise ImproperlyConfigured(f"{keys_setting} key {key_id!r} {problem}")
        parsed[key_id] = raw
    active = active_key_id.strip()
    if not active:
        raise ImproperlyConfigured(f"{active_setting} is required when {keys_setting} is set")
    if active not in parsed:
        raise ImproperlyConfigured(
            f"{active_setting} {active!r} is not one of the ids in {keys_setting}"
        )
    return parsed, active
