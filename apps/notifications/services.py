"""Writing to the outbox (in the caller's transaction) and relaying it.

`outbox_write` inserts a row and, once the caller's transaction commits, asks the relay
to run (`notifications.relay`). If the broker is unreachable at that moment nothing is
lost: the row waits and the beat schedule runs the relay every minute.

`relay_due` delivers due rows in rounds of up to LOCK_BATCH, each round one transaction
with its rows locked (`SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL), so two relays
running at once never deliver the same row; a round reads its rows with their
recipients and divisions in one statement and their roles in another, and writes its
inbox entries in one INSERT and its delivered marks in one UPDATE. The inbox entry is
unique per message, so a row is shown in the inbox once even if an e-mail had to be
retried. A failure leaves the row undelivered with its error and the next attempt
pushed back exponentially.

A recipient who is in retail at delivery gets the entry in the retail database
(apps.publication's RetailInboxEntry, read on the retail site), not in the T&D inbox.

E-mail is at least once: a worker killed after the relay handed the message over, or a
database connection lost before the row's delivered mark committed, sends it again on
the next attempt. Every attempt of one row carries the same Message-ID
(`outbox_message_id`), so a mail system or client that deduplicates on it shows one
message; the rest is documented in docs/production.md.

A message is written for its recipient as a member of one division holding one of some
roles. Delivery checks that again: a recipient transferred (or who lost the role, or
whose account was closed) in between gets nothing; the row is marked dropped with the
reason and an audit event records it. `outbox_withhold` records the same for a message
its writer already knew it must not send (a stale compliance contact).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import DatabaseError, IntegrityError, connections, router, transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.db.models.constants import OnConflict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import DivisionCode, DivisionMembership, User
from apps.accounts.selectors import ComplianceContact, role_codes_of, split_codes
from apps.audit.models import AuditAction
from apps.audit.services import audit_record
from apps.core.errors import NotFound
from apps.core.statements import Insert, ModelRead, Rider, Slots, with_inserts
from apps.core.tasks import Nudge
from apps.publication.models import RetailInboxEntry

from .models import DropReason, InboxEntry, OutboxMessage

logger = logging.getLogger(__name__)

RETRY_BASE_SECONDS = 30
RETRY_MAX_SECONDS = 3600
DEFAULT_RELAY_BATCH = 200
LOCK_BATCH = 50


# After a commit that gave the relay work: ask a worker now (beat relays anyway).
request_relay = Nudge("notifications.relay")


def current_divisions(user_ids: Iterable[int], now: dt.datetime | None = None) -> dict[int, str]:
    """The division each user belongs to at `now`, in one query."""
    now = now or timezone.now()
    rows = DivisionMembership.objects.filter(
        Q(valid_until__isnull=True) | Q(valid_until__gt=now),
        user_id__in=list(user_ids),
        valid_from__lte=now,
    ).values_list("user_id", "division_id")
    return dict(rows)


def outbox_write(
    *,
    recipient_ids: Iterable[int],
    kind: str,
    subject: str,
    body: str,
    dedupe_key: str,
    application_id: int | None = None,
    division: str | None = None,
    roles: Iterable[str] = (),
    fresh: bool = False,
) -> int:
    """Queue one message per recipient inside the caller's transaction; returns how many
    were new. `dedupe_key` is suffixed with the recipient, and a key already written is
    skipped, so calling this again for the same event writes nothing.

    `fresh`: the caller's key names something that has just happened (a workflow
    transition's moment, under its row lock), so the look-up of keys already written is
    skipped — the unique constraint (ignore_conflicts) still keeps a repeat out, and the
    count returned is then the rows offered.

    `division` and `roles` say whom the message is for (a T&D supervisor, say); delivery
    drops it if the recipient no longer is. Without `division`, each recipient's division
    at this moment is recorded (a message about the person's own account)."""
    now = timezone.now()
    ids = sorted(set(recipient_ids))
    divisions = current_divisions(ids, now) if division is None and ids else {}
    wanted_roles = sorted({str(role) for role in roles})
    rows = [
        OutboxMessage(
            recipient_id=user_id,
            kind=kind,
            application_id=application_id,
            subject=subject[:200],
            body=body,
            dedupe_key=f"{dedupe_key}:u{user_id}",
            division=division if division is not None else divisions.get(user_id, ""),
            roles=wanted_roles,
            created_at=now,
            next_attempt_at=now,
        )
        for user_id in ids
    ]
    if not rows:
        return 0
    if fresh:
        new = rows
    else:
        keys = [row.dedupe_key for row in rows]
        existing = set(
            OutboxMessage.objects.filter(dedupe_key__in=keys).values_list("dedupe_key", flat=True)
        )
        new = [row for row in rows if row.dedupe_key not in existing]
    # ignore_conflicts: a concurrent writer of the same key wins without aborting ours.
    OutboxMessage.objects.bulk_create(new, ignore_conflicts=True)
    if new:
        transaction.on_commit(request_relay)
    return len(new)


def outbox_rider(
    *,
    recipients: tuple[str, Sequence[Any]],
    kind: str,
    subject: str,
    body: str,
    dedupe_key: str,
    application_id: int | None,
    division: str,
    roles: Iterable[str] = (),
) -> Rider:
    """The outbox rows of the recipients a query finds, as one counted `INSERT …
    SELECT` (apps.core.statements.Rider) that a statement of the outbox's database
    carries — the audit events of the transition that sends them — or that runs by
    itself (`Rider.run`): no round trip of its own, or one, never the query's and the
    INSERT's. `recipients` is that query, compiled for the outbox's database: (a SELECT
    of the recipients' ids, its parameters). Once it has been written
    (`Rider.landed`), the relay is asked for if a message went in.

    Every row gets the same values as outbox_write would give it (the dedupe key
    suffixed with the recipient, `:u<id>`, and the unique key still keeps a repeat out),
    and `division` is required: the division a recipient belongs to now would be
    another read."""
    alias = router.db_for_write(OutboxMessage)
    connection = connections[alias]
    now = timezone.now()
    template = OutboxMessage(
        kind=kind,
        application_id=application_id,
        subject=subject[:200],
        body=body,
        division=division,
        roles=sorted({str(role) for role in roles}),
        created_at=now,
        next_attempt_at=now,
    )
    inner, inner_params = recipients
    params: list[Any] = []
    for f in _SELECTED_FIELDS:
        if f.name == "dedupe_key":
            params.append(f"{dedupe_key}:u")
        elif f.name != "recipient":
            params.append(f.get_db_prep_save(getattr(template, f.attname), connection))
    sql = _insert_select_sql(alias, inner)
    return Rider(sql, [*params, *inner_params], counted=True, then=_relay_if_written)


def _relay_if_written(rider: Rider) -> None:
    """Once an `outbox_rider` is written: the relay is asked for when the transaction
    commits, if a message went in."""
    if rider.written:
        transaction.on_commit(request_relay, using=router.db_for_write(OutboxMessage))


_SELECTED_FIELDS = tuple(f for f in OutboxMessage._meta.concrete_fields if not f.primary_key)


@functools.cache
def _insert_select_sql(alias: str, inner: str) -> str:
    """The outbox's `INSERT … SELECT` around the recipients' SELECT `inner`, made once
    per database and recipients' query."""
    connection = connections[alias]
    qn = connection.ops.quote_name
    columns, values = [], []
    for f in _SELECTED_FIELDS:
        columns.append(qn(f.column))
        if f.name == "recipient":
            values.append("r.id")
        elif f.name == "dedupe_key":
            values.append("%s || CAST(r.id AS TEXT)")
        else:
            values.append("%s")
    on_conflict = OnConflict.IGNORE
    # Only quoted names from the model's metadata and the ORM's compiled query go into
    # the text; every value is a parameter. The WHERE: SQLite reads `INSERT … SELECT …
    # ON CONFLICT` ambiguously without one.
    return (
        f"{connection.ops.insert_statement(on_conflict=on_conflict)}"  # noqa: S608
        f" {qn(OutboxMessage._meta.db_table)} ({', '.join(columns)})"
        f" SELECT {', '.join(values)} FROM ({inner}) r WHERE 1 = 1"
        f" {connection.ops.on_conflict_suffix_sql([], on_conflict, None, None)}"
    )


def _record_drop(message: OutboxMessage, reason: str, *, at: str) -> None:
    """Mark the row dropped and write the audit event, in the caller's transaction."""
    message.dropped_at = timezone.now()
    message.drop_reason = reason
    audit_record(
        actor=None,
        action=AuditAction.NOTIFICATION_DROPPED,
        obj=message,
        object_label=f"{message.kind} #{message.pk}"[:64],
        details={
            "message": message.pk,
            "kind": message.kind,
            "recipient": message.recipient_id,
            "division": message.division,
            "roles": list(message.roles),
            "reason": reason,
            "at": at,
            "application": message.application_id,
        },
    )


def withhold_reason(contact: ComplianceContact) -> DropReason:
    """Why a named compliance contact who is not entitled is told nothing."""
    return DropReason.INACTIVE if not contact.active else DropReason.DIVISION


def outbox_withhold(
    *,
    recipient_id: int,
    kind: str,
    subject: str,
    body: str,
    dedupe_key: str,
    reason: DropReason,
    division: str,
    application_id: int | None = None,
) -> int:
    """Record, once per dedupe key, a message that is not sent because its writer found
    the recipient no longer entitled to it (in the caller's transaction); returns 1 if
    this is the first record, 0 if it was recorded before."""
    key = f"{dedupe_key}:u{recipient_id}"
    if OutboxMessage.objects.filter(dedupe_key=key).exists():
        return 0
    try:
        # A savepoint: a concurrent writer of the same key wins without aborting ours.
        with transaction.atomic():
            message = OutboxMessage.objects.create(
                recipient_id=recipient_id,
                kind=kind,
                application_id=application_id,
                subject=subject[:200],
                body=body,
                dedupe_key=key,
                division=division,
            )
    except IntegrityError:
        return 0
    _record_drop(message, reason, at="write")
    message.save(update_fields=["dropped_at", "drop_reason"])
    logger.warning(
        "outbox message %s withheld from user %s (%s): %s",
        message.pk,
        recipient_id,
        kind,
        reason,
    )
    return 1


def _backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(RETRY_BASE_SECONDS * 2 ** (attempts - 1), RETRY_MAX_SECONDS))


def _drop_reason(
    message: OutboxMessage, recipient: User, division: str | None, roles: set[str]
) -> str | None:
    """Is the recipient still the person the message was written for? None if so."""
    if not recipient.is_active:
        return DropReason.INACTIVE
    if message.division and division != message.division:
        return DropReason.DIVISION
    if message.roles and not set(message.roles) & roles:
        return DropReason.ROLE
    return None


def _deliver(message: OutboxMessage, roles: set[str], entries: list[dict[str, Any]]) -> bool:
    """Send the e-mail and write the retail inbox entry, or add the T&D inbox entry's
    columns to `entries` (the round writes them in one INSERT); False (and nothing sent) if the
    recipient is no longer entitled to the message. `message.recipient` and its
    `recipient_division` (as `User.division_at()`, now) come with the message (`_due`),
    `roles` are the recipient's role codes."""
    recipient = message.recipient
    division: str | None = message.recipient_division  # type: ignore[attr-defined]
    reason = _drop_reason(message, recipient, division, roles)
    if reason is not None:
        _record_drop(message, reason, at="delivery")
        return False
    if recipient.email:
        send_mail(message, recipient.email)
    if division == DivisionCode.RETAIL:
        # A retail person reads the inbox on the retail site, from the retail database.
        # Its own transaction there; the message id is unique, so a redelivery (this
        # row's update failing after it) writes nothing twice.
        RetailInboxEntry.objects.get_or_create(
            message_id=message.pk,
            defaults={
                "account_id": recipient.pk,
                "kind": message.kind,
                "subject": message.subject,
                "body": message.body,
                "created_at": message.created_at,
            },
        )
        return True
    entries.append({"message_id": message.pk, "user_id": recipient.pk, "division": division or ""})
    return True


def send_mail(message: OutboxMessage, address: str) -> None:
    """Hand one outbox row to the mail relay, under its own Message-ID."""
    EmailMessage(
        message.subject,
        message.body,
        settings.DEFAULT_FROM_EMAIL,
        [address],
        headers={"Message-ID": outbox_message_id(message)},
    ).send(fail_silently=False)


def outbox_message_id(message: OutboxMessage) -> str:
    """The Message-ID of every delivery attempt of this outbox row: `<outbox-ID.HASH@DOMAIN>`.
    The hash covers the row's id, dedupe key and creation time, so a database restored or
    re-created (ids used again) never gives another message the same id; it holds no
    personal data (ids and codes only). The domain is the sender's (DEFAULT_FROM_EMAIL)."""
    created = message.created_at.astimezone(dt.UTC).isoformat(timespec="microseconds")
    digest = hashlib.sha256(f"{message.pk}|{message.dedupe_key}|{created}".encode()).hexdigest()
    domain = str(settings.DEFAULT_FROM_EMAIL).rpartition("@")[2].strip(" >") or "localhost"
    return f"<outbox-{message.pk}.{digest[:16]}@{domain}>"


def _due(now: dt.datetime, size: int) -> list[OutboxMessage]:
    """The next due messages, locked for this relay (another relay skips them), each
    with its recipient, the recipient's division now and role codes now (one
    statement)."""
    alias = router.db_for_write(OutboxMessage)
    return _due_read(alias, size).rows(connections[alias], now=now)


@functools.cache
def _due_read(alias: str, size: int) -> ModelRead[OutboxMessage]:
    """`_due`'s statement, built once per process and batch size (apps.core.statements):
    the relay runs after every commit that writes a message."""

    def build(slots: Slots) -> QuerySet[OutboxMessage, OutboxMessage]:
        now = slots.moment("now")
        division_now = (
            DivisionMembership.objects.filter(
                Q(valid_until__isnull=True) | Q(valid_until__gt=now),
                user_id=OuterRef("recipient_id"),
                valid_from__lte=now,
            )
            .order_by("valid_from")
            .values("division_id")[:1]
        )
        return (
            OutboxMessage.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("recipient")
            .annotate(
                recipient_division=Subquery(division_now),
                recipient_roles=role_codes_of(OuterRef("recipient_id")),
            )
            .filter(delivered_at__isnull=True, dropped_at__isnull=True, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")[:size]
        )

    return ModelRead(build, alias)


def _relay_round(now: dt.datetime, size: int, locked: list[int]) -> tuple[int, int, int, int]:
    """One transaction: lock up to `size` due messages (their ids go to `locked`),
    deliver them, write their T&D inbox entries in one INSERT and mark the delivered
    ones in one UPDATE. Returns how many were locked, delivered, dropped and failed.

    A failure of one delivery (the mail relay, the retail database) marks that message
    failed and the others go on. A failure of the round's own writes rolls back all of
    it (relay_due then marks its messages failed): the mails already sent go again on
    the next attempt, under the same Message-ID (at least once, as the module says)."""
    delivered = dropped = failed = 0
    with transaction.atomic():
        batch = _due(now, size)
        if not batch:
            return 0, 0, 0, 0
        locked += [message.pk for message in batch]
        entries: list[dict[str, Any]] = []
        sent: list[int] = []
        for message in batch:
            try:
                roles = split_codes(message.recipient_roles)  # type: ignore[attr-defined]
                ok = _deliver(message, roles, entries)
            except Exception as exc:
                message.attempts += 1
                message.last_error = f"{type(exc).__name__}: {exc}"[:1000]
                message.next_attempt_at = timezone.now() + _backoff(message.attempts)
                message.save(update_fields=["attempts", "last_error", "next_attempt_at"])
                failed += 1
                logger.warning(
                    "outbox message %s failed (attempt %s): %s",
                    message.pk,
                    message.attempts,
                    type(exc).__name__,
                )
                continue
            if not ok:
                message.save(update_fields=["dropped_at", "drop_reason"])
                dropped += 1
                logger.warning("outbox message %s dropped: %s", message.pk, message.drop_reason)
                continue
            sent.append(message.pk)
        # One INSERT that does nothing for an entry a redelivery finds (the message is
        # unique), and one UPDATE for every message delivered: on PostgreSQL one
        # statement for both (the INSERT in its WITH).
        together = bool(entries and sent) and _delivered_together()
        if entries and not together:
            alias = router.db_for_write(InboxEntry)
            _inbox_insert(alias, len(entries)).run(connections[alias], entries)
        if sent:
            _mark_delivered(sent, entries if together else [])
            delivered = len(sent)
    return len(batch), delivered, dropped, failed


def _delivered_together() -> bool:
    """Whether the round's inbox entries go in the delivered mark's statement: on
    PostgreSQL, when both tables are on one database (they are: the shared one)."""
    alias = router.db_for_write(OutboxMessage)
    return router.db_for_write(InboxEntry) == alias and connections[alias].vendor == "postgresql"


def _mark_delivered(ids: list[int], entries: list[dict[str, Any]]) -> None:
    """One more attempt, delivered now, no error: one UPDATE for the round's messages;
    with `entries` (`_delivered_together`), the round's inbox entries are inserted by the
    same statement."""
    alias = router.db_for_write(OutboxMessage)
    connection = connections[alias]
    moment = OutboxMessage._meta.get_field("delivered_at").get_db_prep_save(
        timezone.now(), connection
    )
    params = [moment, *ids]
    if entries:
        params = [*_inbox_insert(alias, len(entries)).params(connection, entries), *params]
    with connection.cursor() as cursor:
        cursor.execute(_mark_delivered_sql(alias, len(ids), len(entries)), params)


@functools.cache
def _mark_delivered_sql(alias: str, count: int, entries: int = 0) -> str:
    """`_mark_delivered`'s UPDATE of `count` messages, after the INSERT of `entries` inbox
    entries if any, written once per process and counts (at most a round's batch each):
    the relay runs after every commit that writes a message."""
    qn = connections[alias].ops.quote_name
    meta = OutboxMessage._meta
    table, attempts = qn(meta.db_table), qn(meta.get_field("attempts").column)
    delivered_at, last_error = qn("delivered_at"), qn("last_error")
    # Only quoted names from the model's metadata go into the text; values are parameters.
    update = (
        f"UPDATE {table} SET {attempts} = {attempts} + 1, {delivered_at} = %s,"  # noqa: S608
        f" {last_error} = '' WHERE {qn(meta.pk.column)} IN ({', '.join(['%s'] * count)})"
    )
    return with_inserts([_inbox_insert(alias, entries)] if entries else [], update)


@functools.cache
def _inbox_insert(alias: str, count: int) -> Insert:
    """The round's T&D inbox entries in one INSERT that skips an entry a redelivery finds
    (the message is unique), built once per process and count (at most a round's batch;
    apps.core.statements)."""
    return Insert(
        InboxEntry,
        ["user_id", "message_id", "division", "created_at", "read_at"],
        alias,
        count,
        on_conflict=OnConflict.IGNORE,
    )


def _failed_round(ids: list[int], exc: Exception) -> int:
    """Mark the messages of a round that rolled back as failed attempts (those another
    relay has not taken meanwhile); returns how many."""
    error = f"{type(exc).__name__}: {exc}"[:1000]
    with transaction.atomic():
        rows = list(
            OutboxMessage.objects.select_for_update(skip_locked=True).filter(
                pk__in=ids, delivered_at__isnull=True, dropped_at__isnull=True
            )
        )
        for message in rows:
            message.attempts += 1
            message.last_error = error
            message.next_attempt_at = timezone.now() + _backoff(message.attempts)
            message.save(update_fields=["attempts", "last_error", "next_attempt_at"])
            logger.warning(
                "outbox message %s failed (attempt %s): %s",
                message.pk,
                message.attempts,
                type(exc).__name__,
            )
    return len(rows)


def relay_due(*, limit: int = DEFAULT_RELAY_BATCH) -> dict[str, int]:
    """Deliver up to `limit` due messages, LOCK_BATCH at a time (one transaction each:
    `_relay_round`); returns counts of delivered and failed (the messages dropped, their
    recipient no longer entitled, are logged and audited)."""
    delivered = dropped = failed = 0
    now = timezone.now()
    done = 0
    while done < limit:
        size = min(LOCK_BATCH, limit - done)
        ids: list[int] = []
        try:
            locked, sent, gone, broken = _relay_round(now, size, ids)
        except DatabaseError as exc:
            # The round's own writes failed (a connection lost before the commit, say)
            # and it rolled back whole: each of its messages is retried after its back-off.
            failed += _failed_round(ids, exc)
            break
        done += locked
        delivered, dropped, failed = delivered + sent, dropped + gone, failed + broken
        if locked < size:
            # Nothing more was due at `now` (or another relay holds it): no empty round.
            break
    if delivered or failed or dropped:
        logger.info("outbox relay: %s delivered, %s dropped, %s failed", delivered, dropped, failed)
    return {"delivered": delivered, "failed": failed}


# --- the inbox ----------------------------------------------------------------------------


def inbox_mark_read(*, acting_user: User, entry_id: int) -> InboxEntry:
    """Mark one of the user's own entries read; someone else's entry, and an entry the
    user received in another division, do not exist."""
    division = acting_user.division_at()
    with transaction.atomic():
        entry = (
            InboxEntry.objects.select_for_update()
            .filter(pk=entry_id, user_id=acting_user.pk, division=division)
            .first()
            if division is not None
            else None
        )
        if entry is None:
            raise NotFound(_("The message does not exist."))
        if entry.read_at is None:
            entry.read_at = timezone.now()
            entry.save(update_fields=["read_at"])
    return entry


def inbox_mark_all_read(*, acting_user: User) -> int:
    """Mark every unread entry of the user's current division read in one UPDATE;
    returns how many."""
    division = acting_user.division_at()
    if division is None:
        return 0
    return InboxEntry.objects.filter(
        user_id=acting_user.pk, division=division, read_at__isnull=True
    ).update(read_at=timezone.now())
