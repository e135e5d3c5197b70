"""MAC version 2 (apps.audit.mac): on PostgreSQL an event's MAC covers the database's own
format 2 text of its columns, which the writer predicts in Python. The prediction must
be exact for every event written in version 2 (else the sealer would refuse genuine
events), and every other event keeps version 1."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from apps.audit import mac
from apps.audit.context import RequestContext, bound_request_context
from apps.audit.mac import MAC_FIELDS, authenticate, line_mac_ok, mac_keys, mac_problem, v2_text
from apps.audit.models import AuditAction, AuditEvent, AuditSeal
from apps.audit.sealing import audit_seal
from apps.audit.services import audit_record
from apps.audit.stream import copied_lines
from apps.audit.verification import audit_verify
from tests.audit.conftest import triggers_lifted, unguarded
from tests.conftest import require_postgres

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])

_V1_NONCE = re.compile(r"[0-9a-f]{24}")
_V2_NONCE = re.compile(r"v2[0-9a-f]{22}")

# Values inside what version 2 predicts, chosen where PostgreSQL's rendering could
# differ from a naive one: jsonb's key order (shorter first by UTF-8 length, then
# bytewise: "é" is two bytes), its separators, escapes in JSON strings and in text
# columns, integers beyond 64 bits, nesting, empty containers.
_PREDICTABLE: list[dict[str, Any]] = [
    {"details": {}, "changed_fields": [], "reason": ""},
    {
        "details": {"bb": 1, "a": 2, "é": 3, "ab": [True, False, None], "c": {"z": 0, "y": -5}},
        "changed_fields": ["b", "a", "b"],
        "reason": 'quote " backslash \\ tab \t newline \n cr \r',
    },
    {
        "details": {"s": 'a"b\\c\td\ne\x01f\x1fg\x7fh', "big": 2**80, "neg": -(2**70), "": ""},
        "changed_fields": ["日本語"],
        "reason": "\\N",
    },
    {
        "details": {"nested": [{"k": [1, [2, [3]]]}, {}], "emoji": "😀 \u2028 \u00e9"},
        "changed_fields": [],
        "reason": "絵文字 😀",
    },
    {"details": {"ab": 1, "b": 2, "aa": 3, "ba": 4, "a": 5}, "changed_fields": [], "reason": "x"},
]
_CONTEXTS = [
    RequestContext(request_id="r\\1\tx", client_ip="192.0.2.7", user_agent='UA "q" \\ é'),
    RequestContext(request_id="", client_ip=None, user_agent=""),
]


def _write(actor: Any, values: dict[str, Any], context: RequestContext) -> AuditEvent:
    with bound_request_context(context):
        return audit_record(
            actor=actor,
            action=AuditAction.PII_READ,
            obj=actor,
            object_label="label\\\n\t\r",
            **values,
        )


def _covered_lines() -> dict[int, bytes]:
    """Each sealed event's format 4 line as the walk reads it, by event id."""
    with copied_lines("default", after=0, until=10**9) as lines:
        found = {}
        for line in lines:
            _seq, event_id, _prev, _hash, _fmt, covered = line.split(b"\t", 5)
            found[int(event_id)] = covered
    return found


def _rendered_mac_fields(covered: bytes) -> str:
    """What version 2 covers, cut out of the database's line: the columns but the id,
    actor_division and actor_roles, before key id, nonce and MAC."""
    head = covered.decode().rsplit("\t", 3)[0].split("\t")
    return "\t".join(head[1:4] + head[6:])


def test_a_jsonb_text_is_predicted_in_postgresqls_layout():
    values: list[Any] = [""] * len(MAC_FIELDS)
    values[MAC_FIELDS.index("occurred_at")] = dt.datetime(2026, 12, 3, 1, 2, 3, 4, tzinfo=dt.UTC)
    values[MAC_FIELDS.index("actor_id")] = 12
    values[MAC_FIELDS.index("changed_fields")] = ["b", "a"]
    values[MAC_FIELDS.index("details")] = {"bb": 1, "é": [True, None], "a": {"y": "\t"}}
    values[MAC_FIELDS.index("client_ip")] = None
    values[MAC_FIELDS.index("reason")] = "a\\b\tc"

    text = v2_text(values)

    assert text is not None
    fields = text.split("\t")
    assert fields[0] == "2026-12-03T01:02:03.000004Z"
    assert fields[1] == "12"
    assert fields[MAC_FIELDS.index("changed_fields")] == '["b", "a"]'
    assert fields[MAC_FIELDS.index("details")] == '{"a": {"y": "\\t"}, "bb": 1, "é": [true, null]}'
    assert fields[MAC_FIELDS.index("client_ip")] == "\\N"
    assert text.endswith("\ta\\\\b\\tc\t\t\\N\t")  # reason, request id, address, agent


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("details", {"x": 1.5}),
        ("details", {"x": 1.0}),  # numeric keeps "1.0"
        ("changed_fields", [0.1]),
        ("client_ip", "2001:db8::1"),  # PostgreSQL's and Python's short IPv6 forms differ
        ("client_ip", "::ffff:192.0.2.9"),
    ],
)
def test_a_value_whose_rendering_cannot_be_told_is_not_predicted_for_a_writer(name, value):
    values: list[Any] = [""] * len(MAC_FIELDS)
    values[MAC_FIELDS.index("occurred_at")] = dt.datetime(2026, 12, 3, tzinfo=dt.UTC)
    values[MAC_FIELDS.index("actor_id")] = None
    values[MAC_FIELDS.index("changed_fields")] = []
    values[MAC_FIELDS.index("details")] = {}
    values[MAC_FIELDS.index("client_ip")] = None
    assert v2_text(values, strict=True) is not None
    values[MAC_FIELDS.index(name)] = value

    assert v2_text(values, strict=True) is None


def test_sqlite_events_and_unpredictable_ones_keep_version_1(clerk):
    event = AuditEvent(actor=clerk, actor_username="c", action=AuditAction.PII_READ)
    authenticate(event, vendor="sqlite")
    assert _V1_NONCE.fullmatch(event.mac_nonce)

    event = AuditEvent(
        actor=clerk, actor_username="c", action=AuditAction.PII_READ, details={"x": 0.5}
    )
    authenticate(event, vendor="postgresql")
    assert _V1_NONCE.fullmatch(event.mac_nonce)

    event = AuditEvent(actor=clerk, actor_username="c", action=AuditAction.PII_READ)
    authenticate(event, vendor="postgresql")
    assert _V2_NONCE.fullmatch(event.mac_nonce)
    # Checked from the values in hand too (the action is a choice, a str subclass).
    assert mac_problem([*(getattr(event, name) for name in MAC_FIELDS), *_mac(event)]) is None


def _mac(event: AuditEvent) -> tuple[str, str, str]:
    return event.mac_key_id, event.mac_nonce, event.mac


@pytest.mark.postgres
def test_postgresql_renders_exactly_what_the_writer_predicted(clerk):
    require_postgres()
    keys = mac_keys()
    assert keys is not None
    written: dict[int, tuple[str, AuditEvent]] = {}
    for n, values in enumerate(_PREDICTABLE):
        for actor in (clerk, None):
            event = _write(actor, values, _CONTEXTS[n % len(_CONTEXTS)])
            assert _V2_NONCE.fullmatch(event.mac_nonce), values
            predicted = v2_text(mac._as_written(getattr(event, f) for f in MAC_FIELDS))
            assert predicted is not None
            written[event.pk] = (predicted, event)

    assert audit_seal().refused == ()
    lines = _covered_lines()
    for event_id, (predicted, _event) in written.items():
        assert _rendered_mac_fields(lines[event_id]) == predicted
        assert line_mac_ok(keys, lines[event_id])
    read_back = AuditEvent.objects.filter(pk__in=written).values_list(
        *MAC_FIELDS, "mac_key_id", "mac_nonce", "mac"
    )
    assert all(mac_problem(row) is None for row in read_back)
    assert audit_verify(record=False).ok


@pytest.mark.postgres
def test_an_unpredictable_event_is_written_in_version_1_and_verifies(clerk):
    require_postgres()
    event = _write(
        clerk,
        {"details": {"ratio": 0.25, "whole": 2.0}, "changed_fields": [], "reason": ""},
        RequestContext(request_id="r", client_ip="2001:db8::1", user_agent="UA"),
    )
    assert _V1_NONCE.fullmatch(event.mac_nonce)
    assert audit_seal().refused == ()
    assert audit_verify(record=False).ok


@pytest.mark.postgres
@pytest.mark.parametrize("change", ["to version 1", "another nonce", "another details"])
def test_a_version_2_event_changed_in_the_database_is_refused(clerk, change):
    require_postgres()
    keys = mac_keys()
    assert keys is not None
    event = _write(clerk, _PREDICTABLE[1], _CONTEXTS[0])
    assert _V2_NONCE.fullmatch(event.mac_nonce)
    if change == "to version 1":  # the same random part, read as a version 1 nonce
        update: dict[str, Any] = {"mac_nonce": "00" + event.mac_nonce[2:]}
    elif change == "another nonce":
        update = {"mac_nonce": "v2" + event.mac_nonce[4:] + "00"}
    else:
        update = {"details": {**_PREDICTABLE[1]["details"], "bb": 2}}
    with triggers_lifted():
        unguarded(AuditEvent).filter(pk=event.pk).update(**update)

    result = audit_seal()

    assert [event_id for event_id, _why in result.refused] == [event.pk]
    assert not AuditSeal.objects.filter(event_id=event.pk).exists()
