from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from apps.accounts.models import User
from apps.audit.models import AuditAction
from apps.audit.services import audit_record
from apps.core.admin import ReadOnlyAdmin

from .models import InboxEntry, OutboxMessage
from .services import request_relay


class DeliveryFilter(admin.SimpleListFilter):
    title = _("delivery")
    parameter_name = "delivery"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("failed", _("Failed, waiting for a retry")),
            ("waiting", _("Waiting (not delivered)")),
            ("delivered", _("Delivered")),
            ("dropped", _("Dropped (recipient no longer entitled)")),
        ]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[OutboxMessage]
    ) -> QuerySet[OutboxMessage]:
        pending = queryset.filter(delivered_at__isnull=True, dropped_at__isnull=True)
        if self.value() == "failed":
            return pending.filter(attempts__gt=0)
        if self.value() == "waiting":
            return pending
        if self.value() == "delivered":
            return queryset.filter(delivered_at__isnull=False)
        if self.value() == "dropped":
            return queryset.filter(dropped_at__isnull=False)
        return queryset


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin[OutboxMessage]):
    """Read-only: administrators see what waits, what failed and why."""

    list_display = (
        "id",
        "kind",
        "recipient",
        "created_at",
        "delivered_at",
        "attempts",
        "next_attempt_at",
        "last_error",
        "dropped_at",
        "drop_reason",
    )
    list_filter = (DeliveryFilter, "kind")
    search_fields = ("dedupe_key", "subject")
    date_hierarchy = "created_at"
    actions = ["retry_now"]

    @admin.action(description=_("Retry the delivery now"))
    def retry_now(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        """Make the chosen undelivered messages due at once and ask for a relay; the
        attempts and the last error stay, delivered and dropped messages are left alone."""
        waiting = queryset.filter(delivered_at__isnull=True, dropped_at__isnull=True)
        ids = list(waiting.values_list("pk", flat=True))
        due = waiting.update(next_attempt_at=timezone.now())
        if due:
            audit_record(
                actor=request.user if isinstance(request.user, User) else None,
                action=AuditAction.NOTIFICATION_RETRIED,
                details={"via": "admin", "messages": ids},
            )
            request_relay()
        self.message_user(
            request,
            ngettext("%(count)d message is due now.", "%(count)d messages are due now.", due)
            % {"count": due},
            messages.SUCCESS,
        )


@admin.register(InboxEntry)
class InboxEntryAdmin(ReadOnlyAdmin[InboxEntry]):
    list_display = ("id", "user", "division", "message", "created_at", "read_at")
