"""Finding applications on the T&D desk: by reference, supply point ID or customer name.

Reference and supply point ID are in the shared tables and searched there. The customer's
name is not: it goes through the vault's blind index (a keyed hash of the normalised name,
exact match only), never a plaintext comparison, and every such search is an audit event.
The event records *that* a name was searched and how many applications were found, never
the name: it is the customer's personal data, like everything typed into that box.
"""

from __future__ import annotations

import logging
import re

from django.db import transaction
from django.db.models import Q, QuerySet

from apps.accounts.models import DivisionCode, User
from apps.accounts.permissions import require
from apps.audit.models import AuditAction
from apps.audit.services import audit_record
from apps.core.expressions import Literal
from apps.vault.services import vault_find
from apps.vocabulary.normalize import to_halfwidth, unify_hyphens
from apps.vocabulary.states import ApplicationState as S

from .models import Application

logger = logging.getLogger(__name__)

_NOT_DIGIT = re.compile(r"[^0-9]")


def desk_applications(user: User) -> QuerySet[Application]:
    """The T&D desk's applications; drafts only the person's own."""
    return Application.objects.filter(~Q(state=Literal(S.DRAFT)) | Q(created_by=user))


def matching_reference(queryset: QuerySet[Application], text: str) -> QuerySet[Application]:
    """Reference numbers containing what was typed (full-width and any hyphen accepted)."""
    wanted = unify_hyphens(to_halfwidth(text)).strip().upper()
    return queryset.filter(reference__icontains=wanted) if wanted else queryset.none()


def matching_supply_point(queryset: QuerySet[Application], text: str) -> QuerySet[Application]:
    """Supply point IDs containing the typed digits (spaces and hyphens between groups
    ignored, as the ID is printed in groups on bills)."""
    digits = _NOT_DIGIT.sub("", to_halfwidth(text))
    return queryset.filter(supply_point_id__contains=digits) if digits else queryset.none()


def application_search_customer_name(*, acting_user: User, name: str) -> list[Application]:
    """The desk's applications whose customer has exactly this name or name in kana (spaces,
    width and hiragana/katakana ignored, as the blind index normalises them).

    Audited in every case, also when nothing is found: that someone looked a person up is
    the evidence; the name itself is not recorded."""
    require(acting_user, "applications.reveal_customer", division=DivisionCode.TD)
    records = {*vault_find(kind="name", value=name), *vault_find(kind="name_kana", value=name)}
    found = list(
        desk_applications(acting_user)
        .filter(customer_ref__in=records)
        .select_related("retailer")
        .order_by("-created_at", "-id")
    )
    with transaction.atomic():
        audit_record(
            actor=acting_user,
            action=AuditAction.APPLICATION_CUSTOMER_SEARCHED,
            details={"results": len(found)},
        )
    logger.info("customer name search user=%s results=%d", acting_user.pk, len(found))
    return found
