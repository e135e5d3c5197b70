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
annotations, each column's converters), with the connection of the run.

Only for querysets whose text does not depend on the values: not for an `__in` of a
varying list, a lookup Django rewrites by value (None, an empty list), or a slice of a
varying size.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators  # type: ignore[attr-defined]

M = TypeVar("M", bound=Model)

_ID = "id"
_MOMENT = "moment"
_TEXT = "text"
# Ids below this are never a row's (every key here counts up from 1), and fit in an
# integer column as in a bigint one.
_FIRST_ID = -1_900_000_000
_FIRST_NUMBER = 2_100_000_000
_FIRST_MOMENT = dt.datetime(1901, 2, 3, 4, 5, 6, tzinfo=dt.UTC)


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


def _spelled(stand_in: Any) -> str:
    """How a stand-in would read had the ORM written it into the text: its digits, its
    characters (a moment's year would be too common a string to look for)."""
    return str(stand_in) if isinstance(stand_in, (int, str)) else ""


class OutOfRange(ValueError):
    """An id no key can have: the statement would find nothing (the ORM's answer)."""


@dataclass(frozen=True)
class Statement:
    """A compiled statement: its text, its parameters with the stand-ins in, and where
    each slot's value goes."""

    sql: str
    template: tuple[Any, ...]
    places: tuple[tuple[int, str, str], ...]  # (parameter index, slot name, kind)

    def params(self, connection: BaseDatabaseWrapper, values: Mapping[str, Any]) -> list[Any]:
        """The parameters of one run. Raises TypeError or ValueError (OutOfRange) for a
        value of the wrong kind, KeyError for a missing one."""
        params = list(self.template)
        for index, name, kind in self.places:
            params[index] = _prepare(kind, values[name], connection)
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
    places = []
    for index, param in enumerate(params):
        for name, (kind, stand_in) in by_value.items():
            if type(param) is type(stand_in) and param == stand_in:
                places.append((index, name, kind))
    folded = [
        name
        for name, (_kind, stand_in) in by_value.items()
        if _spelled(stand_in) and _spelled(stand_in) in sql
    ]
    if folded:
        raise RuntimeError(f"the statement holds {sorted(folded)} in its text")
    return Statement(sql, tuple(params), tuple(places)), compiler


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
        converters = [
            (
                pos,
                connection.ops.get_db_converters(self.expressions[pos])
                + self.expressions[pos].get_db_converters(connection),
                self.expressions[pos],
            )
            for pos in self.converted
        ]
        instances = []
        for fetched in found:
            row = list(fetched)
            for pos, convs, expression in converters:
                value = row[pos]
                for convert in convs:
                    value = convert(value, expression, connection)
                row[pos] = value
            instance = self.model.from_db(self.alias, self.init_list, row[self.start : self.end])
            for populator in self.populators:
                populator.populate(row, instance)
            for name, pos in self.annotations:
                setattr(instance, name, row[pos])
            instances.append(instance)
        return instances
