"""Writing audit events. Callers run inside their own transaction.atomic() block so the
event commits or rolls back together with the change it records.

An insert is all it takes: no hash, no lock, so concurrent writers never queue behind
one another. The sealer chains the committed events afterwards (apps.audit.sealing).
The actor's division and roles are read by the INSERT itself (apps.audit.snapshot):
one statement per event, and never a stale snapshot."""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import connections, models, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field
from django.db.models.base import ModelState
from django.db.models.signals import post_init, post_save, pre_init, pre_save
from django.utils import timezone

from apps.accounts.models import User
from apps.core.prepared import prepared_cursor
from apps.core.statements import Rider, read_counts, with_riders

from .chain import MAC_COLUMNS, VALUES_FIELDS
from .context import RequestContext, current_request_context
from .history import snapshots_at
from .mac import authenticate
from .models import AuditAction, AuditEvent
from .snapshot import snapshot_sql


def audit_record(
    *,
    actor: User | None,
    action: AuditAction,
    obj: models.Model | None = None,
    object_label: str = "",
    changed_fields: Iterable[str] = (),
    details: Mapping[str, Any] | None = None,
    reason: str = "",
    actor_username: str | None = None,
    riders: Sequence[Rider] = (),
) -> AuditEvent:
    """Append one event. `details` and `reason` must hold no personal data: callers pass
    codes, ids, states and field names; free-text reasons are leak-scanned by the caller.
    The request id, client address and user agent come from the request being handled
    (apps.audit.middleware), if any. `actor_username` names an actor that is not a user
    (e.g. an anonymous visitor); the default is the user's name, or "system". `riders`:
    as `audit_record_many`'s."""
    event = _Writer(actor, actor_username).event(
        action=action,
        obj=obj,
        object_label=object_label,
        changed_fields=changed_fields,
        details=details,
        reason=reason,
    )
    _insert([event], riders)
    return event


def audit_record_each(
    *,
    actor: User | None,
    action: AuditAction,
    objects: Iterable[models.Model],
    details: Mapping[str, Any] | None = None,
) -> list[AuditEvent]:
    """One event per object, the same action by the same actor (e.g. every row a retail
    list page showed): the actor's snapshot is read once (one SELECT) and the rows go in
    one INSERT."""
    writer = _Writer(actor, None)
    events = [writer.event(action=action, obj=obj, details=details) for obj in objects]
    if not events:
        return []
    if actor is not None:
        alias = router.db_for_write(AuditEvent)
        connection = connections[alias]
        division_sql, roles_sql = snapshot_sql(connection)
        moment = _DIVISION_MOMENT.get_db_prep_save(events[0].occurred_at, connection)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT COALESCE(({division_sql}), ''), ({roles_sql})",
                [actor.pk, moment, moment, actor.pk],
            )
            division, roles = cursor.fetchone()
        roles = _from_db(_ROLES_COL, roles, connection)
        for event in events:
            event.actor_division, event.actor_roles = division, list(roles)
    return AuditEvent.objects.bulk_create(events)


@dataclass(frozen=True)
class Entry:
    """One event of `audit_record_many`: audit_record's arguments less the actor."""

    action: AuditAction
    obj: models.Model | None = None
    object_label: str = ""
    changed_fields: Iterable[str] = ()
    details: Mapping[str, Any] | None = None
    reason: str = ""


def audit_record_many(
    *, actor: User | None, entries: Sequence[Entry], riders: Sequence[Rider] = ()
) -> list[AuditEvent]:
    """Append several events of one actor in one INSERT (a verification's grant and the
    verification itself): what `audit_record` does for each — its own time and MAC
    (apps.audit.mac, in Python before the statement), the actor's division and roles
    read by the INSERT's subqueries (apps.audit.snapshot), the signals of a save — with
    one round trip for all. The events are returned in the order given, ids set.

    `riders`: rows of the same database that the events record (an application's
    contribution row beside its transition's event, the messages it sends), each an
    INSERT and its parameters (apps.core.statements.Rider): on PostgreSQL written by
    the events' own statement (a part of its WITH), one round trip fewer each; elsewhere
    each INSERT just before, in one transaction with the events. Once they are written
    (a counted rider's `written` set), each rider's `landed` is called."""
    writer = _Writer(actor, None)
    events = [
        writer.event(
            action=entry.action,
            obj=entry.obj,
            object_label=entry.object_label,
            changed_fields=entry.changed_fields,
            details=entry.details,
            reason=entry.reason,
        )
        for entry in entries
    ]
    _insert(events, riders)
    return events


@dataclass(frozen=True)
class PastEvent:
    """An event that happened before it is written: its own time, actor, object (named by
    type, id and label, so no model instance is needed) and request context."""

    actor: User
    action: AuditAction
    occurred_at: dt.datetime
    object_type: str = ""
    object_id: str = ""
    object_label: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)
    context: RequestContext | None = None


def audit_record_past(*, events: Sequence[PastEvent]) -> list[AuditEvent]:
    """Append events that happened elsewhere and earlier (retail views collected from the
    retail database, apps.audit.collector), in one INSERT. Each keeps its time and request
    context, and its actor's division and roles are those at that time
    (apps.audit.history), not now. Events in the past are outside the sealer's usual
    window: the caller seals them in the same transaction (sealing.audit_seal_written)."""
    snapshots = snapshots_at((event.actor.pk, event.occurred_at) for event in events)
    rows = []
    for event in events:
        context = event.context
        division, roles = snapshots[event.actor.pk, event.occurred_at]
        rows.append(
            AuditEvent(
                occurred_at=event.occurred_at,
                actor=event.actor,
                actor_username=event.actor.get_username(),
                actor_division=division,
                actor_roles=roles,
                action=event.action,
                object_type=event.object_type,
                object_id=event.object_id,
                object_label=event.object_label,
                details=dict(event.details),
                request_id=context.request_id if context else "",
                client_ip=context.client_ip if context else None,
                user_agent=context.user_agent if context else "",
            )
        )
    return AuditEvent.objects.bulk_create(rows)


_FIELDS: tuple[Field[Any, Any], ...] = tuple(
    f for f in AuditEvent._meta.concrete_fields if not f.primary_key
)
_DIVISION = AuditEvent._meta.get_field("actor_division")
_ROLES = AuditEvent._meta.get_field("actor_roles")
_DIVISION_MOMENT = AuditEvent._meta.get_field("occurred_at")
_ATTNAMES = tuple(f.attname for f in AuditEvent._meta.concrete_fields)
# The order `_Writer.event` passes the values in, which is the chain's (the canonical
# fields, then the MAC's): a migration that adds or moves a field must change both.
if (*VALUES_FIELDS, *MAC_COLUMNS) != _ATTNAMES:
    raise ImproperlyConfigured(f"AuditEvent's fields changed: {_ATTNAMES}; see _Writer.event")
_ACTOR = AuditEvent._meta.get_field("actor")
_ROLES_COL = _ROLES.get_col(AuditEvent._meta.db_table)


# How each column's value is prepared for the database, decided once per column: what
# `get_db_prep_save` would return, without its calls where the result is known.
_MOMENT = "moment"  # occurred_at: prepared once per event (the snapshot's moment too)
_TEXT = "text"  # CharField, TextField: any str as it is (their to_python returns it)
_ID = "id"  # the actor's id: an int as it is
_JSON_VALUE = "json"  # a list or a dict: the backend's JSON adapter, as JSONField's own
_OTHER = "other"


def _preparation(f: Field[Any, Any]) -> str:
    if f is _DIVISION_MOMENT:
        return _MOMENT
    if isinstance(f, (models.CharField, models.TextField)):
        return _TEXT
    if isinstance(f, models.ForeignKey):
        return _ID
    if isinstance(f, models.JSONField):
        return _JSON_VALUE
    return _OTHER


_COLUMNS: tuple[tuple[Field[Any, Any], str, str], ...] = tuple(
    (f, f.attname, _preparation(f)) for f in _FIELDS
)


# Every column's value of an event, in `_COLUMNS`' order, in one C call.
_column_values_of = operator.attrgetter(*(attname for _, attname, _ in _COLUMNS))
_AT = next(i for i, (f, _, _) in enumerate(_COLUMNS) if f is _DIVISION_MOMENT)
_DIVISION_AT = next(i for i, (f, _, _) in enumerate(_COLUMNS) if f is _DIVISION)
_ROLES_AT = next(i for i, (f, _, _) in enumerate(_COLUMNS) if f is _ROLES)
# What `_row_params` looks at, with the snapshot (True) or without: every column but the
# moment, and with the snapshot not the two columns its subqueries compute.
_PLANS: dict[bool, tuple[tuple[int, Field[Any, Any], str], ...]] = {
    with_snapshot: tuple(
        (i, f, how)
        for i, (f, _, how) in enumerate(_COLUMNS)
        if how is not _MOMENT and not (with_snapshot and f in (_DIVISION, _ROLES))
    )
    for with_snapshot in (False, True)
}

_SQL: dict[tuple[str, bool, int], str] = {}


def _insert_sql(connection: BaseDatabaseWrapper, with_snapshot: bool, rows: int) -> str:
    """The INSERT of `rows` events for this database, made once per vendor, kind and
    number of rows."""
    key = (connection.vendor, with_snapshot, rows)
    sql = _SQL.get(key)
    if sql is None:
        sql = _SQL[key] = _make_insert_sql(connection, with_snapshot, rows)
    return sql


def _make_insert_sql(connection: BaseDatabaseWrapper, with_snapshot: bool, rows: int) -> str:
    """The rows come back in the order of the VALUES (as bulk_create relies on, on both
    vendors)."""
    qn = connection.ops.quote_name
    division, roles = snapshot_sql(connection) if with_snapshot else ("", "")
    values = []
    for f in _FIELDS:
        if with_snapshot and f is _DIVISION:
            values.append(f"COALESCE(({division}), '')")
        elif with_snapshot and f is _ROLES:
            values.append(f"({roles})")
        else:
            values.append("%s")
    row = f"({', '.join(values)})"
    # Names from the model's metadata, quoted; values are parameters.
    table = qn(AuditEvent._meta.db_table)
    columns = ", ".join(qn(f.column) for f in _FIELDS)
    return (
        f"INSERT INTO {table} ({columns})"  # noqa: S608
        f" VALUES {', '.join([row] * rows)}"
        f" RETURNING {qn(AuditEvent._meta.pk.column)}"
    )


def _from_db(col: Any, value: Any, connection: BaseDatabaseWrapper) -> Any:
    """A value read by raw SQL, converted as the ORM converts that column."""
    for convert in connection.ops.get_db_converters(col) + col.get_db_converters(connection):
        value = convert(value, col, connection)
    return value


def _row_params(
    event: AuditEvent, connection: BaseDatabaseWrapper, with_snapshot: bool
) -> list[Any]:
    """One VALUES row's parameters: what `get_db_prep_save` gives for each column (a
    test compares them), at a quarter of its cost (3.9 against 14 µs): the values as
    they are, then one call per event for the moment, the JSON adapter directly for a
    list or a dict, and the field's own preparation only where a value is not what the
    column takes as it is (text that is not a str, say). With the snapshot, the
    division's and the roles' places take its subqueries' parameters instead."""
    params = list(_column_values_of(event))
    occurred = params[_AT]
    if type(occurred) is dt.datetime and occurred.tzinfo is not None:
        # What get_db_prep_save gives for an aware datetime, less its checks.
        moment = connection.ops.adapt_datetimefield_value(occurred)
    else:
        moment = _DIVISION_MOMENT.get_db_prep_save(occurred, connection)
    params[_AT] = moment
    adapt_json = connection.ops.adapt_json_value
    for index, f, how in _PLANS[with_snapshot]:
        value = params[index]
        if how is _TEXT:
            if not isinstance(value, str):
                params[index] = f.get_db_prep_save(value, connection)
        elif how is _JSON_VALUE and type(value) in (list, dict):
            params[index] = adapt_json(value, f.encoder)  # type: ignore[attr-defined]
        elif not (how is _ID and type(value) is int):
            params[index] = f.get_db_prep_save(value, connection)
    if with_snapshot:  # the later place first, so the earlier one's index holds
        actor_id = event.actor_id
        params[_ROLES_AT] = actor_id
        params[_DIVISION_AT : _DIVISION_AT + 1] = [actor_id, moment, moment]
    return params


def _insert(events: Sequence[AuditEvent], riders: Sequence[Rider] = ()) -> None:
    """`event.save(force_insert=True)` for each of `events` (one actor's), in one
    statement, except that for an actor the division and roles columns are scalar
    subqueries (apps.audit.snapshot) evaluated by this INSERT. Those two are then
    deferred fields of the event, as if it had been read with `defer()`: reading one
    loads it from the row (most callers never read them, and returning them cost a
    twentieth of an event's write). `riders` as `audit_record_many` takes them.

    On PostgreSQL the INSERT is prepared once per connection (apps.core.prepared): with
    its two subqueries it took longer to plan than to run, for every event."""
    if not events:
        if riders:
            raise ValueError("riders need an event to carry them")
        return
    alias = router.db_for_write(AuditEvent)
    connection = connections[alias]
    if riders and connection.vendor != "postgresql":
        # No INSERT inside a WITH: the riders just before, in one transaction with it.
        with transaction.atomic(using=alias, savepoint=False):
            for rider in riders:
                rider.run(connection)
            _insert(events)
            for rider in riders:
                rider.landed()
        return
    with_snapshot = events[0].actor_id is not None
    params: list[Any] = []
    for rider in riders:
        params += rider.params
    for event in events:
        # What save() would send, so a receiver on AuditEvent sees these inserts too.
        pre_save.send(AuditEvent, instance=event, raw=False, using=alias, update_fields=None)
        # In Python, before the one statement: the MAC covers none of what the INSERT's
        # subqueries compute (apps.audit.mac).
        authenticate(event, vendor=connection.vendor)
        params += _row_params(event, connection, with_snapshot)
    sql = with_riders(riders, _insert_sql(connection, with_snapshot, len(events)))
    with prepared_cursor(connection) as cursor:
        cursor.execute(sql, params)
        returned = _returned_ids(cursor, len(events), riders)
    for event, pk in zip(events, returned, strict=True):
        event.pk = pk
        if with_snapshot:
            del event.__dict__[_DIVISION.attname], event.__dict__[_ROLES.attname]
        event._state.adding = False
        event._state.db = alias
        post_save.send(
            AuditEvent, instance=event, created=True, raw=False, using=alias, update_fields=None
        )
    for rider in riders:
        rider.landed()


def _returned_ids(cursor: Any, count: int, riders: Sequence[Rider] = ()) -> list[int]:
    """The ids the INSERT's RETURNING gave back, in order (and the counted riders'
    counts after them, set on the riders). On psycopg 3 read from its result
    (`Cursor.pgresult`, libpq's values: the digits in text format) at a fortieth of
    `fetchall`'s Python, which builds each row through the cursor's loaders; elsewhere
    (SQLite, a binary result) by `fetchall`."""
    width = 1 + sum(rider.counted for rider in riders)
    result = getattr(cursor.cursor, "pgresult", None)
    if (
        result is None
        or result.ntuples != count
        or result.nfields != width
        or any(result.fformat(column) for column in range(width))
    ):
        rows = cursor.fetchall()
        read_counts(riders, rows[0])
        return [row[0] for row in rows]
    read_counts(riders, [result.get_value(0, column) for column in range(width)])
    return [int(result.get_value(row, 0)) for row in range(count)]


def _new_event(*values: Any) -> AuditEvent:
    """`AuditEvent(*values)`, the values in the model's field order, built as unpickling
    builds an instance (`Model.__new__`, then its attributes): about half the
    constructor's time (2.1 against 3.6 µs), which walks every field, and the objects
    it touches, for every event written. Only the constructor sends pre_init and
    post_init; should either ever have a receiver for AuditEvent, the constructor is
    used."""
    if pre_init.has_listeners(AuditEvent) or post_init.has_listeners(AuditEvent):
        return AuditEvent(*values)  # type: ignore[misc]  # (the stubs take positions as fields)
    event = AuditEvent.__new__(AuditEvent)
    event._state = ModelState()
    event.__dict__.update(zip(_ATTNAMES, values, strict=True))
    return event


class _Writer:
    """The parts of an event that belong to who acted and in which request."""

    def __init__(self, actor: User | None, actor_username: str | None) -> None:
        self.actor = actor
        if actor_username is None:
            actor_username = actor.get_username() if actor is not None else "system"
        self.username = actor_username
        self.context = current_request_context()

    def event(
        self,
        *,
        action: AuditAction,
        obj: models.Model | None = None,
        object_label: str = "",
        changed_fields: Iterable[str] = (),
        details: Mapping[str, Any] | None = None,
        reason: str = "",
    ) -> AuditEvent:
        context = self.context
        actor = self.actor
        # In the model's field order (`_ATTNAMES`, checked at import); the actor is
        # cached as `actor=` would have.
        event = _new_event(
            None,  # id
            timezone.now(),  # occurred_at
            actor.pk if actor is not None else None,  # actor_id
            self.username,  # actor_username
            "",  # actor_division: filled in by the database (apps.audit.snapshot)
            [],  # actor_roles: likewise
            action,
            obj._meta.label_lower if obj is not None else "",  # object_type
            str(obj.pk) if obj is not None else "",  # object_id
            object_label or (str(obj) if obj is not None else ""),
            sorted(set(changed_fields)),
            dict(details or {}),
            reason,
            context.request_id if context else "",
            context.client_ip if context else None,
            context.user_agent if context else "",
            "",  # mac_key_id, mac_nonce and mac: apps.audit.mac.authenticate
            "",
            "",
        )
        if actor is not None:
            _ACTOR.set_cached_value(event, actor)
        return event
