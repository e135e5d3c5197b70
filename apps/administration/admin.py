"""The Django admin for people is for inspection: every change to a person goes through
the administrators' pages and their services (roles checked against the division, every
change audited, a transfer confirmed and ending the sessions)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import (
    Division,
    DivisionCode,
    DivisionMembership,
    PasswordResetRequest,
    RoleCode,
    User,
)
from apps.administration import services
from apps.core.admin import ReadOnlyAdmin, ReadOnlyAdminMixin
from apps.core.errors import ServiceError


class MembershipInline(admin.TabularInline[DivisionMembership, User]):
    model = DivisionMembership
    fk_name = "user"
    extra = 0
    readonly_fields = ("division", "valid_from", "valid_until")
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(User)
class ShadanUserAdmin(ReadOnlyAdminMixin, UserAdmin):
    """Read-only inspection. People are created, given roles, transferred and deactivated
    on the administrators' pages (apps.web.administration), where each change is one
    service call with its confirmation; a plain save here used to transfer a user."""

    fieldsets = (
        (None, {"fields": ("username", "display_name", "email", "is_active")}),
        (_("Division and roles"), {"fields": ("division", "roles")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    readonly_fields = ("display_name", "division", "roles")
    list_display = ("username", "display_name", "division", "roles", "last_login", "is_active")
    list_filter = ("is_active", "memberships__division")
    search_fields = ("username", "last_name", "first_name")
    inlines = [MembershipInline]

    @admin.display(description=_("name"))
    def display_name(self, obj: User) -> str:
        return obj.display_name

    @admin.display(description=_("division"))
    def division(self, obj: User) -> str:
        code = obj.division_at()
        return str(DivisionCode(code).label) if code else "—"

    @admin.display(description=_("roles"))
    def roles(self, obj: User) -> str:
        return "・".join(str(RoleCode(code).label) for code in obj.role_codes()) or "—"

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponseRedirect:
        """Closed for everyone, superusers included: one administrator who could set any
        password could sign in as two people. GET and POST alike go to the two-administrator
        reset (apps.administration.password_reset); nothing is changed here."""
        target = reverse("admin-password-reset-propose")
        return HttpResponseRedirect(f"{target}?user={int(id)}" if id.isdigit() else target)


admin.site.unregister(Group)


@admin.register(Group)
class RoleGroupAdmin(GroupAdmin):
    """The roles' groups (shadan:clerk …) carry the permissions sync_roles() gives them:
    no bulk action and no deletion here, so a role cannot vanish with a click."""

    actions = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Division)
class DivisionAdmin(admin.ModelAdmin[Division]):
    list_display = ("code", "compliance_contact")
    readonly_fields = ("code",)
    actions = None

    def save_model(self, request: HttpRequest, obj: Division, form: Any, change: bool) -> None:
        # The form has already run Division.clean (the contact's division); the service
        # checks it again under the lock, saves and audits.
        try:
            services.division_set_compliance_contact(
                acting_user=request.user if isinstance(request.user, User) else None,
                division=obj.code,
                contact_id=obj.compliance_contact_id,
                via="admin",
            )
        except (ServiceError, ValidationError) as exc:
            messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PasswordResetRequest)
class PasswordResetRequestAdmin(ReadOnlyAdmin[PasswordResetRequest]):
    """Read-only: requests are made and decided on the administrators' pages."""

    list_display = ("user", "status", "proposed_by", "proposed_at", "decided_by", "decided_at")
    list_filter = ("status",)
