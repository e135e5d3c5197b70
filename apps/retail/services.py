"""What the retail site writes: its view log, its inbox's read marks, its people's own
passwords. Nothing here reaches the T&D side; the collector there copies the view log
into the central audit trail.

A retail request for an application that does not exist or that retail may not see
answers the same 404 either way, and is recorded: probing for references is a signal
for the access review. What was asked is user input, and a prober can type anything
(a name, a phone number): only a string of the reference format (SD2026-0000123) is
kept as typed; of anything else only its length. Never a hash of it: an unkeyed hash of
a phone number is reversed by trying every number, which would let a reader of the
log confirm a guess.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import connections, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.requests import USER_AGENT_MAX
from apps.core.statements import Insert
from apps.publication.models import RetailAccount, RetailInboxEntry, RetailView, RetailViewLog

# As apps.applications.services numbers them: SD, the year, a hyphen, the id (7 digits
# or more). ASCII digits only: nothing else can be a reference.
REFERENCE_FORMAT = re.compile(r"SD[0-9]{4}-[0-9]{7,12}", re.ASCII)
LENGTH_CAP = 1000


@dataclass(frozen=True)
class RequestMeta:
    """Where a view came from: the page's request id, the client's address, its agent
    (apps.retail.middleware sets them on the request)."""

    request_id: str = ""
    client_ip: str | None = None
    user_agent: str = ""


def retail_views_record(
    *,
    account: RetailAccount,
    view: RetailView,
    rows: Iterable[Mapping[str, Any]],
    meta: RequestMeta,
) -> int:
    """One view-log row per application shown (list or detail), in one INSERT statement;
    returns how many rows it wrote.

    A page's rows (at most a list page's 25) go in one multi-row INSERT in autocommit:
    a single statement is atomic on its own, so all of them are written or none, and the
    page is rendered only after it returned. bulk_create would wrap the same INSERT in
    BEGIN … COMMIT, two more round trips on every page (docs/decisions.md). Inside a
    caller's transaction the INSERT joins it. The INSERT is built once per process and
    number of rows (`_view_log_insert`)."""
    now = timezone.now()
    written = [
        {
            "occurred_at": now,
            "account_id": account.pk,
            "username": account.username,
            "view": view,
            "application_id": row["id"],
            "reference": row["reference"] or "",
            "pseudonym": row["pseudonym"] or "",
            "request_id": meta.request_id,
            "client_ip": meta.client_ip,
            "user_agent": meta.user_agent[:USER_AGENT_MAX],
        }
        for row in rows
    ]
    if not written:
        return 0
    connection = connections[RetailViewLog.objects.db]
    batch = connection.ops.bulk_batch_size(_VIEW_LOG_FIELDS, written)
    if len(written) <= batch:
        return _view_log_insert(connection.alias, len(written)).run(connection, written)
    # More rows than one statement may carry (SQLite's parameter limit; no page shows
    # this many): several INSERTs, then in one transaction.
    with transaction.atomic(using=connection.alias):
        for start in range(0, len(written), batch):
            part = written[start : start + batch]
            _view_log_insert(connection.alias, len(part)).run(connection, part)
    return len(written)


# Every column of a view-log row but its key.
_VIEW_LOG_FIELDS = tuple(f for f in RetailViewLog._meta.concrete_fields if not f.primary_key)


@functools.lru_cache(maxsize=64)
def _view_log_insert(alias: str, count: int) -> Insert:
    """The INSERT of `count` view-log rows, its text built once per process (a list page
    writes up to its 25, a detail page one): compiling it through the ORM at every view
    and preparing each value there was a fifth of the retail list's time (issue 17)."""
    return Insert(RetailViewLog, [f.attname for f in _VIEW_LOG_FIELDS], alias, count)


def retail_not_found_record(
    *, account: RetailAccount, requested: str, meta: RequestMeta
) -> RetailViewLog:
    """One NOT_FOUND row (one INSERT) for a detail request that found nothing visible: the
    string asked for only if it has the reference format, else only its length; no
    application, so the row does not tell whether the reference exists."""
    token = requested if REFERENCE_FORMAT.fullmatch(requested) else ""
    details: dict[str, object] = {"view": "detail", "requested": token}
    if not token:
        details["requested_length"] = min(len(requested), LENGTH_CAP)
    return RetailViewLog.objects.create(
        account_id=account.pk,
        username=account.username,
        view=RetailView.NOT_FOUND,
        reference=token,
        details=details,
        request_id=meta.request_id,
        client_ip=meta.client_ip,
        user_agent=meta.user_agent[:USER_AGENT_MAX],
    )


def retail_inbox_mark_read(*, account: RetailAccount, entry_id: int) -> bool:
    """Marks the reader's own entry read; someone else's entry is as if it did not exist.
    True if an entry of theirs was found."""
    found = RetailInboxEntry.objects.filter(pk=entry_id, account_id=account.pk)
    if not found.exists():
        return False
    found.filter(read_at__isnull=True).update(read_at=timezone.now())
    return True


def retail_account_change_password(
    *, account: RetailAccount, old_password: str, new_password: str
) -> RetailAccount:
    """The signed-in person's own password, in the retail database only. The current
    password is checked here, so no entry point can skip it; the forced change after an
    administrators' reset ends with it."""
    with transaction.atomic(using=RetailAccount.objects.db):
        locked = RetailAccount.objects.select_for_update().get(pk=account.pk)
        if not locked.check_password(old_password):
            raise ValidationError(
                {"old_password": _("Your old password was entered incorrectly.")},
                code="password_incorrect",
            )
        # The stubs know AUTH_USER_MODEL of the T&D settings; any user object will do.
        validate_password(new_password, user=cast(Any, locked))
        locked.set_password(new_password)
        locked.must_change_password = False
        locked.save(update_fields=["password", "must_change_password"])
    return locked
