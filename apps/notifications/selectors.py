"""Reading the inbox's rows: the user's own entries and the unread count.

Only entries received in the reader's current division are listed or counted: after a
transfer, what T&D told the person (reference numbers, states of unverified work) stays
behind in T&D. Where each entry leads is the inbox page's business (apps.web.inbox).
"""

from __future__ import annotations

from django.db.models import QuerySet

from apps.accounts.models import User

from .models import InboxEntry

UNREAD_SHOWN = 99


def unread_count(user: User, division: str | None, *, cap: int = UNREAD_SHOWN + 1) -> int:
    """Unread entries of the current division, counted up to `cap`: one query over the
    (user, division, read_at) index that reads at most `cap` index entries, however many
    thousands someone leaves unread."""
    if division is None:
        return 0
    unread = InboxEntry.objects.filter(user_id=user.pk, division=division, read_at__isnull=True)
    return len(unread.values_list("id", flat=True)[:cap])


def entries(user: User, division: str | None) -> QuerySet[InboxEntry]:
    if division is None:
        return InboxEntry.objects.none()
    return (
        InboxEntry.objects.filter(user_id=user.pk, division=division)
        .select_related("message")
        .only(
            "id",
            "created_at",
            "read_at",
            "message__id",
            "message__kind",
            "message__subject",
            "message__application_id",
        )
        .order_by("-created_at", "-id")
    )
