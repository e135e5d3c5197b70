"""Read-only admin: no personal data (it lives in the vault) and no direct state changes
(only the services change state, with their checks and audit events)."""

from __future__ import annotations

from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin

from .models import Application


@admin.register(Application)
class ApplicationAdmin(ReadOnlyAdmin[Application]):
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
