from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import ReviewItem, SampleRun


class _ReadOnly:
    """Reviews are made on the auditors' pages, through the service; here only read."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SampleRun)
class SampleRunAdmin(_ReadOnly, admin.ModelAdmin[SampleRun]):
    list_display = ("day", "population", "sampled", "size", "rate", "method", "created_at")
    date_hierarchy = "day"
    actions = None


@admin.register(ReviewItem)
class ReviewItemAdmin(_ReadOnly, admin.ModelAdmin[ReviewItem]):
    list_display = ("id", "day", "rank", "event", "outcome", "reviewed_by", "reviewed_at")
    list_filter = ("outcome",)
    date_hierarchy = "day"
    actions = None
    raw_id_fields = ("event", "run", "reviewed_by")
