"""The audit tables in the Django admin: read-only, every one of them. No add, change or
delete permission and no actions (so no "delete selected" either): the admin can show
evidence, never alter it."""

from __future__ import annotations

from typing import Any, TypeVar

from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from .models import AuditCheckpoint, AuditEvent, AuditSeal, AuditVerification

_M = TypeVar("_M", bound=models.Model)


class ReadOnlyAdmin(admin.ModelAdmin[_M]):
    actions = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin[AuditEvent]):
    list_display = (
        "id",
        "occurred_at",
        "action",
        "actor_username",
        "actor_division",
        "object_label",
    )
    list_filter = ("action", "actor_division", "object_type")
    search_fields = ("object_label", "actor_username")
    date_hierarchy = "occurred_at"
    # Millions of rows: no COUNT(*) of the whole table on every page.
    show_full_result_count = False


@admin.register(AuditSeal)
class AuditSealAdmin(ReadOnlyAdmin[AuditSeal]):
    list_display = ("seq", "event_id", "format", "hash", "sealed_at")
    list_filter = ("format", "sealed_at")
    date_hierarchy = "sealed_at"
    show_full_result_count = False


@admin.register(AuditCheckpoint)
class AuditCheckpointAdmin(ReadOnlyAdmin[AuditCheckpoint]):
    list_display = ("seq", "created_at", "file_name", "key_id", "hash")
    list_filter = ("key_id", "created_at")
    date_hierarchy = "created_at"


@admin.register(AuditVerification)
class AuditVerificationAdmin(ReadOnlyAdmin[AuditVerification]):
    list_display = ("finished_at", "ok", "events_checked", "head_seq", "problem", "summary")
    list_filter = ("ok", "problem", "finished_at")
    date_hierarchy = "finished_at"
