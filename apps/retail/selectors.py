"""Everything retail can ever receive about an application comes from here.

Both locks of the barrier are applied on every query: the retail group's guardian object
permission (direct foreign-key table, global permissions ignored) AND the masking state
of the current version. Only the columns of the retail projection are loaded; this
package never imports the vault (an import-linter contract enforces it).
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet
from guardian.shortcuts import get_objects_for_user

from apps.accounts.models import DivisionCode, RoleCode, User
from apps.accounts.selectors import is_in_division
from apps.applications.models import Application
from apps.applications.normalize import to_halfwidth
from apps.applications.projection import RETAIL_COLUMNS, RetailApplication, projection_from_row
from apps.core.errors import NotFound


def is_retail_user(user: User | AnonymousUser) -> bool:
    return (
        is_in_division(user, DivisionCode.RETAIL)
        and user.groups.filter(role__code=RoleCode.RETAIL).exists()
    )


def _visible(user: User | AnonymousUser) -> QuerySet[Application]:
    if not is_retail_user(user):
        return Application.objects.none()
    return get_objects_for_user(
        user,
        "applications.view_application",
        klass=Application.objects.retail_visible_state(),
        accept_global_perms=False,
        with_superuser=False,
    )


def retail_application_list(
    *, user: User | AnonymousUser, search: str = ""
) -> list[RetailApplication]:
    """Masked projections, newest verification first; search by reference or supply point."""
    queryset = _visible(user)
    term = to_halfwidth(search).strip().upper().replace(" ", "").replace("-", "")
    if term:
        queryset = queryset.filter(Q(reference__iexact=_reference(term)) | Q(supply_point_id=term))
    rows = queryset.order_by("-verified_at", "-id").values(*RETAIL_COLUMNS)
    return [projection_from_row(row) for row in rows]


def retail_application_detail(*, user: User | AnonymousUser, reference: str) -> RetailApplication:
    """Not visible and not existing look the same: NotFound (the views answer 404)."""
    row = _visible(user).filter(reference=reference).values(*RETAIL_COLUMNS).first()
    if row is None:
        raise NotFound()
    return projection_from_row(row)


def _reference(term: str) -> str:
    # References look like SD2026-0000123; users often drop or mistype the hyphen.
    if term.startswith("SD") and len(term) == 13:
        return f"{term[:6]}-{term[6:]}"
    return term
