from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import InboxEntry, OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin[OutboxMessage]):
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
    )
    list_filter = ("kind", ("delivered_at", admin.EmptyFieldListFilter))
    search_fields = ("dedupe_key", "subject")
    date_hierarchy = "created_at"
    actions = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(InboxEntry)
class InboxEntryAdmin(admin.ModelAdmin[InboxEntry]):
    list_display = ("id", "user", "message", "created_at", "read_at")
    actions = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
