"""Read-only Django admin pages: what the product changes only through its services (with
their checks and audit events) the admin may show, never add, change or delete, and it
offers no bulk action (so no "delete selected" either)."""

from __future__ import annotations

from typing import Any, TypeVar

from django.contrib import admin
from django.db import models
from django.http import HttpRequest

_M = TypeVar("_M", bound=models.Model)


class ReadOnlyAdminMixin:
    """For an admin class that has its own base (Django's UserAdmin): put it first."""

    actions: Any = None

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[_M]):
    """The mixin on Django's ModelAdmin: what every inspection-only admin registers."""
