"""Writing to the outbox (in the caller's transaction) and relaying it.

`outbox_write` inserts a row and, once the caller's transaction commits, asks the relay
to run (`notifications.relay`). If the broker is unreachable at that moment nothing is
lost: the row waits and the beat schedule runs the relay every minute.

`relay_due` delivers due rows one at a time, each in its own transaction with the row
locked (`SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL), so two relays running at once
never deliver the same row. The inbox entry is unique per message, so a row is shown in
the inbox once even if an e-mail had to be retried. A failure leaves the row undelivered
with its error and the next attempt pushed back exponentially.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import User
from apps.core.errors import NotFound
from apps.core.tasks import enqueue

from .models import InboxEntry, OutboxMessage

logger = logging.getLogger(__name__)

RETRY_BASE_SECONDS = 30
RETRY_MAX_SECONDS = 3600
DEFAULT_RELAY_BATCH = 200


# After a failed enqueue, commits skip the attempt for a while (each costs seconds of
# connection attempts while the broker is down); the beat relay delivers meanwhile.
BROKER_BACKOFF_SECONDS = 60.0
_broker_down_until = 0.0


def request_relay() -> None:
    """Ask a worker to relay now; a broker outage only delays delivery to the next beat."""
    global _broker_down_until
    from .tasks import relay

    if time.monotonic() < _broker_down_until:
        return
    try:
        enqueue(relay, retry=False)
    except Exception:
        _broker_down_until = time.monotonic() + BROKER_BACKOFF_SECONDS
        logger.warning("outbox relay not enqueued (broker unreachable?): rows wait for beat")


def outbox_write(
    *,
    recipient_ids: Iterable[int],
    kind: str,
    subject: str,
    body: str,
    dedupe_key: str,
    application_id: int | None = None,
) -> int:
    """Queue one message per recipient inside the caller's transaction; returns how many
    were new. `dedupe_key` is suffixed with the recipient, and a key already written is
    skipped, so calling this again for the same event writes nothing."""
    now = timezone.now()
    rows = [
        OutboxMessage(
            recipient_id=user_id,
            kind=kind,
            application_id=application_id,
            subject=subject[:200],
            body=body,
            dedupe_key=f"{dedupe_key}:u{user_id}",
            created_at=now,
            next_attempt_at=now,
        )
        for user_id in sorted(set(recipient_ids))
    ]
    if not rows:
        return 0
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


def _backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(RETRY_BASE_SECONDS * 2 ** (attempts - 1), RETRY_MAX_SECONDS))


def _deliver(message: OutboxMessage) -> None:
    recipient = User.objects.get(pk=message.recipient_id)
    if recipient.email:
        send_mail(
            message.subject,
            message.body,
            settings.DEFAULT_FROM_EMAIL,
            [recipient.email],
            fail_silently=False,
        )
    InboxEntry.objects.get_or_create(message=message, defaults={"user_id": recipient.pk})


def _next_due(now: dt.datetime) -> OutboxMessage | None:
    return (
        OutboxMessage.objects.select_for_update(skip_locked=True)
        .filter(delivered_at__isnull=True, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .first()
    )


def relay_due(*, limit: int = DEFAULT_RELAY_BATCH) -> dict[str, int]:
    """Deliver up to `limit` due messages; returns counts of delivered and failed."""
    delivered = failed = 0
    now = timezone.now()
    for _attempt in range(limit):
        with transaction.atomic():
            message = _next_due(now)
            if message is None:
                break
            try:
                with transaction.atomic():
                    _deliver(message)
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
            message.attempts += 1
            message.delivered_at = timezone.now()
            message.last_error = ""
            message.save(update_fields=["attempts", "delivered_at", "last_error"])
            delivered += 1
    if delivered or failed:
        logger.info("outbox relay: %s delivered, %s failed", delivered, failed)
    return {"delivered": delivered, "failed": failed}


# --- the inbox ----------------------------------------------------------------------------


def inbox_mark_read(*, acting_user: User, entry_id: int) -> InboxEntry:
    """Mark one of the user's own entries read; someone else's entry does not exist."""
    with transaction.atomic():
        entry = (
            InboxEntry.objects.select_for_update()
            .filter(pk=entry_id, user_id=acting_user.pk)
            .first()
        )
        if entry is None:
            raise NotFound(_("The message does not exist."))
        if entry.read_at is None:
            entry.read_at = timezone.now()
            entry.save(update_fields=["read_at"])
    return entry


def inbox_mark_all_read(*, acting_user: User) -> int:
    """Mark every unread entry of the user read in one UPDATE; returns how many."""
    return InboxEntry.objects.filter(user_id=acting_user.pk, read_at__isnull=True).update(
        read_at=timezone.now()
    )
