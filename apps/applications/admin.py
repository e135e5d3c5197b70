"""Read-only admin: no personal data (it lives in the vault) and no direct state changes
(only the services change state, with their checks and audit events)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import Application


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin[Application]):
    list_display = (
        "reference",
        "pseudonym",
        "state",
        "masking_state",
        "version",
        "retailer",
        "contract_class",
        "created_at",
    )
    list_filter = ("state", "masking_state", "contract_class", "retailer")
    search_fields = ("reference", "pseudonym", "supply_point_id")
    date_hierarchy = "created_at"
    exclude = ("customer_ref",)
    actions = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
