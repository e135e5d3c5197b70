"""The hash chain's arithmetic, written once for sealing and verification.

Canonical bytes of an event (format 1): the UTF-8 encoding of a JSON object holding
every column of `AuditEvent` under its column name (`actor_id`, not `actor`), keys
sorted, no whitespace (separators "," and ":"), non-ASCII characters written as
themselves, `occurred_at` as UTC ISO-8601 with microseconds and a trailing "Z"
(2026-11-25T08:05:03.123456Z), a missing client address or actor as null, JSON
columns as the JSON values read back from the database.

hash(seq) = SHA-256( bytes.fromhex(prev_hash) ‖ seq as 8-byte big-endian ‖ canonical )
written as 64 lowercase hex digits. The first seal's prev_hash is the chain id: 32
random bytes chosen when the chain began, so two databases never share a chain.

Adding a column to AuditEvent changes nothing here by itself: CANONICAL_FIELDS is
frozen (a test fails until someone decides how the new column enters the chain, which
needs a format 2 for events sealed from then on).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Sequence
from typing import Any

CANONICAL_FORMAT = 1

# (column name in the canonical JSON, ORM path for values_list)
CANONICAL_FIELDS: tuple[tuple[str, str], ...] = (
    ("id", "id"),
    ("occurred_at", "occurred_at"),
    ("actor_id", "actor_id"),
    ("actor_username", "actor_username"),
    ("actor_division", "actor_division"),
    ("actor_roles", "actor_roles"),
    ("action", "action"),
    ("object_type", "object_type"),
    ("object_id", "object_id"),
    ("object_label", "object_label"),
    ("changed_fields", "changed_fields"),
    ("details", "details"),
    ("reason", "reason"),
    ("request_id", "request_id"),
    ("client_ip", "client_ip"),
    ("user_agent", "user_agent"),
)
CANONICAL_COLUMNS: tuple[str, ...] = tuple(column for column, _ in CANONICAL_FIELDS)
VALUES_FIELDS: tuple[str, ...] = tuple(path for _, path in CANONICAL_FIELDS)
_TIME_INDEX = CANONICAL_COLUMNS.index("occurred_at")
_IP_INDEX = CANONICAL_COLUMNS.index("client_ip")

_encoder = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
)


def utc_timestamp(value: dt.datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_bytes(row: Sequence[Any]) -> bytes:
    """`row` holds the values of VALUES_FIELDS in that order, as the ORM returns them."""
    values = list(row)
    values[_TIME_INDEX] = utc_timestamp(values[_TIME_INDEX])
    if values[_IP_INDEX] is not None:
        values[_IP_INDEX] = str(values[_IP_INDEX])
    return _encoder.encode(dict(zip(CANONICAL_COLUMNS, values, strict=True))).encode("utf-8")


def link_hash(prev_hash: str, seq: int, canonical: bytes) -> str:
    digest = hashlib.sha256(bytes.fromhex(prev_hash))
    digest.update(seq.to_bytes(8, "big"))
    digest.update(canonical)
    return digest.hexdigest()


def new_chain_id() -> str:
    return secrets.token_hex(32)
