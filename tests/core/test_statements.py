"""Statements built once per process (apps.core.statements): each run gives what the ORM
would have given for its values, refuses values no key can have before the database
does, and a transition no longer builds its locking read or its recipients' query."""

from __future__ import annotations

import datetime as dt
from typing import Any
from unittest import mock

import pytest
from django.db import IntegrityError, connection, connections, transaction
from django.db.models import Exists, Field, OuterRef, Value
from django.db.models.constants import OnConflict
from django.db.models.expressions import RawSQL
from django.db.models.functions import Upper
from django.db.models.sql.compiler import SQLCompiler, SQLInsertCompiler, SQLUpdateCompiler
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.applications import notices
from apps.applications.models import Application, ApplicationContribution, ReviewOpening
from apps.applications.services._common import contribution_row, lock_application
from apps.core.counting import capped_count
from apps.core.errors import NotFound
from apps.core.statements import (
    Insert,
    Inserts,
    ModelRead,
    OutOfRange,
    Slots,
    ValuesRead,
    compile_statement,
)
from apps.notifications import services as outbox_services
from apps.notifications.models import InboxEntry, OutboxMessage
from apps.publication.models import AppliedMessage, PublishedApplication, RetailViewLog
from apps.replication import services as replication_services
from apps.replication.models import Kind, ReplicationMessage, Subject
from apps.vocabulary.states import Contribution
from tests.conftest import advance

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


def _contributed(user_id: int) -> Exists:
    return Exists(
        ApplicationContribution.objects.filter(application_id=OuterRef("pk"), user_id=user_id)
    )


def _read(slots: Slots):  # the ORM's way of writing it, with stand-ins
    return (
        Application.objects.select_related("retailer", "encoded_by")
        .annotate(contributed=_contributed(slots.id("user")))
        .filter(pk=slots.id("application"))
    )


def _same(built: Application, orm: Application) -> None:
    assert type(built) is Application
    assert model_to_dict(built) == model_to_dict(orm)
    assert built.updated_at == orm.updated_at and built.created_at == orm.created_at
    assert built.contributed == orm.contributed  # type: ignore[attr-defined]
    assert built._state.db == orm._state.db and not built._state.adding
    # select_related's objects come with the row, as the ORM's do.
    with mock.patch.object(connection, "cursor", side_effect=AssertionError("a query")):
        assert model_to_dict(built.retailer) == model_to_dict(orm.retailer)
        if orm.encoded_by is None:
            assert built.encoded_by is None
        else:
            assert built.encoded_by.get_username() == orm.encoded_by.get_username()


def test_a_built_read_makes_the_instances_the_orm_makes(new_application, clerk, supervisor, clerk2):
    read = ModelRead(_read, "default")
    draft = new_application()
    encoded = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)

    for application in (draft, encoded):
        for user in (clerk, clerk2):
            orm = (
                Application.objects.select_related("retailer", "encoded_by")
                .annotate(contributed=_contributed(user.pk))
                .get(pk=application.pk)
            )
            (built,) = read.rows(connection, application=application.pk, user=user.pk)
            _same(built, orm)
    assert read.rows(connection, application=encoded.pk + 1000, user=clerk.pk) == []
    with pytest.raises(ValueError, match="the model alone"):
        read.columns()  # its rows carry the retailer's and an annotation's columns too


def test_a_value_no_key_can_have_is_refused_before_the_database(new_application, clerk):
    read = ModelRead(_read, "default")
    application = new_application()
    statement = read.statement

    with pytest.raises(ValueError):
        statement.params(connection, {"application": "12a", "user": clerk.pk})
    with pytest.raises(TypeError):
        statement.params(connection, {"application": None, "user": clerk.pk})
    with pytest.raises(OutOfRange):
        statement.params(connection, {"application": 2**70, "user": clerk.pk})
    with pytest.raises(KeyError):
        statement.params(connection, {"application": application.pk})
    # A key's digits as text are a key, as the ORM takes them.
    (found,) = read.rows(connection, application=str(application.pk), user=clerk.pk)
    assert found.pk == application.pk


def test_a_moment_must_be_aware(clerk):
    def build(slots: Slots):
        return Application.objects.filter(created_at__lte=slots.moment("now"))

    statement, _compiler = compile_statement(build(slots := Slots()), slots, "default")
    assert [name for _index, name, _kind in statement.places] == ["now"]
    with pytest.raises(TypeError):
        statement.params(connection, {"now": dt.datetime(2026, 1, 1)})
    assert statement.params(connection, {"now": timezone.now()})


def test_a_stand_in_the_orm_wrote_into_the_text_is_refused():
    slots = Slots()
    queryset = Application.objects.annotate(
        n=RawSQL(f"SELECT {slots.id('application')}", ())  # noqa: S611 - the test's point
    )

    with pytest.raises(RuntimeError, match="application"):
        compile_statement(queryset, slots, "default")


def test_a_built_values_read_gives_the_dicts_values_gives(new_application, clerk, supervisor):
    """Names in values()' order (fields, then annotations), a related row's column, and
    each column through the run's converters (SQLite's datetimes and booleans)."""
    first, second = new_application(), new_application()

    def build(slots: Slots):
        return (
            Application.objects.filter(created_by_id=slots.id("user"))
            .values("id", "created_at", "retailer__is_affiliated", "contract_capacity_kw")
            .annotate(shaped=_contributed(slots.id("user")))
            .order_by("-id")
        )

    read = ValuesRead(build, "default")
    orm = list(
        Application.objects.filter(created_by_id=clerk.pk)
        .values("id", "created_at", "retailer__is_affiliated", "contract_capacity_kw")
        .annotate(shaped=_contributed(clerk.pk))
        .order_by("-id")
    )

    rows = read.rows(connection, user=clerk.pk)
    assert rows == orm and [row["id"] for row in rows] == [second.pk, first.pk]
    assert list(rows[0]) == list(orm[0])
    assert isinstance(rows[0]["created_at"], dt.datetime) and rows[0]["shaped"] is True
    assert read.rows(connection, user=supervisor.pk) == []
    with pytest.raises(ValueError, match="values"):
        ValuesRead(lambda slots: Application.objects.filter(pk=slots.id("a")), "default")


@pytest.mark.django_db(databases=["default", "retail"])
def test_a_slot_on_a_bigint_column_keeps_the_type_the_orm_gave_its_parameter():
    """On PostgreSQL Django passes an integer column's value as psycopg's Int8 or Int4
    (an int's subclass): the slot is found there, and each run's value is passed the same
    way (before, the slot was missed and the statement compared against its stand-in)."""
    retail = connections["retail"]
    for n in (5, 9):
        RetailViewLog.objects.create(account_id=1, username="u", view="list", application_id=n)

    def build(slots: Slots) -> Any:
        return RetailViewLog.objects.filter(application_id__lt=slots.id("below")).values(
            "application_id"
        )

    read = ValuesRead(build, "retail")
    ((index, name, kind),) = read.statement.places
    orm = RetailViewLog.objects.filter(application_id__lt=7).values_list("application_id")
    _sql, orm_params = orm.query.get_compiler(using="retail").as_sql()

    assert (name, kind) == ("below", "id")
    assert type(read.statement.params(retail, {"below": 7})[index]) is type(orm_params[0])
    assert read.rows(retail, below=7) == [{"application_id": 5}]
    assert len(read.rows(retail, below=10)) == 2


def test_columns_alike_on_every_row_are_read_once(new_application, clerk, supervisor):
    """`alike` columns (a count beside a page) come once, converted, from the first row;
    the rows are the others' dicts, also when one column is left."""
    first, second = new_application(), new_application()

    def build(slots: Slots, *names: str):
        return (
            Application.objects.filter(created_by_id=slots.id("user"))
            .values(*names)
            .annotate(
                mine=capped_count(Application.objects.filter(created_by_id=slots.id("user"))),
                cancelled=Exists(Application.objects.filter(state="cancelled")),
            )
            .order_by("-id")
        )

    read = ValuesRead(
        lambda slots: build(slots, "id", "created_at"), "default", alike=("mine", "cancelled")
    )
    rows, alike = read.read(connection, user=clerk.pk)
    orm = list(Application.objects.filter(pk__in=[first.pk, second.pk]).values("id", "created_at"))
    assert rows == sorted(orm, key=lambda row: -row["id"])
    assert alike == {"mine": 2, "cancelled": False} and type(alike["mine"]) is int
    assert read.rows(connection, user=clerk.pk) == rows
    assert read.read(connection, user=supervisor.pk) == ([], {})

    one = ValuesRead(lambda slots: build(slots, "id"), "default", alike=("mine", "cancelled"))
    assert one.read(connection, user=clerk.pk) == (
        [{"id": second.pk}, {"id": first.pk}],
        {"mine": 2, "cancelled": False},
    )
    with pytest.raises(ValueError, match="nothing"):
        ValuesRead(lambda slots: build(slots, "id"), "default", alike=("nothing",))


def test_a_slot_the_query_does_not_use_is_left_out(new_application):
    application = new_application()
    slots = Slots()
    slots.number("version")
    statement, _compiler = compile_statement(
        Application.objects.filter(pk=slots.id("application")).values_list("pk"),
        slots,
        "default",
    )

    assert [name for _index, name, _kind in statement.places] == ["application"]
    with connection.cursor() as cursor:
        cursor.execute(
            statement.sql,
            statement.params(connection, {"application": application.pk, "version": 7}),
        )
        assert cursor.fetchall() == [(application.pk,)]


def _compilations() -> mock._patch:
    return mock.patch.object(SQLCompiler, "as_sql", autospec=True, side_effect=SQLCompiler.as_sql)


def test_the_locking_read_is_built_once(new_application, clerk):
    application = new_application()
    with transaction.atomic():
        lock_application(application.pk, actor=clerk)  # built here, or by an earlier test
        with _compilations() as compiled:
            locked = lock_application(application.pk, actor=clerk)

    assert compiled.call_count == 0
    assert locked.pk == application.pk and locked.actor_in_td is True  # type: ignore[attr-defined]


@pytest.mark.parametrize("key", ["abc", None, 2**70, -5])
def test_the_lock_answers_not_found_for_what_is_no_key(clerk, key):
    with transaction.atomic(), pytest.raises(NotFound):
        lock_application(key, actor=clerk)


def test_the_built_recipients_are_the_querysets_for_every_event(
    new_application, clerk, clerk2, supervisor, supervisor2, construction
):
    application = advance(new_application(), "released", clerk=clerk, supervisor=supervisor)
    ApplicationContribution.objects.create(
        application=application, version=application.version, user=clerk2, kind="edited"
    )
    events = (
        notices.SUBMITTED,
        notices.ENCODED,
        notices.RETURNED,
        notices.VERIFIED,
        notices.RELEASED,
        notices.CANCELLED,
    )
    heard: set[int] = set()
    for event in events:
        for released in (False, True):
            application.released_at = timezone.now() if released else None
            for actor in (None, clerk, supervisor):
                expected = set(
                    notices.recipients(event, application, actor=actor).values_list("pk", flat=True)
                )
                statement = notices._recipients_statement(
                    "default", event, released, actor is not None
                )
                values = {
                    "application": application.pk,
                    "version": application.version,
                    "now": timezone.now(),
                    "actor": actor.pk if actor else None,
                }
                with connection.cursor() as cursor:
                    cursor.execute(statement.sql, statement.params(connection, values))
                    found = {pk for (pk,) in cursor.fetchall()}
                assert found == expected, (event, released, actor)
                heard |= found
    # The shapes' audiences are people, not only empty sets that agree.
    assert {clerk2.pk, supervisor2.pk, construction.pk} <= heard


def test_the_recipients_query_is_built_once(new_application, clerk, supervisor):
    application = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    with transaction.atomic():
        notices.notice_rider(event=notices.ENCODED, application=application, actor=clerk)
        with _compilations() as compiled:
            rider = notices.notice_rider(
                event=notices.ENCODED, application=application, actor=clerk
            )
            rider.run(connection)

    assert compiled.call_count == 0


def test_a_string_slot_takes_strings_only(new_application):
    application = new_application()
    slots = Slots()
    statement, _compiler = compile_statement(
        Application.objects.filter(pseudonym=slots.text("pseudonym")).values_list("pk"),
        slots,
        "default",
    )

    with pytest.raises(TypeError):
        statement.params(connection, {"pseudonym": 12})
    with connection.cursor() as cursor:
        cursor.execute(
            statement.sql, statement.params(connection, {"pseudonym": application.pseudonym})
        )
        assert cursor.fetchall() == [(application.pk,)]


def test_the_relays_due_reads_are_built_once(clerk):
    """The relays run after every commit that writes a message: their reads of what is
    due compile nothing once built, and still find the messages."""
    with transaction.atomic():
        outbox_services.outbox_write(
            recipient_ids=[clerk.pk], kind="test", subject="t", body="", dedupe_key="t:1"
        )
        replication_services.replication_write(
            subject=Subject.APPLICATION, subject_id=1, kind=Kind.REMOVE
        )
        now = timezone.now()
        outbox_services._due(now, 10)  # each built here, or by an earlier test
        taken = replication_services._take(now, 10)
        with _compilations() as compiled:
            messages = outbox_services._due(now, 10)
            again = replication_services._take(now, 10)
        transaction.set_rollback(True)

    assert compiled.call_count == 0
    assert [(m.kind, m.recipient.get_username()) for m in messages] == [
        ("test", clerk.get_username())
    ]
    assert [(m.subject_id, m.attempts) for m in taken] == [(1, 1)] and again == []


# --- INSERTs built once ---------------------------------------------------------------------


def _inserts() -> mock._patch:
    return mock.patch.object(
        SQLInsertCompiler, "as_sql", autospec=True, side_effect=SQLInsertCompiler.as_sql
    )


def _updates() -> mock._patch:
    return mock.patch.object(
        SQLUpdateCompiler, "as_sql", autospec=True, side_effect=SQLUpdateCompiler.as_sql
    )


def _entry_messages(user, count: int) -> list[OutboxMessage]:
    for n in range(count):
        outbox_services.outbox_write(
            recipient_ids=[user.pk], kind="test", subject="t", body="", dedupe_key=f"i:{n}"
        )
    return list(OutboxMessage.objects.order_by("pk"))


@pytest.mark.parametrize("count", [1, 3])
def test_an_insert_writes_the_rows_bulk_create_writes(clerk, supervisor, count):
    """Several rows (PostgreSQL: one array a column) or one, a conflict skipped as
    bulk_create's ignore_conflicts skips it, the default of a column left out filled."""
    messages = _entry_messages(clerk, count)
    insert = Insert(
        InboxEntry,
        ["user_id", "message_id", "division", "created_at", "read_at"],
        "default",
        count,
        on_conflict=OnConflict.IGNORE,
    )
    moment = timezone.now() - dt.timedelta(days=1)
    rows = [{"user_id": clerk.pk, "message_id": m.pk, "division": "td"} for m in messages]
    rows[0]["created_at"] = moment

    before = timezone.now()
    assert insert.run(connection, rows) == count
    again = [{**row, "user_id": supervisor.pk} for row in rows]
    assert insert.run(connection, again) == 0  # every message has its entry already

    written = list(InboxEntry.objects.order_by("message_id"))
    assert [(e.user_id, e.message_id, e.division, e.read_at) for e in written] == [
        (clerk.pk, m.pk, "td", None) for m in messages
    ]
    assert written[0].created_at == moment
    assert all(before <= e.created_at <= timezone.now() for e in written[1:])


def test_an_insert_prepares_a_value_the_rows_share_once_and_each_other_value_apart(db):
    """The very same object on consecutive rows (the page's moment, the person) is
    prepared once; an equal value that is another object, and every other value, by its
    own field, as a save prepares it."""
    insert = Insert(AppliedMessage, _MARK_COLUMNS, "retail", 3)
    moment = timezone.now()
    rows = [
        {"subject": "application", "subject_id": n, "sequence": 10, "applied_at": moment}
        for n in (1, 2, 3)
    ]
    rows[2]["applied_at"] = moment + dt.timedelta(0)  # equal, not the same object
    field = AppliedMessage._meta.get_field("applied_at")
    prepare = field.get_db_prep_save
    retail = connections["retail"]

    with mock.patch.object(field, "get_db_prep_save", side_effect=prepare) as prepared:
        params = insert.params(retail, rows)

    assert [c.args[0] for c in prepared.call_args_list] == [moment, moment]
    fields = [AppliedMessage._meta.get_field(name) for name in _MARK_COLUMNS]
    expected = []
    for row in rows:
        expected += [
            f.get_db_prep_save(row[f.name], retail) for f in fields if isinstance(f, Field)
        ]
    if insert.by_column:
        width = len(_MARK_COLUMNS)
        expected = [expected[column::width] for column in range(width)]
    assert params == expected


def test_an_upsert_replaces_the_row_it_meets(db):
    upsert = Insert(
        AppliedMessage,
        ["subject", "subject_id", "sequence", "applied_at"],
        "retail",
        on_conflict=OnConflict.UPDATE,
        unique_fields=["subject", "subject_id"],
        update_fields=["sequence", "applied_at"],
    )
    retail = connections["retail"]
    upsert.run(retail, [{"subject": "application", "subject_id": 7, "sequence": 10}])
    upsert.run(retail, [{"subject": "application", "subject_id": 7, "sequence": 11}])
    upsert.run(retail, [{"subject": "account", "subject_id": 7, "sequence": 12}])

    rows = AppliedMessage.objects.using("retail").order_by("sequence")
    assert [(r.subject, r.subject_id, r.sequence) for r in rows] == [
        ("application", 7, 11),
        ("account", 7, 12),
    ]
    assert all(r.applied_at is not None for r in rows)  # auto_now, filled as a save fills it


_MARK_COLUMNS = ["subject", "subject_id", "sequence", "applied_at"]


def _marks(count: int) -> Insert:
    return Insert(AppliedMessage, _MARK_COLUMNS, "retail", count)


def _mark_rows(*ids: int) -> list[dict[str, object]]:
    return [{"subject": "application", "subject_id": n, "sequence": n * 10} for n in ids]


def _written_marks() -> list[tuple[int, int]]:
    rows = AppliedMessage.objects.using("retail").order_by("subject_id")
    return [(row.subject_id, row.sequence) for row in rows]


def test_inserts_that_go_together_are_one_statement_on_postgresql(db):
    """What each INSERT writes alone, written by one statement (PostgreSQL) or by each in
    turn (SQLite), in the order given, each row's left-out column filled as a save
    fills it."""
    together = Inserts(_marks(1), _marks(2))
    retail = connections["retail"]

    with CaptureQueriesContext(retail) as ran:
        together.run(retail, _mark_rows(1), _mark_rows(2, 3))

    assert _written_marks() == [(1, 10), (2, 20), (3, 30)]
    assert all(row.applied_at is not None for row in AppliedMessage.objects.using("retail"))
    statements = [
        query["sql"] for query in ran if not query["sql"].startswith(("SAVEPOINT", "RELEASE"))
    ]
    assert len(statements) == (1 if retail.vendor == "postgresql" else 2)


@pytest.mark.django_db(transaction=True, databases=["default", "vault", "retail"])
def test_inserts_that_go_together_write_nothing_when_one_fails():
    """Outside any transaction of the caller's: a conflict in the last INSERT leaves the
    first one's row unwritten too (PostgreSQL: one statement is atomic; elsewhere: one
    transaction)."""
    retail = connections["retail"]
    _marks(1).run(retail, _mark_rows(9))
    together = Inserts(_marks(1), _marks(1))

    with pytest.raises(IntegrityError):
        together.run(retail, _mark_rows(1), _mark_rows(9))

    assert _written_marks() == [(9, 90)]
    together.run(retail, _mark_rows(1), _mark_rows(2))
    assert _written_marks() == [(1, 10), (2, 20), (9, 90)]


def test_inserts_refuse_what_they_cannot_run_together(db):
    one = _marks(1)
    with pytest.raises(ValueError, match="rows for 1 INSERTs, not 2"):
        Inserts(one, one).run(connections["retail"], _mark_rows(1))
    with pytest.raises(ValueError, match="none of them one that returns a key"):
        Inserts(
            one,
            Insert(AppliedMessage, _MARK_COLUMNS, "retail", returning=True),
        )
    with pytest.raises(ValueError, match="give the INSERTs"):
        Inserts()
    assert _written_marks() == []


def test_an_insert_refuses_what_it_does_not_write(clerk):
    (message,) = _entry_messages(clerk, 1)
    insert = Insert(InboxEntry, ["user_id", "message_id", "division"], "default")
    row = {"user_id": clerk.pk, "message_id": message.pk, "division": "td"}

    with pytest.raises(ValueError, match="2 rows for an insert of 1"):
        insert.run(connection, [row, row])
    with pytest.raises(ValueError, match="read_at"):
        insert.run(connection, [{**row, "read_at": None}])
    with pytest.raises(TypeError, match="a value, not an expression"):
        insert.run(connection, [{**row, "division": Upper(Value("td"))}])
    with pytest.raises(ValueError, match="by its attname"):
        Insert(InboxEntry, ["user", "message_id"], "default")
    with pytest.raises(ValueError, match="once"):
        Insert(InboxEntry, ["user_id", "user_id"], "default")
    with pytest.raises(ValueError, match="by its attname"):
        Insert(OutboxMessage, ["inbox_entry"], "default")  # a reverse relation
    assert not InboxEntry.objects.exists()


def test_an_insert_that_returns_the_key_saves_an_instance_as_save_does(
    new_application, clerk, supervisor
):
    """A review opening and a replication message, saved through a built INSERT … RETURNING
    beside the same saved by the ORM: the same columns, the moment filled at the run,
    the key set and the instance saved; the second run compiles nothing."""
    application = new_application()
    insert = Insert(
        ReviewOpening,
        ["application_id", "version", "user_id", "opened_at"],
        "default",
        returning=True,
    )
    by_orm = ReviewOpening.objects.create(application=application, version=1, user=supervisor)
    built = ReviewOpening(application=application, version=1, user=supervisor)
    before = timezone.now()
    insert.save(connection, built)
    assert built.pk is not None and built.pk != by_orm.pk
    assert not built._state.adding and built._state.db == "default"
    assert before <= built.opened_at <= timezone.now()
    row = ReviewOpening.objects.get(pk=built.pk)
    assert model_to_dict(row, exclude=["id"]) == model_to_dict(by_orm, exclude=["id"])
    assert row.opened_at == built.opened_at

    with _inserts() as compiled:
        message = replication_services.replication_write(
            subject=Subject.APPLICATION, subject_id=application.pk, kind=Kind.REMOVE
        )  # built here, or by an earlier test: compiled at most once
        again = replication_services.replication_write(
            subject=Subject.APPLICATION, subject_id=application.pk, kind=Kind.REMOVE
        )
        insert.save(connection, ReviewOpening(application=application, version=2, user=clerk))
    assert compiled.call_count <= 1
    stored = ReplicationMessage.objects.get(pk=again.pk)
    assert again.pk > message.pk and not again._state.adding
    assert (stored.subject_id, stored.kind, stored.payload, stored.attempts) == (
        application.pk,
        Kind.REMOVE,
        {},
        0,
    )
    assert stored.created_at == again.created_at


def test_an_insert_that_returns_the_key_refuses_what_save_would_not_do(new_application, clerk):
    application = new_application()
    opening = ReviewOpening(application=application, version=1, user=clerk)
    columns = ["application_id", "version", "user_id", "opened_at"]
    with pytest.raises(ValueError, match="save"):
        Insert(ReviewOpening, columns, "default").save(connection, opening)
    with pytest.raises(ValueError, match="save"):
        Insert(ReviewOpening, columns, "default", returning=True).run(connection, [{}])
    with pytest.raises(ValueError, match="every column"):
        Insert(ReviewOpening, columns[:3], "default", returning=True).save(connection, opening)
    with pytest.raises(TypeError):
        Insert(ReviewOpening, columns, "default", returning=True).save(connection, application)
    with pytest.raises(ValueError, match="one row"):
        Insert(ReviewOpening, columns, "default", 2, returning=True)
    with pytest.raises(ValueError, match="one row"):
        Insert(ReviewOpening, columns, "default", returning=True, on_conflict=OnConflict.IGNORE)
    # A database that returns no columns from an INSERT (neither of ours) is refused
    # where the statement is built, not when a save finds no key.
    with (
        mock.patch.object(connection.features, "can_return_columns_from_insert", False),
        pytest.raises(NotImplementedError, match="returns no columns"),
    ):
        Insert(ReviewOpening, columns, "default", returning=True)
    assert not ReviewOpening.objects.exists() and opening.pk is None


def test_the_relays_and_a_contribution_write_without_building(clerk, supervisor, new_application):
    """What the relays write (the inbox entries and the delivered mark, the published
    row) and a transition's contribution row: compiled once per process, not per run.
    The take's rows are the messages as the ORM reads them."""
    application = advance(new_application(), "verified", clerk=clerk, supervisor=supervisor)
    messages = _entry_messages(clerk, 2)
    outbox_services.relay_due()  # each built here, or by an earlier test
    replication_services.relay_until_done()
    # Everything pending again, as the commits left it.
    OutboxMessage.objects.update(delivered_at=None, next_attempt_at=timezone.now())
    InboxEntry.objects.all().delete()
    (message,) = ReplicationMessage.objects.filter(kind=Kind.UPSERT)
    ReplicationMessage.objects.exclude(pk=message.pk).delete()
    ReplicationMessage.objects.update(applied_at=None, attempts=0)
    message.refresh_from_db()
    AppliedMessage.objects.using("retail").all().delete()
    PublishedApplication.objects.using("retail").all().delete()

    with _compilations() as selects, _inserts() as inserts, _updates() as updates:
        with transaction.atomic():
            contribution_row(application, clerk, Contribution.EDITED).run(connection)
            taken = replication_services._take(timezone.now(), replication_services.LOCK_BATCH)
            transaction.set_rollback(True)
        delivered = outbox_services.relay_due()
        applied = replication_services.relay_due()

    assert (selects.call_count, inserts.call_count, updates.call_count) == (0, 0, 0)
    assert delivered["delivered"] >= 2 and applied["applied"] == 1
    assert {m.pk for m in messages} <= set(InboxEntry.objects.values_list("message_id", flat=True))
    (published,) = PublishedApplication.objects.using("retail").all()
    assert (published.application_id, published.version) == (application.pk, application.version)
    # The take's instance is the row as the ORM reads it (the JSON payload, the moments).
    assert [model_to_dict(m) for m in taken] == [
        {**model_to_dict(message), "attempts": 1, "applied_at": taken[0].applied_at}
    ]
    assert taken[0].payload == message.payload and taken[0].created_at == message.created_at
    assert taken[0].applied_at is not None
