r"""The hash chain's arithmetic, written once for sealing and verification.

Each seal names the format of the canonical bytes it was computed over
(`AuditSeal.format`); a format, once used, never changes (events sealed in it must
verify for as long as they are kept).

Canonical bytes of an event, format 1 (every seal on SQLite; PostgreSQL seals written
before format 2 existed): the UTF-8 encoding of a JSON object holding
every column of `AuditEvent` under its column name (`actor_id`, not `actor`), keys
sorted, no whitespace (separators "," and ":"), non-ASCII characters written as
themselves, `occurred_at` as UTC ISO-8601 with microseconds and a trailing "Z"
(2026-11-25T08:05:03.123456Z), a missing client address or actor as null, JSON
columns as the JSON values read back from the database.

hash(seq) = SHA-256( bytes.fromhex(prev_hash) ‖ seq as 8-byte big-endian ‖ canonical )
written as 64 lowercase hex digits. The first seal's prev_hash is the chain id: 32
random bytes chosen when the chain began, so two databases never share a chain.

Format 2 (PostgreSQL, from 2026-11-25): the database renders the event as one line of
text and the sealer and the verifier hash its UTF-8 bytes; no JSON is parsed or built
in Python, which made format 1 verification run at 1-2 % of plain SHA-256 speed. The
line is the columns of CANONICAL_FIELDS in that order, joined by one TAB (the layout
of PostgreSQL's COPY text format):
- id and actor_id in decimal; a missing actor_id or client_ip as the two characters \N;
- occurred_at as to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
  the same text as format 1 (2026-11-25T08:05:03.123456Z);
- client_ip as host(client_ip) (the address, no prefix length);
- the JSON columns (actor_roles, changed_fields, details) as jsonb's own text output
  (keys ordered shorter first by UTF-8 length, then bytewise; ", " and ": "
  separators; non-ASCII as is): JSON text holds
  no raw TAB or newline, so it needs no escaping;
- every other (text) column with backslash, TAB, LF and CR written as \\, \t, \n, \r,
  so no value can forge a separator and \N never meets a real value.
`canonical_text_sql()` is that definition as SQL; it uses only built-in functions and
explicit formats, so no session setting (time zone, DateStyle, client encoding)
changes the bytes.

Formats 3 (SQLite) and 4 (PostgreSQL), from issue 12: the bytes of format 1 and 2
respectively, followed by a TAB, the event's MAC key id, a TAB, its nonce, a TAB and its
MAC (apps.audit.mac; key ids are letters, digits, "_" and "-", the MAC lowercase hex
and the nonce too, after "v2" for a MAC of version 2, so nothing is ambiguous). The
sealer writes them only for an event whose MAC it has checked; binding the MAC into the
hash means stripping it later breaks the chain.
They mark the chain as authenticated from there on: a format 1 or 2 seal after the
first format 3 or 4 seal is a finding (an event that claims to predate the MACs).

Adding a column to AuditEvent changes nothing here by itself: CANONICAL_FIELDS is
frozen (a test fails until someone decides how the new column enters the chain, which
needs a new format for events sealed from then on).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import TextField
from django.db.models.expressions import RawSQL

FORMAT_JSON = 1
FORMAT_TEXT = 2
FORMAT_JSON_MAC = 3
FORMAT_TEXT_MAC = 4
CANONICAL_FORMAT = FORMAT_TEXT_MAC  # the newest; what PostgreSQL seals in
MAC_FORMATS = frozenset({FORMAT_JSON_MAC, FORMAT_TEXT_MAC})
# The format whose bytes a MAC format extends.
BASE_FORMAT = {FORMAT_JSON_MAC: FORMAT_JSON, FORMAT_TEXT_MAC: FORMAT_TEXT}

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
# What formats 3 and 4 append to the bytes of 1 and 2, in this order.
MAC_COLUMNS: tuple[str, ...] = ("mac_key_id", "mac_nonce", "mac")
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


def links(prev_hash: str, seq: int, canonical: bytes, digest: str) -> bool:
    """Whether `digest` is the link hash of these (verification): a prev_hash that is not
    hexadecimal (a seal written by hand) links to nothing, rather than stopping the walk."""
    try:
        return link_hash(prev_hash, seq, canonical) == digest
    except ValueError:
        return False


def new_chain_id() -> str:
    return secrets.token_hex(32)


# --- format 2 ------------------------------------------------------------------------

_TABLE = '"audit_auditevent"'
_JSON_COLUMNS = frozenset({"actor_roles", "changed_fields", "details"})
_NULLABLE = {"actor_id": "{c}::text", "client_ip": "host({c})"}


def _text_column(column: str) -> str:
    # E'' literals throughout: their meaning does not depend on standard_conforming_strings.
    c = f'{_TABLE}."{column}"'
    if column == "id" or column in _JSON_COLUMNS:
        return f"{c}::text"
    if column == "occurred_at":
        return f"""to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
    if column in _NULLABLE:
        return f"COALESCE({_NULLABLE[column].format(c=c)}, E'\\\\N')"
    escaped = f"replace({c}, E'\\\\', E'\\\\\\\\')"
    for char in "tnr":
        escaped = f"replace({escaped}, E'\\{char}', E'\\\\{char}')"
    return escaped


_TEXT_SQL = "concat_ws(E'\\t', " + ", ".join(_text_column(c) for c in CANONICAL_COLUMNS) + ")"


def sealing_format(connection: BaseDatabaseWrapper) -> int:
    """The format new seals are written in on this database."""
    return FORMAT_TEXT_MAC if connection.vendor == "postgresql" else FORMAT_JSON_MAC


def known_formats(connection: BaseDatabaseWrapper) -> tuple[int, ...]:
    """The formats this database can have sealed in (2 and 4 are PostgreSQL's text)."""
    if connection.vendor == "postgresql":
        return (FORMAT_JSON, FORMAT_TEXT, FORMAT_TEXT_MAC)
    return (FORMAT_JSON, FORMAT_JSON_MAC)


def canonical_text_sql() -> str:
    """Format 2 as a PostgreSQL expression over the audit_auditevent table (unaliased,
    as the ORM names it in a query on AuditEvent)."""
    return _TEXT_SQL


def canonical_text() -> RawSQL:
    """Annotate an AuditEvent query with its format 2 text: `.annotate(c=canonical_text())`."""
    return RawSQL(_TEXT_SQL, [], output_field=TextField())  # noqa: S611 - constant SQL


@dataclass(frozen=True, slots=True)
class Authenticated:
    """An event read for a MAC format (3, 4): what its base format hashes, and the
    row of apps.audit.mac.MAC_VALUES (the covered values, key id, nonce, MAC)."""

    base: Sequence[Any] | bytes
    mac_row: Sequence[Any]

    @property
    def suffix(self) -> bytes:
        *_values, key_id, nonce, mac = self.mac_row
        return f"\t{key_id}\t{nonce}\t{mac}".encode()


Payload = Sequence[Any] | bytes | Authenticated


def canonical_of(payload: Payload, as_id: int | None = None) -> bytes:
    """The canonical bytes of an event read for its seal's format: a VALUES_FIELDS row
    (format 1), the format 2 text as bytes, or either followed by the MAC (3, 4).
    `as_id`: the bytes the event would have with another id (to recognise content
    moved between events)."""
    if isinstance(payload, Authenticated):
        return canonical_of(payload.base, as_id) + payload.suffix
    if isinstance(payload, bytes):
        if as_id is None:
            return payload
        return str(as_id).encode("ascii") + payload[payload.index(b"\t") :]
    row = payload if as_id is None else (as_id, *tuple(payload)[1:])
    return canonical_bytes(row)
