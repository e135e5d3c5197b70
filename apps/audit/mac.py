"""Each audit event is authenticated when it is written: an HMAC-SHA256 with a key the
application servers hold and the database does not, so whoever can only write to the
database cannot make an event the sealer will chain (issue 12, item 7).

Settings (from the environment, see config/settings/base.py):

- ``AUDIT_MAC_KEYS``: ``"id:base64key,id:base64key"``, each key at least 32 bytes;
- ``AUDIT_MAC_ACTIVE_KEY_ID``: the id new events are authenticated with.

Rotation: add a key, make it active; keep the old ones listed for as long as events
authenticated with them are kept (the verifier needs them; an append-only event cannot
be authenticated again). An unknown key id is a finding, like a wrong MAC.

What the MAC covers: the columns the application supplies (MAC_FIELDS), a random
nonce and the key id; not the id (the database assigns it) nor the actor's division and
roles (scalar subqueries evaluated by the INSERT itself, apps.audit.snapshot), which
Python does not know before the one statement that writes the event. The seal's hash
covers those once the event is chained. The message, for key id K, nonce N (hex):

    b"shadan.audit.mac.v1\\x00" K b"\\x00" N b"\\x00" JSON array of the MAC_FIELDS values

the JSON array in the format 1 style (UTF-8, no whitespace, keys sorted, non-ASCII as
is), `occurred_at` in UTC as 2026-11-25T08:05:03.123456Z (four-digit year), the client
address exploded (every IPv6 group in full), the JSON columns as the JSON values the
database gives back, a float with an integral value as that integer (PostgreSQL's jsonb
returns 1e20 as 100000000000000000000). The same function computes it from the values
the application is about to write and from the values read back, so it needs no extra
round trip at write time and no rendering by the database.

Version 2 (PostgreSQL, from session 8 of issue 17): the message is what the database
itself renders for those columns in format 2 (apps.audit.chain), so the verifier checks
it over the bytes of the line it reads anyway, without parsing a column or encoding
JSON again (the MAC check was over half of verification's CPU a seal). For key id K
and nonce N:

    b"shadan.audit.mac.v2\x00" K b"\x00" N b"\x00" the MAC_FIELDS' format 2 texts joined by TAB

that is, the event's format 2 line without its id, actor_division and actor_roles. The
writer predicts that text in Python (`v2_text`: jsonb's own layout for the JSON columns,
format 2's escapes for the text ones), and only where the prediction is exact by
construction: JSON of strings, integers, booleans, null, lists and objects (no float:
PostgreSQL's numeric keeps a scale Python does not), an IPv4 address in its usual form
or none. Any other event (an IPv6 address, a float in its details), and every event on
SQLite, gets version 1. The nonce names the version: 24 lowercase hex digits for
version 1, "v2" and 22 for version 2 (not a hex digit, so never ambiguous; covered by
the MAC and by the seal's hash, so it cannot be switched without the key).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import ipaddress
import json
import operator
import re
import secrets
import threading
from binascii import hexlify
from collections.abc import Callable, Iterable, Mapping, Sequence
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

from apps.core.keys import parse_key_ring

from .chain import CANONICAL_COLUMNS, MAC_COLUMNS

if TYPE_CHECKING:
    from .models import AuditEvent

# The attnames the MAC covers, in message order (ORM paths for values_list too).
MAC_FIELDS: tuple[str, ...] = (
    "occurred_at",
    "actor_id",
    "actor_username",
    "action",
    "object_type",
    "object_id",
    "object_label",
    "changed_fields",
    "details",
    "reason",
    "request_id",
    "client_ip",
    "user_agent",
)
# Everything a check needs from a row: the covered values, then key id, nonce and MAC.
MAC_VALUES: tuple[str, ...] = (*MAC_FIELDS, *MAC_COLUMNS)

MIN_KEY_BYTES = 32
NONCE_BYTES = 12
_DOMAIN = b"shadan.audit.mac.v1\x00"
_DOMAIN_V2 = b"shadan.audit.mac.v2\x00"
V2 = "v2"  # what a version 2 nonce starts with
_V2_BYTES = V2.encode("ascii")
_TIME = MAC_FIELDS.index("occurred_at")
_IP = MAC_FIELDS.index("client_ip")
_JSON = frozenset(MAC_FIELDS.index(name) for name in ("changed_fields", "details"))
_TEXT = frozenset(
    MAC_FIELDS.index(name)
    for name in (
        "actor_username",
        "action",
        "object_type",
        "object_id",
        "object_label",
        "reason",
        "request_id",
        "user_agent",
    )
)
_encoder = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))
# The same encoding without JSONEncoder.encode's per-call set-up (it builds the C encoder
# anew on every call): verification encodes one message per event. No circular check:
# every value has been through JSON already (`_as_written`, or read back as JSON).
_c_encode: Callable[[Any, int], Any] | None = (
    c_make_encoder(None, _encoder.default, encode_basestring, None, ":", ",", True, False, True)
    if c_make_encoder is not None
    else None
)


def _dumps(value: Any) -> str:
    if _c_encode is None:
        return _encoder.encode(value)
    return "".join(_c_encode(value, 0))


_SETTINGS = frozenset({"AUDIT_MAC_KEYS", "AUDIT_MAC_ACTIVE_KEY_ID"})


_BLOCK = 64  # SHA-256's block size, in bytes (RFC 2104's B)


def _pads(key: bytes) -> tuple[Any, Any]:
    """The inner and outer hashes of HMAC-SHA256 (RFC 2104) with `key` already absorbed:
    what the standard library's `hmac.HMAC` keeps between `copy()`s."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\x00")
    inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in key))
    outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in key))
    return inner, outer


class MacKeys:
    """The MAC keys by id and the active id. The repr names ids only.

    `mac` computes HMAC-SHA256 from each key's pads, made once: the same bytes as
    `hmac.digest(key, message, "sha256")` (a test compares them) at half its cost,
    which OpenSSL's one-shot HMAC spends setting the key up again for every message,
    and verification checks one MAC per event of the trail."""

    __slots__ = ("_keys", "_pads", "active_key_id")

    def __init__(self, *, keys: Mapping[str, bytes], active_key_id: str) -> None:
        self._keys = dict(keys)
        self._pads = {key_id: _pads(key) for key_id, key in self._keys.items()}
        self.active_key_id = active_key_id

    def __repr__(self) -> str:
        return f"MacKeys(key_ids={sorted(self._keys)!r}, active_key_id={self.active_key_id!r})"

    def get(self, key_id: str) -> bytes | None:
        return self._keys.get(key_id)

    def mac(self, key_id: str, message: bytes) -> bytes | None:
        """HMAC-SHA256 of `message` under the key `key_id`; None for an unknown id."""
        pads = self._pads.get(key_id)
        if pads is None:
            return None
        inner, outer = pads[0].copy(), pads[1].copy()
        inner.update(message)
        outer.update(inner.digest())
        digest: bytes = outer.digest()
        return digest


def parse_mac_keys(*, keys: str, active_key_id: str) -> MacKeys | None:
    """The two settings parsed; None when no key is configured. Malformed values raise
    ImproperlyConfigured without echoing key material."""
    ring = parse_key_ring(
        keys=keys,
        active_key_id=active_key_id,
        keys_setting="AUDIT_MAC_KEYS",
        active_setting="AUDIT_MAC_ACTIVE_KEY_ID",
        size_problem=lambda raw: (
            None if len(raw) >= MIN_KEY_BYTES else f"must be at least {MIN_KEY_BYTES} bytes"
        ),
        max_id_length=32,  # the event's mac_key_id column
    )
    if ring is None:
        return None
    parsed, active = ring
    return MacKeys(keys=parsed, active_key_id=active)


_lock = threading.Lock()
_cache: dict[str, MacKeys | None] = {}


def mac_keys() -> MacKeys | None:
    """The keys from settings (parsed once, again after a settings change)."""
    if "keys" in _cache:  # the common case, without the lock (a dict read is atomic)
        return _cache["keys"]
    with _lock:
        if "keys" not in _cache:
            _cache["keys"] = parse_mac_keys(
                keys=getattr(settings, "AUDIT_MAC_KEYS", "") or "",
                active_key_id=getattr(settings, "AUDIT_MAC_ACTIVE_KEY_ID", "") or "",
            )
        return _cache["keys"]


@receiver(setting_changed)
def _reset_on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in _SETTINGS:
        with _lock:
            _cache.clear()


def _plain(value: Any) -> Any:
    """A JSON value as it comes back from either database (see the module docstring)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _address(value: Any) -> str | None:
    return None if value is None else _exploded(str(value))


@functools.lru_cache(maxsize=4096)
def _exploded(value: str) -> str:
    # Cached: the same few addresses recur on thousands of events.
    try:
        return ipaddress.ip_address(value).exploded
    except ValueError:
        return value  # SQLite keeps any text; it comes back as written


def _utc(value: dt.datetime | str) -> str:
    """Format 1's time text (apps.audit.chain.utc_timestamp), by the faster isoformat;
    a string is that text already (read from format 2, `values_from_text`)."""
    if isinstance(value, str):
        return value
    if value.tzinfo is not dt.UTC:  # timezone.now()'s is, so the writer skips this
        if value.tzinfo is None:
            raise ValueError("audit times must be timezone-aware")
        value = value.astimezone(dt.UTC)
    return value.isoformat(timespec="microseconds")[:-6] + "Z"


def message(key_id: str, nonce: str, values: Sequence[Any]) -> bytes:
    """The bytes the MAC covers. `values`: the MAC_FIELDS values, as read back from the
    database (or normalised by `_as_written`)."""
    fields = list(values)
    fields[_TIME] = _utc(fields[_TIME])
    fields[_IP] = _address(fields[_IP])
    for index in _JSON:
        fields[index] = _plain(fields[index])
    return _message(key_id, nonce, fields)


def _message(key_id: str, nonce: str, fields: Sequence[Any]) -> bytes:
    """`message` for values in the message's form already (`values_from_text`'s)."""
    body = _dumps(fields).encode("utf-8")
    return b"".join(
        (_DOMAIN, key_id.encode("ascii"), b"\x00", nonce.encode("ascii"), b"\x00", body)
    )


_UNESCAPE = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}
_ESCAPED = re.compile(r"\\(.)")
_COLUMN = {name: CANONICAL_COLUMNS.index(name) for name in MAC_FIELDS}


def _number(text: str) -> int | float:
    # What `_plain` does after parsing, done while parsing: an integral float is the int.
    value = float(text)
    return int(value) if value.is_integer() else value


_decoder = json.JSONDecoder(parse_float=_number)


def _unescape(value: str) -> str:
    if "\\" not in value:
        return value
    return _ESCAPED.sub(lambda m: _UNESCAPE[m.group(1)], value)


def _json(value: str) -> Any:
    # Most events have no changed fields and few details: skip the parser for those.
    if value == "[]":
        return []
    if value == "{}":
        return {}
    # raw_decode: jsonb's text has no surrounding whitespace for decode() to skip (two
    # regular expressions per call); anything after the value is left to decode().
    parsed, end = _decoder.raw_decode(value)
    return parsed if end == len(value) else _decoder.decode(value)


def values_from_text(text: str) -> list[Any]:
    """The MAC_FIELDS values out of an event's format 2 text (apps.audit.chain), as the
    ORM would read them, except that they are in the message's form already (`message`
    would leave them as they are): the time as its text, the address exploded, integral
    floats as ints. The verifier reads each event once, as the text it hashes, on
    PostgreSQL, and checks it with `text_mac_problem`. Unrolled: it runs once per event
    of every verification."""
    c = text.split("\t")
    col, u = _COLUMN, _unescape
    actor, address = c[col["actor_id"]], c[col["client_ip"]]
    return [
        c[col["occurred_at"]],
        None if actor == "\\N" else int(actor),
        u(c[col["actor_username"]]),
        u(c[col["action"]]),
        u(c[col["object_type"]]),
        u(c[col["object_id"]]),
        u(c[col["object_label"]]),
        _json(c[col["changed_fields"]]),
        _json(c[col["details"]]),
        u(c[col["reason"]]),
        u(c[col["request_id"]]),
        None if address == "\\N" else _exploded(address),
        u(c[col["user_agent"]]),
    ]


# The canonical columns (format 2) of the MAC_FIELDS, in message order.
_TEXT_COLUMNS = tuple(_COLUMN[name] for name in MAC_FIELDS)
(_C_TIME, _C_ACTOR, _C_USER, _C_ACTION, _C_TYPE, _C_ID, _C_LABEL, _C_CHANGED, _C_DETAILS) = (
    _TEXT_COLUMNS[:9]
)
(_C_REASON, _C_REQUEST, _C_ADDRESS, _C_AGENT) = _TEXT_COLUMNS[9:]
_TEXT_MAC_FIELDS = len(CANONICAL_COLUMNS) + len(MAC_COLUMNS)


# What `encode_basestring` escapes in a str (a test checks every code point): a str
# without these encodes as itself in double quotes.
_NEEDS_ESCAPE = re.compile(r'[\x00-\x1f"\\]')


@functools.lru_cache(maxsize=4096)
def _json_text(value: str) -> str:
    """`_dumps(_json(value))`: jsonb's text of a JSON column in the message's form.
    Cached, as `_exploded`: many events' details are one of a few (a version number, a
    read's purpose and fields), and parsing and encoding them again cost up to a fifth
    of verification's MAC check per event."""
    if value == "[]" or value == "{}":
        return value
    return _dumps(_json(value))


# --- version 2 ------------------------------------------------------------------------


class _Unpredictable(Exception):
    """A value whose format 2 text `v2_text` cannot tell beforehand."""


def _format2_text(value: Any) -> str:
    # apps.audit.chain's escapes for a text column (backslash first), of the text the
    # database is sent (`_as_written`: a choice's value, say).
    if not isinstance(value, str):
        raise _Unpredictable
    if value.isprintable() and "\\" not in value:
        # Nothing to escape (TAB, LF and CR are not printable): most events' texts, the
        # empty ones included, without the four replacements.
        return value
    return (
        str(value)
        .replace("\\", "\\\\")
        .replace("\t", "\\t")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
    )


def _jsonb_key(key: str) -> tuple[int, bytes]:
    encoded = key.encode("utf-8")
    return len(encoded), encoded


_JSONB_SCALARS = frozenset({str, int, bool, type(None)})
# json's C encoder with jsonb's separators, keys in the order given (`_jsonb_order` puts
# them in jsonb's), no circular check (`_jsonb_order` copied every container).
_jsonb_encode: Callable[[Any, int], Any] | None = (
    c_make_encoder(None, _encoder.default, encode_basestring, None, ": ", ", ", False, False, True)
    if c_make_encoder is not None
    else None
)
_jsonb_fallback = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "))


def _jsonb_order(value: Any, strict: bool) -> Any:
    # Scalars are kept as they are without a call each: an event's details are mostly a
    # flat object of strings and integers, written with every event.
    kind = type(value)
    if kind in _JSONB_SCALARS:
        return value
    if kind is list:
        return [
            item if type(item) in _JSONB_SCALARS else _jsonb_order(item, strict) for item in value
        ]
    if kind is dict:
        keys = list(value)
        for key in keys:
            if type(key) is not str:
                raise _Unpredictable
        if len(keys) > 1:
            keys.sort(key=_jsonb_key)
        ordered = {}
        for key in keys:
            item = value[key]
            ordered[key] = item if type(item) in _JSONB_SCALARS else _jsonb_order(item, strict)
        return ordered
    if kind is float and not strict and value.is_integer():
        return int(value)
    raise _Unpredictable


def _jsonb(value: Any, *, strict: bool) -> str:
    """jsonb's text output of a JSON value (PostgreSQL's JsonbToCString): an object's
    keys shorter first by their UTF-8 length, then bytewise; ", " between items and
    ": " after a key; a string escaped as `encode_basestring` does it (PostgreSQL's
    escape_json escapes the same characters the same way: the quote, the backslash and
    the control characters, five of them in their short form, the rest as u00xx); an
    integer in decimal. A float is not predictable (numeric keeps the scale it was
    written with): `strict` refuses it, otherwise an integral one reads as its integer,
    as in version 1."""
    if value == [] or value == {}:  # most events' changed fields, many events' details
        return "[]" if type(value) is list else "{}"
    ordered = _jsonb_order(value, strict)
    if _jsonb_encode is None:
        return _jsonb_fallback.encode(ordered)
    return "".join(_jsonb_encode(ordered, 0))


@functools.lru_cache(maxsize=4096)
def _ipv4_text(text: str) -> bool:
    # Cached, as `_exploded`: the same few addresses recur on thousands of events.
    try:
        return str(ipaddress.IPv4Address(text)) == text
    except ValueError:
        return False  # IPv6: PostgreSQL's and Python's short forms differ


def _ipv4(value: Any) -> str:
    if value is None:
        return "\\N"
    text = str(value)
    if not _ipv4_text(text):
        raise _Unpredictable
    return text


def v2_text(values: Sequence[Any], *, strict: bool = False) -> str | None:
    """The format 2 texts of the MAC_FIELDS joined by TAB, as PostgreSQL renders them
    (apps.audit.chain), from the values as written or read back (the time as a datetime
    or as its format 2 text); None where the rendering cannot be told beforehand.
    `strict` (the writer) also refuses floats, which a check reads as version 1 does."""
    (
        time,
        actor,
        user,
        action,
        kind,
        ident,
        label,
        changed,
        details,
        reason,
        request,
        ip,
        agent,
    ) = values
    if actor is not None and type(actor) is not int:
        return None
    try:
        fields = (
            _utc(time),
            "\\N" if actor is None else str(actor),
            _format2_text(user),
            _format2_text(action),
            _format2_text(kind),
            _format2_text(ident),
            _format2_text(label),
            _jsonb(changed, strict=strict),
            _jsonb(details, strict=strict),
            _format2_text(reason),
            _format2_text(request),
            _ipv4(ip),
            _format2_text(agent),
        )
    except (_Unpredictable, ValueError):  # ValueError: an integer too long for str()
        return None
    return "\t".join(fields)


def _message_v2(key_id: str, nonce: str, text: str) -> bytes:
    return b"".join(
        (_DOMAIN_V2, key_id.encode("ascii"), b"\x00", nonce.encode("ascii"), b"\x00", text.encode())
    )


def line_mac_ok(keys: MacKeys, covered: bytes) -> bool:
    """Whether an event read as its format 4 line (the canonical columns, then key id,
    nonce and MAC, TAB-separated) carries its MAC. Version 2 straight from the line's
    bytes: its message is the line without the id, actor_division and actor_roles
    columns (and without the key id, nonce and MAC). Version 1 by `_v1_line_mac_ok`.
    Verification's hot loop: one call per event."""
    try:
        head, key_id, nonce, mac = covered.rsplit(b"\t", 3)
        if nonce[:2] != _V2_BYTES:
            return _v1_line_mac_ok(keys, covered.decode("utf-8"))
        _id, time, actor, user, _division, _roles, rest = head.split(b"\t", 6)
        digest = keys.mac(
            key_id.decode("ascii"),
            b"".join(
                (
                    _DOMAIN_V2,
                    key_id,
                    b"\x00",
                    nonce,
                    b"\x00",
                    time,
                    b"\t",
                    actor,
                    b"\t",
                    user,
                    b"\t",
                    rest,
                )
            ),
        )
    except (ValueError, UnicodeError):
        return False
    return digest is not None and hmac.compare_digest(hexlify(digest), mac)


def _v1_line_mac_ok(keys: MacKeys, line: str) -> bool:
    """Whether an event read as its format 4 line (the canonical columns, then key id,
    nonce and MAC, TAB-separated) carries its MAC: exactly
    `text_mac_problem((*values_from_text(text), key_id, nonce, mac)) is None`, without
    the list of values in between. `_dumps` of a list is "[", its items' encodings
    joined by ",", "]"; a str item is `encode_basestring` of it, an int its repr, None
    "null"; so the message is built here from the fields directly (a test compares
    the two on awkward values). Verification's hot loop: one call per event."""
    c = line.split("\t")
    if len(c) != _TEXT_MAC_FIELDS:
        return False
    key_id, nonce, mac = c[-3:]
    if not mac or not (key_id.isascii() and nonce.isascii()):
        return False  # no MAC; or `message` could not encode them (unreadable)
    actor, address = c[_C_ACTOR], c[_C_ADDRESS]
    actor_json = "null" if actor == "\\N" else repr(int(actor))
    address_json = "null" if address == "\\N" else encode_basestring(_exploded(address))
    changed, details = _json_text(c[_C_CHANGED]), _json_text(c[_C_DETAILS])
    time, user, action, kind, ident, label, reason, request, agent = (
        c[_C_TIME],
        c[_C_USER],
        c[_C_ACTION],
        c[_C_TYPE],
        c[_C_ID],
        c[_C_LABEL],
        c[_C_REASON],
        c[_C_REQUEST],
        c[_C_AGENT],
    )
    if not _NEEDS_ESCAPE.search(
        time + user + action + kind + ident + label + reason + request + agent
    ):
        # The usual event: no text column holds a backslash (so format 2 escaped none),
        # a quote or a control character, so each one's JSON is itself in quotes.
        body = (
            f'"{time}",{actor_json},"{user}","{action}","{kind}","{ident}","{label}",'
            f'{changed},{details},"{reason}","{request}",{address_json},"{agent}"'
        )
    else:
        e, u = encode_basestring, _unescape
        body = ",".join(
            (
                e(time),
                actor_json,
                e(u(user)),
                e(u(action)),
                e(u(kind)),
                e(u(ident)),
                e(u(label)),
                changed,
                details,
                e(u(reason)),
                e(u(request)),
                address_json,
                e(u(agent)),
            )
        )
    message = f"{key_id}\x00{nonce}\x00[{body}]"
    digest = keys.mac(key_id, _DOMAIN + message.encode())
    return digest is not None and hmac.compare_digest(digest.hex(), mac)


# Values a JSON round trip gives back as they are (exact types: a subclass of str or
# int may encode differently; floats go the long way, for NaN and infinities).
_JSON_SCALARS = frozenset({str, int, bool, type(None)})


def _json_as_is(value: Any) -> bool:
    """Whether `value` is what the JSON round trip would give back: a scalar, or a list
    or a dict with string keys holding scalars (an event's usual changed fields and
    details). Anything else takes the round trip. (A dict in a loop, not all() over a
    generator: this runs for every event written.)"""
    kind = type(value)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or type(item) not in _JSON_SCALARS:
                return False
        return True
    if kind is list:
        return all(type(item) in _JSON_SCALARS for item in value)
    return kind in _JSON_SCALARS


def _as_written(values: Iterable[Any]) -> list[Any]:
    """What the database will give back for values about to be written: JSON through a
    JSON round trip (tuples become lists, keys become strings), text as str (a lazy
    translation, say)."""
    fields = list(values)
    for index in _JSON:
        if not _json_as_is(fields[index]):
            fields[index] = json.loads(json.dumps(fields[index]))
    for index in _TEXT:
        value = fields[index]
        if value is not None and type(value) is not str:
            fields[index] = str(value)
    return fields


# The MAC_FIELDS of an event, as one tuple (one C call instead of thirteen getattr).
_mac_fields_of = operator.attrgetter(*MAC_FIELDS)


def authenticate(event: AuditEvent, *, vendor: str) -> None:
    """Give an event about to be inserted into a database of `vendor` its key id, nonce
    and MAC: version 2 on PostgreSQL where `v2_text` can tell the database's rendering,
    version 1 otherwise. Without AUDIT_MAC_KEYS no event can be written: the sealer
    would refuse it anyway."""
    keys = mac_keys()
    if keys is None:
        raise ImproperlyConfigured(
            "AUDIT_MAC_KEYS is not set: audit events cannot be authenticated "
            "(run `manage.py init_local_keys` on a development machine)"
        )
    key_id = keys.active_key_id
    values = _as_written(_mac_fields_of(event))
    text = v2_text(values, strict=True) if vendor == "postgresql" else None
    if text is not None:
        nonce = V2 + secrets.token_hex(NONCE_BYTES - 1)
        digest = keys.mac(key_id, _message_v2(key_id, nonce, text))
    else:
        nonce = secrets.token_hex(NONCE_BYTES)
        digest = keys.mac(key_id, message(key_id, nonce, values))
    assert digest is not None  # the active id names a key (parse_mac_keys)
    event.mac_key_id, event.mac_nonce = key_id, nonce
    event.mac = digest.hex()


def mac_problem(row: Sequence[Any]) -> str | None:
    """Why an event read back with MAC_VALUES is not authentic, or None if it is."""
    return _problem(row, message)


def text_mac_problem(row: Sequence[Any]) -> str | None:
    """`mac_problem` for a row whose values come from `values_from_text`: they are not
    normalised a second time (verification's per-event cost)."""
    return _problem(row, _message)


def _problem(row: Sequence[Any], make: Callable[[str, str, Sequence[Any]], bytes]) -> str | None:
    *values, key_id, nonce, mac = row
    if not mac:
        return "it has no MAC"
    keys = mac_keys()
    if keys is None or keys.get(key_id) is None:
        return f"its MAC key id {key_id!r} is not in AUDIT_MAC_KEYS"
    try:
        if nonce.startswith(V2):
            text = v2_text(values)
            if text is None:  # no version 2 writer wrote these values
                return "its MAC does not match"
            digest = keys.mac(key_id, _message_v2(key_id, nonce, text))
        else:
            digest = keys.mac(key_id, make(key_id, nonce, values))
    except (ValueError, TypeError, UnicodeEncodeError):
        return "its MAC fields cannot be read"
    assert digest is not None
    if not hmac.compare_digest(digest.hex(), mac):
        return "its MAC does not match"
    return None
