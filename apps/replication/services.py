"""Writing replication messages (in the caller's transaction) and applying them to the
retail database.

`replication_write` inserts a message and, once the caller's transaction commits, asks
for the relay (`replication.relay`): eagerly in-process in the embedded default (no
broker, apps.core.tasks.enqueue), through the broker otherwise. If the broker is
unreachable nothing is lost: the message waits and beat runs the relay every minute.

`relay_due` applies due messages, withdrawals (remove) before anything else, then in
sequence order, each with its outbox row locked (`SELECT … FOR UPDATE SKIP
LOCKED` on PostgreSQL, so two relays never apply the same message at once). The retail
side of one message is one transaction on the retail alias that first claims the
subject's AppliedMessage row (an upsert that writes the message's sequence only over an
older one, and locks the row): a message not newer than the one applied changes nothing
(a late older message, a redelivery after a crash between the two commits), anything
newer is applied (an application's row in one upsert). A failure leaves the message
pending with its error and the next attempt pushed back exponentially; it is retried
until done.
"""

from __future__ import annotations

import datetime as dt
import decimal
import logging
import uuid
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from django.db import connections, router, transaction
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.db.models.constants import OnConflict
from django.utils import timezone

from apps.core.statements import (
    Insert,
    ModelRead,
    Rider,
    Slots,
    Statement,
    compile_statement,
)
from apps.core.tasks import Nudge
from apps.publication.models import (
    AppliedMessage,
    PublishedApplication,
    RetailAccount,
    RetailSession,
    Subject,
)
from apps.publication.routers import retail_alias

from .models import Kind, ReplicationMessage
from .retention import forget_account_payloads

logger = logging.getLogger(__name__)

RETRY_BASE_SECONDS = 5
RETRY_MAX_SECONDS = 3600
DEFAULT_RELAY_BATCH = 500
LOCK_BATCH = 50

# The account fields the T&D side owns and every upsert carries. The password hash and
# must_change_password are carried too, but applied to an existing retail account only
# when the T&D side set them (`credentials`): after provisioning, the retail site changes
# its own password.
ACCOUNT_FIELDS = ("username", "display_name", "is_active", "session_stamp")
CREDENTIAL_FIELDS = ("password", "must_change_password")


def _plain(value: Any) -> Any:
    """JSON for a payload value, exact: full microseconds (DjangoJSONEncoder cuts them to
    milliseconds, and verified_at must compare equal), decimals and dates as strings."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    return value


# After a commit that gave the relay work: ask a worker now (beat relays anyway).
request_relay = Nudge("replication.relay")


def replication_write(
    *, subject: Subject, subject_id: int, kind: Kind, payload: Mapping[str, Any] | None = None
) -> ReplicationMessage:
    """Queue one message in the caller's transaction. The caller holds the subject's row
    lock (the application, the person), so messages about one subject get their sequence
    in commit order."""
    message = ReplicationMessage(
        subject=subject,
        subject_id=subject_id,
        kind=kind,
        payload={key: _plain(value) for key, value in (payload or {}).items()},
    )
    alias = router.db_for_write(ReplicationMessage)
    _message_insert(alias).save(connections[alias], message)
    transaction.on_commit(request_relay)
    return message


@cache
def _message_insert(alias: str) -> Insert:
    """A message's INSERT, built once per process (apps.core.statements): a verification
    and each later step write one."""
    meta = ReplicationMessage._meta
    columns = [f.attname for f in meta.concrete_fields if not (f.primary_key or f.generated)]
    return Insert(ReplicationMessage, columns, alias, returning=True)


def replication_rider(
    *,
    subject: Subject,
    subject_id: int,
    kind: Kind,
    payload: Mapping[str, Any],
    condition: tuple[str, Sequence[Any]] | None = None,
) -> Rider:
    """`replication_write`'s message as a rider (apps.core.statements.Rider) that a
    statement of the messages' database carries — the audit events of the transition
    that sends it — so it costs no round trip of its own. With `condition` (a SELECT
    compiled for that database, its parameters) it is written only if the condition
    finds a row, as one `INSERT … SELECT … WHERE EXISTS`: a progress step republishes
    only while the retail grant holds. Once written (`Rider.landed`), the relay is asked
    for when the transaction commits, if the message went in. The caller holds the
    subject's row lock, as for replication_write."""
    alias = router.db_for_write(ReplicationMessage)
    connection = connections[alias]
    now = timezone.now()
    template = ReplicationMessage(
        subject=subject,
        subject_id=subject_id,
        kind=kind,
        payload={key: _plain(value) for key, value in payload.items()},
        created_at=now,
        next_attempt_at=now,
    )
    params = [f.get_db_prep_save(getattr(template, f.attname), connection) for f in _WRITTEN]
    inner, inner_params = condition or (_ALWAYS, [])
    sql = _write_if_sql(alias, inner)
    return Rider(sql, [*params, *inner_params], counted=True, then=_relay_if_written)


# The condition of a message written whatever the database holds.
_ALWAYS = "SELECT 1"


def _relay_if_written(rider: Rider) -> None:
    if rider.written:
        transaction.on_commit(request_relay, using=router.db_for_write(ReplicationMessage))


_WRITTEN = tuple(f for f in ReplicationMessage._meta.concrete_fields if not f.primary_key)


@cache
def _write_if_sql(alias: str, inner: str) -> str:
    """`replication_rider`'s statement around the condition `inner`, made once per
    database and condition."""
    qn = connections[alias].ops.quote_name
    # Only quoted names from the model's metadata and the ORM's compiled query go into
    # the text; every value is a parameter.
    return (
        f"INSERT INTO {qn(ReplicationMessage._meta.db_table)}"
        f" ({', '.join(qn(f.column) for f in _WRITTEN)})"
        f" SELECT {', '.join(['%s'] * len(_WRITTEN))} WHERE EXISTS ({inner})"
    )


def pending_subject_ids(subject: Subject) -> set[int]:
    """Subjects with a message not applied yet: in flight, not (yet) a disagreement."""
    return set(
        ReplicationMessage.objects.filter(subject=subject, applied_at__isnull=True).values_list(
            "subject_id", flat=True
        )
    )


# --- the relay ----------------------------------------------------------------------------


def _backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(RETRY_BASE_SECONDS * 2 ** (attempts - 1), RETRY_MAX_SECONDS))


def _due(now: dt.datetime, size: int) -> QuerySet[ReplicationMessage]:
    """The next due messages, removals first, locked for this relay (another relay
    skips them)."""
    return (
        ReplicationMessage.objects.select_for_update(skip_locked=True)
        .filter(applied_at__isnull=True, next_attempt_at__lte=now)
        .annotate(
            removes_first=Case(
                When(kind=Kind.REMOVE, then=Value(0)), default=Value(1), output_field=IntegerField()
            )
        )
        .order_by("removes_first", "id")[:size]
    )


def _take(now: dt.datetime, size: int) -> list[ReplicationMessage]:
    """`_due`'s messages, locked and marked applied (one more attempt, no error) in one
    `UPDATE … WHERE id IN (_due) RETURNING`, in the order to apply them. The mark is this
    transaction's: nobody sees it before the commit, a message that then fails is marked
    back (`relay_due`), and a crash before the commit leaves every message pending."""
    alias = router.db_for_write(ReplicationMessage)
    connection = connections[alias]
    sql, due, shape = _take_sql(alias, size)
    moment = ReplicationMessage._meta.get_field("applied_at").get_db_prep_save(
        timezone.now(), connection
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [moment, *due.params(connection, {"now": now})])
        taken = shape.instances(connection, cursor.fetchall())
    taken.sort(key=lambda message: (message.kind != Kind.REMOVE, message.pk))
    return taken


@cache
def _take_sql(alias: str, size: int) -> tuple[str, Statement, ModelRead[ReplicationMessage]]:
    """`_take`'s UPDATE, the statement of `_due` inside it and the shape of the rows it
    returns (a message's columns, made into instances as a read of them would be), built
    once per process and batch size (apps.core.statements): the relay runs after every
    commit that writes a message. The UPDATE's own parameter (the moment applied) comes
    first."""
    connection = connections[alias]
    slots = Slots()
    due, _compiler = compile_statement(_due(slots.moment("now"), size).values("pk"), slots, alias)
    shape = ModelRead(lambda _slots: ReplicationMessage.objects.all(), alias)
    meta = ReplicationMessage._meta
    qn = connection.ops.quote_name
    table = qn(meta.db_table)
    attempts, applied_at = qn(meta.get_field("attempts").column), qn("applied_at")
    # Only quoted names from the model's metadata and the ORM's compiled query go into
    # the text; every value is a parameter.
    sql = (
        f"UPDATE {table} SET {attempts} = {attempts} + 1, {applied_at} = %s,"  # noqa: S608
        f" {qn('last_error')} = '' WHERE {qn(meta.pk.column)} IN"
        f" (SELECT U.pk FROM ({due.sql}) U) RETURNING {', '.join(shape.columns())}"
    )
    return sql, due, shape


def _values(model: Any, payload: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """Payload strings back to the column's Python values (dates, decimals, UUIDs)."""
    fields = {f.name: f for f in model._meta.concrete_fields}
    return {name: fields[name].to_python(payload[name]) for name in names if name in payload}


_PUBLISHED_FIELDS = tuple(
    f.name
    for f in PublishedApplication._meta.concrete_fields
    if f.name not in ("application_id", "published_at", "sequence")
)


def _apply_application(message: ReplicationMessage, alias: str) -> bool:
    """An application's message, claimed (`_claim`) then applied; False if it was not
    newer than what is there."""
    if _in_one_statement(message, alias):
        return _claimed_upsert(message, alias)
    if not _claim(message, alias):
        return False
    if message.kind == Kind.REMOVE:
        PublishedApplication.objects.using(alias).filter(application_id=message.subject_id).delete()
        return True
    row = _published_row(message)
    _published_upsert(alias, tuple(row)).run(connections[alias], [row])
    return True


def _published_row(message: ReplicationMessage) -> dict[str, Any]:
    """The published row an application's message writes, by attname."""
    return {
        "application_id": message.subject_id,
        **_values(PublishedApplication, message.payload, _PUBLISHED_FIELDS),
        "sequence": message.pk,
        "published_at": timezone.now(),
    }


@cache
def _published_upsert(alias: str, names: tuple[str, ...]) -> Insert:
    """One upsert (INSERT … ON CONFLICT DO UPDATE) of a published row: a new row or the
    whole row replaced (the AppliedMessage claim serialises both), built once per
    process and set of columns (a payload's; apps.core.statements)."""
    return Insert(
        PublishedApplication,
        names,
        alias,
        on_conflict=OnConflict.UPDATE,
        unique_fields=["application_id"],
        update_fields=[name for name in names if name != "application_id"],
    )


def _apply_account(message: ReplicationMessage, alias: str) -> None:
    sessions = RetailSession.objects.using(alias).filter(account_id=message.subject_id)
    if message.kind == Kind.REMOVE:
        # Leaving retail ends the person's retail sessions in the same transaction.
        RetailAccount.objects.using(alias).filter(pk=message.subject_id).delete()
        sessions.delete()
        return
    payload = message.payload
    if not payload:
        # Cleared once applied (apps.replication.retention), then made pending by hand:
        # barrier_check provisions the account from the truth with a new message.
        logger.warning("account message %s has no payload left: not applied", message.pk)
        return
    account = RetailAccount.objects.using(alias).select_for_update().filter(pk=message.subject_id)
    row = account.first()
    owned = _values(RetailAccount, payload, ACCOUNT_FIELDS)
    credentials = _values(RetailAccount, payload, CREDENTIAL_FIELDS)
    if row is None:
        RetailAccount.objects.using(alias).create(
            pk=message.subject_id, provisioned_at=timezone.now(), **owned, **credentials
        )
        sessions.delete()  # none should exist; a stale one from an earlier stay goes
        return
    stamp_changed = row.session_stamp != owned.get("session_stamp", row.session_stamp)
    changes = {**owned, **(credentials if payload.get("credentials") else {})}
    account.update(**changes)
    if stamp_changed or not owned.get("is_active", True):
        sessions.delete()


@cache
def _claim_sql(vendor: str) -> str:
    """The subject's AppliedMessage row written with this message's sequence if it is
    newer than the one recorded (or none is): an upsert whose DO UPDATE has that
    condition. Both vendors lock the row it conflicts with until the transaction ends,
    whether or not it updates it, as the SELECT … FOR UPDATE it replaces did."""
    qn = connections[retail_alias()].ops.quote_name
    table = qn(AppliedMessage._meta.db_table)
    subject, subject_id = qn("subject"), qn("subject_id")
    sequence, applied_at = qn("sequence"), qn("applied_at")
    # Only quoted names from the model's metadata go into the text; values are parameters.
    return (
        f"INSERT INTO {table} ({subject}, {subject_id}, {sequence}, {applied_at})"  # noqa: S608
        f" VALUES (%s, %s, %s, %s) ON CONFLICT ({subject}, {subject_id}) DO UPDATE SET"
        f" {sequence} = excluded.{sequence}, {applied_at} = excluded.{applied_at}"
        f" WHERE {table}.{sequence} < excluded.{sequence}"
    )


def _claim(message: ReplicationMessage, alias: str) -> bool:
    """Record `message` as the newest applied of its subject, in the caller's retail
    transaction; False (nothing written) if one not older was applied before."""
    connection = connections[alias]
    moment = AppliedMessage._meta.get_field("applied_at").get_db_prep_save(
        timezone.now(), connection
    )
    with connection.cursor() as cursor:
        cursor.execute(
            _claim_sql(connection.vendor),
            [message.subject, message.subject_id, message.pk, moment],
        )
        return cursor.rowcount == 1


def _apply_in(message: ReplicationMessage, alias: str) -> bool:
    """One message, in the caller's retail transaction; False if it was not newer than
    what the retail database already holds of its subject (nothing changed). Two
    statements for an application: the claim (`_claim`) and the upsert or delete; on
    PostgreSQL an application's upsert is one (`_claimed_upsert`)."""
    if message.subject == Subject.APPLICATION:
        return _apply_application(message, alias)
    if not _claim(message, alias):
        return False
    _apply_account(message, alias)
    return True


def _apply(message: ReplicationMessage) -> bool:
    """One message on the retail alias, in a transaction of its own: the statement's own
    where it is one (`_in_one_statement`), else BEGIN … COMMIT around its statements."""
    alias = retail_alias()
    if _in_one_statement(message, alias):
        return _apply_application(message, alias)
    with transaction.atomic(using=alias):
        return _apply_in(message, alias)


def _in_one_statement(message: ReplicationMessage, alias: str) -> bool:
    return (
        message.subject == Subject.APPLICATION
        and message.kind != Kind.REMOVE
        and connections[alias].vendor == "postgresql"
    )


def _claimed_upsert(message: ReplicationMessage, alias: str) -> bool:
    """`_claim` and `_apply_application`'s upsert of a published application as one
    statement (PostgreSQL: the claim in a WITH, the upsert only where it won), so a
    replicated verification or step costs the retail database one round trip, not four
    (BEGIN, claim, upsert, COMMIT). The same rows, locks and answer as the two."""
    connection = connections[alias]
    row = _published_row(message)
    names = tuple(row)
    claim = [
        message.subject,
        message.subject_id,
        message.pk,
        AppliedMessage._meta.get_field("applied_at").get_db_prep_save(
            row["published_at"], connection
        ),
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            _claimed_upsert_sql(alias, names),
            [*claim, *_published_upsert(alias, names).params(connection, [row])],
        )
        return cursor.rowcount == 1


@cache
def _claimed_upsert_sql(alias: str, names: tuple[str, ...]) -> str:
    """`_claimed_upsert`'s statement for a payload's columns (`names`, in the order of
    `_published_upsert`'s parameters), made once per process."""
    qn = connections[alias].ops.quote_name
    fields = _published_upsert(alias, names).fields
    columns = [qn(field.column) for field in fields]
    key = next(qn(field.column) for field in fields if field.attname == "application_id")
    replaced = ", ".join(f"{column} = excluded.{column}" for column in columns if column != key)
    # Only quoted names from the models' metadata go into the text; values are parameters.
    return (
        f"WITH claimed AS ({_claim_sql('postgresql')} RETURNING 1)"  # noqa: S608
        f" INSERT INTO {qn(PublishedApplication._meta.db_table)} ({', '.join(columns)})"
        f" SELECT {', '.join(['%s'] * len(columns))} WHERE EXISTS (SELECT 1 FROM claimed)"
        f" ON CONFLICT ({key}) DO UPDATE SET {replaced}"
    )


def _apply_round(batch: list[ReplicationMessage]) -> list[bool | Exception]:
    """Each message's outcome (changed, or the exception it failed with), in order. A
    round of several is tried in one retail transaction first; if anything in it fails,
    that transaction rolls back whole and each message is applied again in its own, so
    one failing message never holds back the others (nor is its error blamed on them)."""
    if len(batch) > 1:
        alias = retail_alias()
        # Withdrawals first, then the subjects in one order, so that two relays' rounds
        # claim their rows in the same order (a deadlock that remains, with a subject's
        # withdrawal in one round and its upsert in another, is PostgreSQL's to detect:
        # the round then goes one message at a time). Per subject the claim keeps the
        # newest whatever the order.
        in_lock_order = sorted(
            batch, key=lambda m: (m.kind != Kind.REMOVE, m.subject, m.subject_id, m.pk)
        )
        try:
            with transaction.atomic(using=alias):
                changed = {m.pk: _apply_in(m, alias) for m in in_lock_order}
            return [changed[message.pk] for message in batch]
        except Exception as exc:  # retried one by one, which names the failing message
            logger.info(
                "replication round of %s rolled back (%s): one message at a time",
                len(batch),
                type(exc).__name__,
            )
    outcomes: list[bool | Exception] = []
    for message in batch:
        try:
            outcomes.append(_apply(message))
        except Exception as exc:
            outcomes.append(exc)
    return outcomes


def relay_due(*, limit: int = DEFAULT_RELAY_BATCH) -> dict[str, int]:
    """Apply up to `limit` due messages; returns counts of the messages applied, those
    that changed nothing (older than or equal to what was applied) and those that failed
    (retried later). Messages are locked and marked LOCK_BATCH at a time (`_take`: one
    outbox transaction and one statement per batch) and applied in one retail
    transaction per batch (`_apply_round`; one per message after a failure): a crash in
    between leaves applied messages unmarked, and their redelivery changes nothing."""
    applied = skipped = failed = 0
    now = timezone.now()
    while applied + skipped + failed < limit:
        size = min(LOCK_BATCH, limit - applied - skipped - failed)
        with transaction.atomic():
            batch = _take(now, size)
            if not batch:
                break
            broken: list[ReplicationMessage] = []
            for message, outcome in zip(batch, _apply_round(batch), strict=True):
                if isinstance(outcome, Exception):
                    exc = outcome
                    # Payloads hold no personal data, so neither can the error about them.
                    message.applied_at = None
                    message.last_error = f"{type(exc).__name__}: {exc}"[:1000]
                    message.next_attempt_at = timezone.now() + _backoff(message.attempts)
                    broken.append(message)
                    logger.warning(
                        "replication message %s failed (attempt %s): %s",
                        message.pk,
                        message.attempts,
                        type(exc).__name__,
                    )
                    continue
                if outcome:
                    applied += 1
                else:
                    skipped += 1
            # Applied or superseded, in the transaction that marks them so.
            forget_account_payloads(m for m in batch if m not in broken)
            if broken:
                # Marked back: pending again, after its back-off.
                ReplicationMessage.objects.bulk_update(
                    broken, ["applied_at", "last_error", "next_attempt_at"]
                )
                failed += len(broken)
        if len(batch) < size:
            # Nothing more was due at `now` (or another relay holds it): no empty round.
            break
    if applied or skipped or failed:
        logger.info(
            "replication relay: %s applied, %s unchanged, %s failed", applied, skipped, failed
        )
    return {"applied": applied, "skipped": skipped, "failed": failed}


def relay_until_done(*, limit: int = DEFAULT_RELAY_BATCH) -> dict[str, int]:
    """Run the relay until nothing is due (a command's, a repair's or a test's catch-up);
    messages waiting for their back-off stay for the scheduled relay."""
    total = {"applied": 0, "skipped": 0, "failed": 0}
    while True:
        counts = relay_due(limit=limit)
        for key, value in counts.items():
            total[key] += value
        if counts["applied"] + counts["skipped"] + counts["failed"] < limit:
            return total
