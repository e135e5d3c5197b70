"""The audit tables in the Django admin: read-only, every one of them. No add, change or
delete permission and no actions (so no "delete selected" either): the admin can show
evidence, never alter it."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import DivisionCode
from apps.core.admin import ReadOnlyAdmin

from .chain import FORMAT_JSON, FORMAT_TEXT
from .models import AuditCheckpoint, AuditEvent, AuditSeal, AuditVerification


class _FixedChoicesFilter(admin.SimpleListFilter):
    """A filter whose options are fixed: Django's default for a plain column lists its
    values with SELECT DISTINCT over the whole table, on every page load."""

    options: Any = ()
    field = ""

    def lookups(self, request: HttpRequest, model_admin: Any) -> Any:
        return [(str(value), label) for value, label in self.options]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        value = self.value()
        return queryset.filter(**{self.field: value}) if value else queryset


class DivisionFilter(_FixedChoicesFilter):
    title = _("actor's division")
    parameter_name = field = "actor_division"
    options = DivisionCode.choices


class FormatFilter(_FixedChoicesFilter):
    title = _("canonical format")
    parameter_name = field = "format"
    options = ((FORMAT_JSON, _("1: JSON")), (FORMAT_TEXT, _("2: database text")))


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
    list_filter = ("action", DivisionFilter)
    search_fields = ("object_label", "actor_username")
    date_hierarchy = "occurred_at"
    # Millions of rows: no COUNT(*) of the whole table on every page.
    show_full_result_count = False


@admin.register(AuditSeal)
class AuditSealAdmin(ReadOnlyAdmin[AuditSeal]):
    list_display = ("seq", "event_id", "format", "hash", "sealed_at")
    list_filter = (FormatFilter, "sealed_at")
    date_hierarchy = "sealed_at"
    show_full_result_count = False


@admin.register(AuditCheckpoint)
class AuditCheckpointAdmin(ReadOnlyAdmin[AuditCheckpoint]):
    list_display = ("seq", "created_at", "file_name", "key_id", "hash")
    list_filter = ("created_at",)
    date_hierarchy = "created_at"


@admin.register(AuditVerification)
class AuditVerificationAdmin(ReadOnlyAdmin[AuditVerification]):
    list_display = ("finished_at", "ok", "events_checked", "head_seq", "problem", "summary")
    list_filter = ("ok", "problem", "finished_at")
    date_hierarchy = "finished_at"
