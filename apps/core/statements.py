"""Statements the ORM builds once per process: for the few queries every request or
every transition runs, whose shape never changes and whose building costs more than
running them (issue 17: a transition's locking read spent 1.2 of its 1.6 ms of Python
building and compiling the queryset, which then ran in 0.4).

A statement is built by a function that writes the queryset as usual, with stand-ins
(`Slots`) where the values of one run go: an id, a moment, a string. The ORM compiles
it once; the stand-ins are found among the compiled parameters, and each run puts its
own values in their places. A stand-in is a value no real row has (a negative id, a version no
application reaches, a moment in 1901, a string with a noncharacter), so a compiled
parameter that equals one is one. Building refuses a statement whose text holds a
stand-in (the ORM wrote it into the SQL instead of a parameter), rather than run it
with the stand-in; a slot the queryset does not use is simply not filled.

`ModelRead` makes model instances of a built statement's rows as Django's own
`ModelIterable` does (`from_db`, the related objects of `select_related`, the
annotations, each column's converters), with the connection of the run; `ValuesRead`
makes the dicts of a `values()` queryset.

Only for querysets whose text does not depend on the values: not for an `__in` of a
varying list, a lookup Django rewrites by value (None, an empty list), or a slice of a
varying size.

`Insert` is the same for an INSERT of a fixed number of rows: the ORM's insert compiler
writes the text once (each vendor's conflict clause included), and each run gives its
rows' values, prepared as a save prepares them.

`Inserts` runs several such INSERTs that stand or fall together as one statement on
PostgreSQL (one round trip, no BEGIN and COMMIT of their own).

`Update` is an UPDATE of one row's columns by its key, guarded by columns that must
still hold what the caller read (django-fsm's concurrent-transition filter), its text
written once from the model's metadata; each run takes the values from the instance as
`save(update_fields=…)` takes them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import operator
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model, QuerySet
from django.db.models.constants import OnConflict
from django.db.models.query import get_related_populators  # type: ignore[attr-defined]
from django.db.models.signals import post_save, pre_save
from django.db.models.sql import InsertQuery
from django.utils import timezone

M = TypeVar("M", bound=Model)

_ID = "id"
_MOMENT = "moment"
_TEXT = "text"
_UUID = "uuid"
# Ids below this are never a row's (every key here counts up from 1), and fit in an
# integer column as in a bigint one.
_FIRST_ID = -1_900_000_000
_FIRST_NUMBER = 2_100_000_000
_FIRST_MOMENT = dt.datetime(1901, 2, 3, 4, 5, 6, tzinfo=dt.UTC)
_UNSET = object()  # no value prepared yet (Insert.params)


class Slots:
    """The stand-ins of one statement while it is built, by name."""

    def __init__(self) -> None:
        self._kinds: dict[str, str] = {}
        self._stand_ins: dict[str, Any] = {}

    def id(self, name: str) -> int:
        """A stand-in for a key (a row's id, a foreign key's value)."""
        return self._take(name, _ID, _FIRST_ID - len(self._kinds))

    def number(self, name: str) -> int:
        """A stand-in for a count that is never negative (a version): a number no
        application reaches, inside a positive integer column's range (the ORM answers
        "no rows" for a bound outside it, without a parameter)."""
        return self._take(name, _ID, _FIRST_NUMBER - len(self._kinds))

    def moment(self, name: str) -> dt.datetime:
        """A stand-in for an aware datetime."""
        return self._take(
            name, _MOMENT, _FIRST_MOMENT + dt.timedelta(microseconds=len(self._kinds) + 1)
        )

    def uuid(self, name: str) -> uuid.UUID:
        """A stand-in for a UUID key: version 0, which no random (version 4) key has."""
        return self._take(name, _UUID, uuid.UUID(int=len(self._kinds) + 1))

    def text(self, name: str) -> str:
        """A stand-in for a string compared as it is (an exact lookup)."""
        return self._take(name, _TEXT, f"shadan-stand-in-{len(self._kinds)}-\ufdd0")

    def _take(self, name: str, kind: str, stand_in: Any) -> Any:
        if name in self._kinds:
            if self._kinds[name] != kind:
                raise ValueError(f"slot {name!r} is a {self._kinds[name]}, not a {kind}")
            return self._stand_ins[name]
        self._kinds[name] = kind
        self._stand_ins[name] = stand_in
        return stand_in

    def prepared(self, connection: BaseDatabaseWrapper) -> dict[str, tuple[str, Any]]:
        """Each stand-in as the compiled parameters hold it: (name, kind) by value."""
        return {
            name: (self._kinds[name], _prepare(self._kinds[name], value, connection))
            for name, value in self._stand_ins.items()
        }


def _prepare(kind: str, value: Any, connection: BaseDatabaseWrapper) -> Any:
    """A run's value as the ORM would have compiled it into the parameters."""
    if kind == _TEXT:
        if not isinstance(value, str):
            raise TypeError(f"a str was expected, not {type(value).__name__}")
        return value
    if kind == _UUID:
        # As UUIDField prepares it: the UUID itself where the database has the type,
        # its 32 hex digits where not (SQLite). A str that is no UUID is a ValueError.
        key = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
        return key if connection.features.has_native_uuid_field else key.hex
    if kind == _MOMENT:
        if not isinstance(value, dt.datetime) or value.tzinfo is None:
            raise TypeError(f"an aware datetime was expected, not {value!r}")
        return connection.ops.adapt_datetimefield_value(value)
    # An id as IntegerField.get_prep_value takes it (TypeError, ValueError as it raises
    # them); out of a bigint's range it cannot be any row's (the ORM answers "no rows").
    number = int(value)
    low, high = connection.ops.integer_field_range("BigIntegerField")
    if not low <= number <= high:
        raise OutOfRange(f"{number} is no key")
    return number


def _spellings(stand_in: Any) -> tuple[str, ...]:
    """How a stand-in would read had the ORM written it into the text: its digits, its
    characters, a UUID's either way (a moment's year would be too common a string to
    look for)."""
    if isinstance(stand_in, uuid.UUID):
        return (str(stand_in), stand_in.hex)
    return (str(stand_in),) if isinstance(stand_in, (int, str)) else ()


class OutOfRange(ValueError):
    """An id no key can have: the statement would find nothing (the ORM's answer)."""


@dataclass(frozen=True)
class Statement:
    """A compiled statement: its text, its parameters with the stand-ins in, and where
    each slot's value goes."""

    sql: str
    template: tuple[Any, ...]
    places: tuple[tuple[int, str, str], ...]  # (parameter index, slot name, kind)
    # The type the ORM gave a slot's parameter where it is a subclass of the stand-in's
    # (on PostgreSQL, psycopg's Int4 or Int8 for an integer column), by index.
    wrappers: tuple[tuple[int, type], ...] = ()

    def params(self, connection: BaseDatabaseWrapper, values: Mapping[str, Any]) -> list[Any]:
        """The parameters of one run. Raises TypeError or ValueError (OutOfRange) for a
        value of the wrong kind, KeyError for a missing one."""
        params = list(self.template)
        for index, name, kind in self.places:
            params[index] = _prepare(kind, values[name], connection)
        for index, wrapper in self.wrappers:
            params[index] = wrapper(params[index])
        return params


def compile_statement(
    queryset: QuerySet[Any, Any], slots: Slots, alias: str
) -> tuple[Statement, Any]:
    """(the statement, the compiler that made it). A slot the queryset does not use is
    left out (its value is ignored); one whose stand-in went into the text instead of
    the parameters raises RuntimeError."""
    connection = connections[alias]
    compiler = queryset.query.get_compiler(using=alias)
    sql, params = compiler.as_sql()
    by_value = slots.prepared(connection)
    places, wrappers = [], []
    for index, param in enumerate(params):
        for name, (kind, stand_in) in by_value.items():
            if isinstance(param, type(stand_in)) and param == stand_in:
                places.append((index, name, kind))
                if type(param) is not type(stand_in):
                    wrappers.append((index, type(param)))
    folded = [
        name
        for name, (_kind, stand_in) in by_value.items()
        if any(spelling in sql for spelling in _spellings(stand_in))
    ]
    if folded:
        raise RuntimeError(f"the statement holds {sorted(folded)} in its text")
    return Statement(sql, tuple(params), tuple(places), tuple(wrappers)), compiler


class ModelRead(Generic[M]):
    """A queryset of model instances built once (`build(slots)` writes it), run with each
    call's values: `rows(connection, **values)`."""

    def __init__(self, build: Callable[[Slots], QuerySet[M, M]], alias: str) -> None:
        slots = Slots()
        queryset = build(slots)
        self.alias = alias
        self.statement, compiler = compile_statement(queryset, slots, alias)
        select, klass_info = compiler.select, compiler.klass_info
        self.model: type[M] = klass_info["model"]
        fields = klass_info["select_fields"]
        self.start, self.end = fields[0], fields[-1] + 1
        self.init_list = [f[0].target.attname for f in select[self.start : self.end]]
        self.populators = get_related_populators(klass_info, select, alias)
        self.annotations = tuple(compiler.annotation_col_map.items())
        # The columns that have converters on this vendor; the converters themselves
        # are the run's connection's (they are its bound methods).
        self.expressions = [s[0] for s in select]
        self.converted = tuple(compiler.get_converters(self.expressions))

    def rows(self, connection: BaseDatabaseWrapper, **values: Any) -> list[M]:
        params = self.statement.params(connection, values)
        with connection.cursor() as cursor:
            cursor.execute(self.statement.sql, params)
            found = cursor.fetchall()
        return self.instances(connection, found)

    def columns(self) -> list[str]:
        """The model's columns of a row in the order `instances` takes them, quoted and
        qualified by the table: for a statement of another kind (an UPDATE … RETURNING)
        whose rows are this read's shape. Only for a read of the model alone (no
        select_related, no annotations)."""
        if self.populators or self.annotations or self.start != 0:
            raise ValueError("only a read of the model alone has the model's columns")
        qn = connections[self.alias].ops.quote_name
        return [f"{qn(e.alias)}.{qn(e.target.column)}" for e in self.expressions]

    def instances(self, connection: BaseDatabaseWrapper, found: Sequence[Sequence[Any]]) -> list[M]:
        """Model instances of rows in this read's shape, fetched on `connection`."""
        instances = []
        for row in _converted(connection, self.expressions, self.converted, found):
            instance = self.model.from_db(self.alias, self.init_list, row[self.start : self.end])
            for populator in self.populators:
                populator.populate(row, instance)
            for name, pos in self.annotations:
                setattr(instance, name, row[pos])
            instances.append(instance)
        return instances


class ValuesRead:
    """A `values()` queryset built once (`build(slots)` writes it), run with each call's
    values: `rows(connection, **values)` gives the dicts Django's `values()` gives — its
    names (extra, fields, annotations, in its order), each column through the run's
    connection's converters.

    `alike` names columns every row carries with the same value (an annotation that is a
    subquery of its own, as a list's counts beside its page): `read()` gives them once,
    from the first row, and the rows without them, so a page of fifty rows does not
    convert each count fifty times."""

    def __init__(
        self,
        build: Callable[[Slots], QuerySet[Any, dict[str, Any]]],
        alias: str,
        *,
        alike: Collection[str] = (),
    ) -> None:
        slots = Slots()
        queryset = build(slots)
        query = queryset.query
        if not query.values_select and not query.annotation_select:
            raise ValueError("a read of values(): name the columns")
        self.names = (*query.extra_select, *query.values_select, *query.annotation_select)
        if unknown := set(alike) - set(self.names):
            raise ValueError(f"not among the columns: {', '.join(sorted(unknown))}")
        self.statement, compiler = compile_statement(queryset, slots, alias)
        self.expressions = [s[0] for s in compiler.select]
        if len(self.expressions) != len(self.names):
            raise RuntimeError("the compiled columns are not the values() names")
        converted = tuple(compiler.get_converters(self.expressions))
        once = {pos for pos, name in enumerate(self.names) if name in alike}
        self.converted = tuple(pos for pos in converted if pos not in once)
        self.converted_once = tuple(pos for pos in converted if pos in once)
        self.once = tuple(sorted(once))
        self.each = tuple(pos for pos in range(len(self.names)) if pos not in once)
        self.each_names = tuple(self.names[pos] for pos in self.each)
        if len(self.each) > 1:
            self._pick: Callable[[Sequence[Any]], Sequence[Any]] = operator.itemgetter(*self.each)
        else:
            self._pick = lambda row: tuple(row[pos] for pos in self.each)

    def rows(self, connection: BaseDatabaseWrapper, **values: Any) -> list[dict[str, Any]]:
        """The rows, without the `alike` columns if any."""
        return self.read(connection, **values)[0]

    def read(
        self, connection: BaseDatabaseWrapper, **values: Any
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The rows without the `alike` columns, and those columns as the first row has
        them (nothing when there is no row)."""
        params = self.statement.params(connection, values)
        with connection.cursor() as cursor:
            cursor.execute(self.statement.sql, params)
            found = cursor.fetchall()
        if not found:
            return [], {}
        alike = {}
        if self.once:
            first = _converted(connection, self.expressions, self.converted_once, found[:1])[0]
            alike = {self.names[pos]: first[pos] for pos in self.once}
        rows = _converted(connection, self.expressions, self.converted, found)
        if not self.once:
            names = self.names
            return [dict(zip(names, row, strict=True)) for row in rows], alike
        names, pick = self.each_names, self._pick
        return [dict(zip(names, pick(row), strict=True)) for row in rows], alike


def _converted(
    connection: BaseDatabaseWrapper,
    expressions: Sequence[Any],
    positions: Sequence[int],
    found: Sequence[Sequence[Any]],
) -> list[list[Any]]:
    """Rows as fetched, each column at `positions` through the converters Django's own
    iterables apply (the backend's, then the expression's), bound to `connection`."""
    converters = [
        (
            pos,
            connection.ops.get_db_converters(expressions[pos])
            + expressions[pos].get_db_converters(connection),
            expressions[pos],
        )
        for pos in positions
    ]
    rows = []
    for fetched in found:
        row = list(fetched)
        for pos, convs, expression in converters:
            value = row[pos]
            for convert in convs:
                value = convert(value, expression, connection)
            row[pos] = value
        rows.append(row)
    return rows


class Insert:
    """An INSERT of `count` rows of `model`'s columns `names` (attnames), its text built
    once by the ORM's insert compiler (`on_conflict` as bulk_create takes it: the
    vendor's ON CONFLICT DO NOTHING or INSERT OR IGNORE, or an upsert on
    `unique_fields` replacing `update_fields`), run with each call's rows:
    `run(connection, rows)`, each row a mapping of attname to value. A column a row
    leaves out takes the field's default, or the moment of the run for an auto_now or
    auto_now_add field, as a save fills them; every value is prepared by its field as a
    save prepares it. For values only, not expressions. With `returning`, the INSERT of
    one row gives its key back: `save(connection, instance)` saves a new instance."""

    def __init__(
        self,
        model: type[Model],
        names: Sequence[str],
        alias: str,
        count: int = 1,
        *,
        on_conflict: OnConflict | None = None,
        unique_fields: Sequence[str] = (),
        update_fields: Sequence[str] = (),
        returning: bool = False,
    ) -> None:
        meta = model._meta
        fields = [meta.get_field(name) for name in names]
        self.fields = tuple(f for f in fields if isinstance(f, Field) and f.concrete)
        self.names = frozenset(f.attname for f in self.fields)
        if [f.attname for f in self.fields] != list(names) or len(self.names) != len(names):
            # A relation's name (not its attname), a reverse relation, a column twice.
            raise ValueError(f"give each column once, by its attname: {list(names)}")
        self.count = count
        query = InsertQuery(
            model,
            on_conflict=on_conflict,
            update_fields=[meta.get_field(n) for n in update_fields],
            unique_fields=[meta.get_field(n) for n in unique_fields],
        )
        query.insert_values(self.fields, [model() for _ in range(count)])
        compiler = query.get_compiler(using=alias)
        self.model, self.returning = model, returning
        if returning:  # the key of one row, for `save`
            if count != 1 or on_conflict is not None:
                raise ValueError("the key comes back from one row inserted without a conflict")
            if not compiler.connection.features.can_return_columns_from_insert:
                raise NotImplementedError("this database returns no columns from an INSERT")
            compiler.returning_fields = meta.db_returning_fields  # the key, generated columns
        ((self.sql, params),) = compiler.as_sql()
        # Rows of parameters, or (PostgreSQL, several rows: INSERT … SELECT FROM UNNEST)
        # one array of values per column.
        width = len(self.fields)
        self.by_column = (
            count > 1
            and len(params) == width
            and all(isinstance(p, list) and len(p) == count for p in params)
        )
        if not self.by_column and len(params) != count * width:
            raise RuntimeError("a column's placeholder is not a plain parameter")

    def params(
        self, connection: BaseDatabaseWrapper, rows: Sequence[Mapping[str, Any]]
    ) -> list[Any]:
        """The parameters of one run. Raises ValueError for a wrong number of rows or a
        column this statement does not write."""
        if len(rows) != self.count:
            raise ValueError(f"{len(rows)} rows for an insert of {self.count}")
        now: dt.datetime | None = None
        params = []
        # The rows of one run often share a value (the same person, moment or request
        # on every row of a page's view log): the very same object is prepared once.
        last: list[tuple[Any, Any]] = [(_UNSET, None)] * len(self.fields)
        for row in rows:
            if not row.keys() <= self.names:
                raise ValueError(f"not written here: {sorted(row.keys() - self.names)}")
            for column, field in enumerate(self.fields):
                if field.attname in row:
                    value = row[field.attname]
                elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                    value = now = now or timezone.now()
                else:
                    value = field.get_default()
                raw, prepared = last[column]
                if value is not raw:
                    if hasattr(value, "resolve_expression"):
                        raise TypeError(f"{field.attname}: a value, not an expression")
                    prepared = field.get_db_prep_save(value, connection)
                    last[column] = (value, prepared)
                params.append(prepared)
        if self.by_column:
            width = len(self.fields)
            return [params[column::width] for column in range(width)]
        return params

    def rider(self, connection: BaseDatabaseWrapper, rows: Sequence[Mapping[str, Any]]) -> Rider:
        """These rows, for another statement of the same database to write (`Rider`)."""
        if self.returning:
            raise ValueError("a rider's result is its carrier's: build it without returning")
        return Rider(self.sql, self.params(connection, rows))

    def run(self, connection: BaseDatabaseWrapper, rows: Sequence[Mapping[str, Any]]) -> int:
        """Insert `rows`; returns the number the database wrote (a conflict ignored
        writes none)."""
        if self.returning:
            raise ValueError("an INSERT that returns the key saves an instance: save()")
        params = self.params(connection, rows)
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            return int(cursor.rowcount)

    def save(self, connection: BaseDatabaseWrapper, instance: Model) -> None:
        """`instance.save(force_insert=True)` through this INSERT (built with
        `returning`, of every column but the key and the generated ones): each value as
        a save takes it (the field's `pre_save`, so an auto_now_add column takes the
        moment of the run), the key and the generated columns set from the row written,
        the instance then saved as far as Django knows, the save's signals sent."""
        model, meta = self.model, self.model._meta
        if not self.returning:
            raise ValueError("build the INSERT with returning=True to save an instance")
        if type(instance) is not model:
            raise TypeError(f"an insert of {model.__name__}, not of {type(instance).__name__}")
        if self.names != {
            f.attname for f in meta.concrete_fields if not (f.primary_key or f.generated)
        }:
            raise ValueError("a save writes every column: build the INSERT with all of them")
        signal = {"instance": instance, "raw": False, "using": connection.alias}
        pre_save.send(model, **signal, update_fields=None)
        row = {f.attname: f.pre_save(instance, True) for f in self.fields}
        with connection.cursor() as cursor:
            cursor.execute(self.sql, self.params(connection, [row]))
            returned = cursor.fetchone()
        # As a save sets what the INSERT returned: the key, and each generated column.
        for field, value in zip(meta.db_returning_fields, returned, strict=True):
            column = field.get_col(meta.db_table)
            converters = connection.ops.get_db_converters(column)
            for convert in converters + column.get_db_converters(connection):
                value = convert(value, column, connection)
            setattr(instance, field.attname, value)
        instance._state.adding = False
        instance._state.db = connection.alias
        post_save.send(model, **signal, created=True, update_fields=None)


@dataclass(eq=False)
class Rider:
    """An INSERT (its text, its parameters) that another statement of the same database
    carries: on PostgreSQL a part of that statement's WITH (`with_riders`: one round
    trip for both, atomic by itself), elsewhere run by itself just before it (`run`), in
    one transaction with it. A `counted` rider (an `INSERT … SELECT` that may find no
    row) has `written`, the number of rows it wrote, once the statement has run. `then`
    is what its writer does once it is written (`landed`): ask for a relay when the
    transaction commits, check what the count says."""

    sql: str
    params: Sequence[Any]
    counted: bool = False
    then: Callable[[Rider], object] | None = None
    written: int | None = dataclasses.field(default=None, init=False)

    def run(self, connection: BaseDatabaseWrapper) -> None:
        """Write the rows by themselves (a database without INSERT inside WITH); the
        caller then calls `landed`, as for a rider that rode."""
        with connection.cursor() as cursor:
            cursor.execute(self.sql, self.params)
            self.written = max(cursor.rowcount, 0)

    def landed(self) -> None:
        """Called by whoever ran the statement that wrote it, once it has run."""
        if self.then is not None:
            self.then(self)


def with_riders(riders: Sequence[Rider], then: str) -> str:
    """PostgreSQL's text of `riders` written by the statement `then`, as one statement:
    each a part of its WITH, which PostgreSQL runs to completion whether or not `then`
    reads it; the parameters are each rider's, then `then`'s. `then` must end in its
    RETURNING clause when a rider is counted: each counted rider's count is returned
    after `then`'s columns, in the riders' order (`read_counts` sets them)."""
    parts, counts = [], []
    for n, rider in enumerate(riders):
        if rider.counted:
            parts.append(f"w{n} AS ({rider.sql} RETURNING 1)")
            counts.append(f", (SELECT COUNT(*) FROM w{n})")  # noqa: S608 (a part's name)
        else:
            parts.append(f"w{n} AS ({rider.sql})")
    if not parts:
        return then
    return f"WITH {', '.join(parts)} {then}{''.join(counts)}"


def read_counts(riders: Sequence[Rider], row: Sequence[Any]) -> None:
    """Set each counted rider's `written` from the last columns of a row of the
    statement `with_riders` made (the same counts on every row it returns)."""
    counted = [rider for rider in riders if rider.counted]
    for rider, written in zip(counted, row[len(row) - len(counted) :], strict=True):
        rider.written = int(written)


class Inserts:
    """INSERTs that stand or fall together (a record and the rows that index it), run as
    one: on PostgreSQL as one statement, each INSERT but the last in a WITH (PostgreSQL
    runs such a part to completion whether or not anything reads it), so one round trip,
    atomic by itself, instead of BEGIN, each INSERT and COMMIT; elsewhere (SQLite has no
    INSERT inside WITH) each in turn in one transaction. The text is joined once; each
    run gives every INSERT's rows, in the order given."""

    def __init__(self, *inserts: Insert) -> None:
        if not inserts or any(insert.returning for insert in inserts):
            raise ValueError("give the INSERTs, none of them one that returns a key")
        self.inserts = inserts
        *first, last = inserts
        self.sql = with_inserts(first, last.sql)

    def run(self, connection: BaseDatabaseWrapper, *rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert each INSERT's `rows` (one sequence of rows per INSERT, in order)."""
        if len(rows) != len(self.inserts):
            raise ValueError(f"rows for {len(rows)} INSERTs, not {len(self.inserts)}")
        if connection.vendor != "postgresql":
            with transaction.atomic(using=connection.alias):
                for insert, written in zip(self.inserts, rows, strict=True):
                    insert.run(connection, written)
            return
        params = []
        for insert, written in zip(self.inserts, rows, strict=True):
            params += insert.params(connection, written)
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)


def with_inserts(inserts: Sequence[Insert], then: str) -> str:
    """PostgreSQL's text of `inserts` run before the statement `then`, as one statement:
    each INSERT a part of its WITH, which PostgreSQL runs to completion whether or not
    `then` reads it. The parameters are each INSERT's, then `then`'s."""
    return with_riders([Rider(insert.sql, ()) for insert in inserts], then)


class Update:
    """`instance.save(update_fields=names)` of `model`'s concrete columns `names`
    (attnames), as one UPDATE written once per process from the model's metadata (names
    quoted, every value a parameter) instead of the ORM building and compiling it at
    each save: the row by its key, and only while each of `guards` still holds the value
    the caller gives (the filter django-fsm's ConcurrentTransitionMixin adds). Each
    value is what a save sends: the field's `pre_save` (an auto_now column takes the
    moment of the run) prepared by `get_db_prep_save`; the save's signals are sent, with
    `update_fields`. `run()` returns the number of rows written: 0 when the key or a
    guard no longer matches. For plain columns: a field that writes its own placeholder
    (`get_placeholder`) is refused."""

    def __init__(
        self, model: type[Model], names: Sequence[str], alias: str, guards: Sequence[str] = ()
    ) -> None:
        meta = model._meta
        fields = [meta.get_field(name) for name in names]
        self.fields = tuple(f for f in fields if isinstance(f, Field) and f.concrete)
        guarded = [meta.get_field(name) for name in guards]
        self.guards = tuple(f for f in guarded if isinstance(f, Field) and f.concrete)
        attnames = [f.attname for f in self.fields]
        if attnames != list(names) or len(set(attnames)) != len(attnames):
            raise ValueError(f"give each column once, by its attname: {list(names)}")
        if [f.attname for f in self.guards] != list(guards):
            raise ValueError(f"guard with columns, by their attnames: {list(guards)}")
        if any(f.primary_key or f.generated for f in self.fields) or any(
            hasattr(f, "get_placeholder") for f in (*self.fields, *self.guards)
        ):
            raise ValueError(
                "only plain columns, never the key or a generated one, are written here"
            )
        self.model = model
        self.update_fields = frozenset(attnames)
        qn = connections[alias].ops.quote_name
        where = [meta.pk, *self.guards]
        self.sql = (
            f"UPDATE {qn(meta.db_table)} SET "  # noqa: S608 - names from metadata, quoted
            + ", ".join(f"{qn(f.column)} = %s" for f in self.fields)
            + " WHERE "
            + " AND ".join(f"{qn(f.column)} = %s" for f in where)
        )

    def run(
        self, connection: BaseDatabaseWrapper, instance: Model, guards: Mapping[str, Any]
    ) -> int:
        """Write `instance`'s columns where its row still holds `guards` (by attname)."""
        model, using = self.model, connection.alias
        if type(instance) is not model:
            raise TypeError(f"an update of {model.__name__}, not of {type(instance).__name__}")
        if guards.keys() != {f.attname for f in self.guards}:
            raise ValueError(f"the guards are {[f.attname for f in self.guards]}")
        signal = {"instance": instance, "raw": False, "using": using}
        pre_save.send(model, **signal, update_fields=self.update_fields)
        params = [f.get_db_prep_save(f.pre_save(instance, False), connection) for f in self.fields]
        params.append(model._meta.pk.get_db_prep_save(instance.pk, connection))
        params += [f.get_db_prep_save(guards[f.attname], connection) for f in self.guards]
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            written = int(cursor.rowcount)
        if written:
            instance._state.adding = False
            instance._state.db = using
            post_save.send(model, **signal, created=False, update_fields=self.update_fields)
        return written
