"""The audit INSERT's parameters are prepared without calling each field's
`get_db_prep_save` where its result is known (apps.audit.services._row_params): they
must be exactly what the ORM would send, on either database, for every column and for
the awkward values too (a lazy translation, an enum member, a tuple, an IPv6 address)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.models.signals import post_init
from django.utils.translation import gettext_lazy

from apps.accounts.models import User
from apps.audit import services
from apps.audit.context import RequestContext, bound_request_context
from apps.audit.mac import authenticate
from apps.audit.models import AuditAction, AuditEvent

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


def _comparable(value: Any) -> Any:
    # psycopg's Jsonb wraps the value (and the dumps it will use); compare the wrapped
    # value and the wrapper's type.
    if hasattr(value, "obj") and hasattr(value, "dumps"):
        return (type(value), value.obj, value.dumps)
    return (type(value), value)


def _orm_params(event: AuditEvent) -> list[Any]:
    return [
        _comparable(f.get_db_prep_save(getattr(event, f.attname), connection))
        for f, _attname, _how in services._COLUMNS
    ]


def _events(actor: User | None) -> list[AuditEvent]:
    writer = services._Writer(actor, None)
    plain = writer.event(action=AuditAction.EXPORT, details={"n": 1})
    awkward = writer.event(
        action=AuditAction.CONFIGURATION_CHANGED,
        object_label=gettext_lazy("Applications"),  # type: ignore[arg-type]
        changed_fields=("b", "a"),
        details={"tuple": (1, 2), "nested": {"x": [1.5, None]}},
        reason='理由\t"quoted"',
    )
    awkward.changed_fields = ("b", "a")  # a tuple, not the list event() makes
    return [plain, awkward]


@pytest.mark.parametrize("with_actor", [True, False])
def test_row_params_are_what_the_orm_would_send(clerk: User, with_actor: bool) -> None:
    context = RequestContext(request_id="r-1", client_ip="2001:DB8::0001", user_agent="UA")
    with bound_request_context(context):
        events = _events(clerk if with_actor else None)
    for event in events:
        authenticate(event, vendor=connection.vendor)
        ours = [_comparable(value) for value in services._row_params(event, connection, False)]

        assert ours == _orm_params(event)


def test_an_event_built_without_the_constructor_is_the_constructors(clerk: User) -> None:
    """`_new_event` skips Model.__init__ (as unpickling does): the instance must hold the
    same attributes and state as `AuditEvent(*values)`."""
    event = services._Writer(clerk, None).event(action=AuditAction.EXPORT, details={"n": 1})
    values = [getattr(event, name) for name in services._ATTNAMES]
    built = AuditEvent(*values)  # type: ignore[misc]

    def attributes(instance: AuditEvent) -> dict[str, Any]:
        return {k: v for k, v in vars(instance).items() if k != "_state"}

    fast = services._new_event(*values)
    assert attributes(fast) == attributes(built)
    assert (fast._state.adding, fast._state.db) == (built._state.adding, built._state.db)
    assert fast.actor_id == clerk.pk and fast.details == {"n": 1}


def test_with_an_init_receiver_for_audit_events_the_constructor_is_used(clerk: User) -> None:
    seen: list[AuditEvent] = []

    def receiver(sender: type, instance: AuditEvent, **kwargs: Any) -> None:
        seen.append(instance)

    post_init.connect(receiver, sender=AuditEvent)
    try:
        event = services._Writer(clerk, None).event(action=AuditAction.EXPORT)
    finally:
        post_init.disconnect(receiver, sender=AuditEvent)

    assert seen == [event]


class _Result:
    """What `_returned_ids` reads of psycopg's `pgresult`: libpq's values, as bytes."""

    def __init__(self, ids: list[int], *, binary: bool = False) -> None:
        self.ids, self.binary = ids, binary
        self.ntuples, self.nfields = len(ids), 1

    def fformat(self, column: int) -> int:
        return 1 if self.binary else 0

    def get_value(self, row: int, column: int) -> bytes:
        return str(self.ids[row]).encode()


class _Cursor:
    def __init__(self, result: _Result | None, fetched: list[int]) -> None:
        self.cursor = type("Raw", (), {"pgresult": result})() if result else object()
        self.fetched = fetched

    def fetchall(self) -> list[tuple[int]]:
        return [(pk,) for pk in self.fetched]


def test_returned_ids_are_read_from_libpq_result_when_it_is_what_the_insert_returned():
    cursor = _Cursor(_Result([41, 42]), fetched=[])  # fetchall would give nothing

    assert services._returned_ids(cursor, 2) == [41, 42]


@pytest.mark.parametrize(
    "result",
    [
        None,  # SQLite's cursor: no pgresult
        _Result([41]),  # fewer rows than events: not this INSERT's answer as expected
        _Result([41, 42], binary=True),  # binary format: not digits
    ],
    ids=["no-pgresult", "row-count-differs", "binary-result"],
)
def test_returned_ids_fall_back_to_fetchall_otherwise(result: _Result | None):
    cursor = _Cursor(result, fetched=[7, 8])

    assert services._returned_ids(cursor, 2) == [7, 8]
