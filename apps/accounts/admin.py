"""User administration goes through the services: roles are checked against the user's
current division and every change is audited; a transfer ends the user's sessions."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from apps.audit.models import AuditAction
from apps.audit.services import audit_record
from apps.core.errors import ServiceError

from . import services
from .models import (
    ROLE_DIVISION,
    Division,
    DivisionCode,
    DivisionMembership,
    PasswordResetRequest,
    RoleCode,
    User,
)


class ShadanUserChangeForm(forms.ModelForm[User]):
    roles = forms.MultipleChoiceField(
        label=_("roles"),
        choices=RoleCode.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    transfer_to = forms.ChoiceField(
        label=_("transfer to division"),
        choices=[("", "—"), *DivisionCode.choices],
        required=False,
        help_text=_("Takes effect now: removes every role and permission and ends all sessions."),
    )

    class Meta:
        model = User
        fields = ("first_name", "last_name", "email", "is_active")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["roles"].initial = self.instance.role_codes()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("transfer_to"):
            return cleaned
        division = self.instance.division_at() if self.instance.pk else None
        wrong = [r for r in cleaned.get("roles", []) if ROLE_DIVISION[r] != division]
        if wrong:
            raise ValidationError(
                {
                    "roles": _("A member of this division cannot hold these roles: %(roles)s")
                    % {"roles": ", ".join(wrong)}
                }
            )
        return cleaned


class MembershipInline(admin.TabularInline[DivisionMembership, User]):
    model = DivisionMembership
    fk_name = "user"
    extra = 0
    readonly_fields = ("division", "valid_from", "valid_until")
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(User)
class ShadanUserAdmin(UserAdmin):
    form = ShadanUserChangeForm
    fieldsets = (
        (None, {"fields": ("username", "first_name", "last_name", "email", "is_active")}),
        (_("Division and roles"), {"fields": ("roles", "transfer_to")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    readonly_fields = ("username", "last_login", "date_joined")
    list_display = ("username", "last_name", "first_name", "is_active")
    list_filter = ("is_active", "memberships__division")
    inlines = [MembershipInline]
    actions = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        # New users need a division from the start: `manage.py` / the user service create them.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def user_change_password(
        self, request: HttpRequest, id: str, form_url: str = ""
    ) -> HttpResponseRedirect:
        """Closed for everyone, superusers included: one administrator who could set any
        password could sign in as two people. GET and POST alike go to the two-administrator
        reset (apps.accounts.password_reset); nothing is changed here."""
        target = reverse("admin-password-reset-propose")
        return HttpResponseRedirect(f"{target}?user={int(id)}" if id.isdigit() else target)

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        # Roles and transfers are recorded by their services (save_related); the user's
        # own fields are recorded here, by name only.
        own = [name for name in form.changed_data if name not in ("roles", "transfer_to")]
        if own:
            audit_record(
                actor=request.user if isinstance(request.user, User) else None,
                action=AuditAction.CONFIGURATION_CHANGED,
                obj=obj,
                changed_fields=own,
                details={"via": "admin"},
            )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        user = form.instance
        acting: User = request.user  # type: ignore[assignment]
        try:
            if form.cleaned_data.get("transfer_to"):
                services.user_transfer(
                    acting_user=acting,
                    user_id=user.pk,
                    to_division=form.cleaned_data["transfer_to"],
                )
                return
            wanted = set(form.cleaned_data.get("roles", []))
            held = set(user.role_codes())
            for role in sorted(wanted - held):
                services.user_grant_role(acting_user=acting, user_id=user.pk, role=role)
            for role in sorted(held - wanted):
                services.user_revoke_role(acting_user=acting, user_id=user.pk, role=role)
        except (ServiceError, ValidationError) as exc:
            messages.error(request, str(exc))


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
class PasswordResetRequestAdmin(admin.ModelAdmin[PasswordResetRequest]):
    """Read-only: requests are made and decided on the administrators' pages."""

    list_display = ("user", "status", "proposed_by", "proposed_at", "decided_by", "decided_at")
    list_filter = ("status",)
    actions = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
