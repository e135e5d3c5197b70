from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from apps.accounts.models import User
from apps.audit.models import AuditAction
from apps.audit.services import audit_record
from apps.core.admin import ReadOnlyAdmin

from .models import AffiliationProposal, Retailer
from .services import RENAMED, retailer_changed


@admin.register(Retailer)
class RetailerAdmin(admin.ModelAdmin[Retailer]):
    list_display = ("code", "name", "is_affiliated")
    list_filter = ("is_affiliated",)
    search_fields = ("code", "name")
    # The affiliated flag is not editable here: it changes only through a proposal
    # approved by a second administrator (services.retailer_decide_affiliation).
    readonly_fields = ("is_affiliated",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("code", "is_affiliated") if obj else ("is_affiliated",)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Retailer, form: Any, change: bool) -> None:
        # The admin wraps this in the request's transaction: the event commits with it.
        super().save_model(request, obj, form, change)
        actor = request.user if isinstance(request.user, User) else None
        audit_record(
            actor=actor,
            action=AuditAction.CONFIGURATION_CHANGED if change else AuditAction.RETAILER_CREATED,
            obj=obj,
            changed_fields=form.changed_data,
            details={"via": "admin"},
        )
        if change and "name" in form.changed_data:
            # Same transaction: the retailer's verified applications lose their check.
            retailer_changed(obj, actor=actor, cause=RENAMED)


@admin.register(AffiliationProposal)
class AffiliationProposalAdmin(ReadOnlyAdmin[AffiliationProposal]):
    list_display = ("retailer", "make_affiliated", "status", "proposed_by", "decided_by")
    list_filter = ("status",)
