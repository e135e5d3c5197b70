"""Reviews are made on the auditors' pages, through the service; here only read."""

from __future__ import annotations

from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin

from .models import ReviewItem, SampleRun


@admin.register(SampleRun)
class SampleRunAdmin(ReadOnlyAdmin[SampleRun]):
    list_display = ("day", "population", "sampled", "size", "rate", "method", "created_at")
    date_hierarchy = "day"


@admin.register(ReviewItem)
class ReviewItemAdmin(ReadOnlyAdmin[ReviewItem]):
    list_display = ("id", "day", "rank", "event", "outcome", "reviewed_by", "reviewed_at")
    list_filter = ("outcome",)
    date_hierarchy = "day"
    raw_id_fields = ("event", "run", "reviewed_by")
