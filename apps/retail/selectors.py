"""Everything retail can ever receive about an application comes from here.

Both locks of the barrier are applied on every query: the retail group's guardian object
permission (direct foreign-key table, global permissions ignored) AND the masking state
of the current version. Only the columns of the retail projection are loaded; this
package never imports the vault (an import-linter contract enforces it).
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth.models import AnonymousUser
from django.core.paginator import Page, Paginator
from django.db import transaction
from django.db.models import Q, QuerySet

from apps.accounts.models import DivisionCode, RoleCode, User
from apps.accounts.selectors import is_in_division
from apps.applications.models import Application, ApplicationGroupObjectPermission
from apps.applications.normalize import to_halfwidth
from apps.applications.projection import RETAIL_COLUMNS, RetailApplication, projection_from_row
from apps.applications.visibility import VIEW_PERM
from apps.audit.models import AuditAction
from apps.audit.services import audit_record, audit_record_each
from apps.core.errors import NotFound

RETAIL_PAGE_SIZE = 25


def is_retail_user(user: User | AnonymousUser) -> bool:
    return (
        is_in_division(user, DivisionCode.RETAIL)
        and user.groups.filter(role__code=RoleCode.RETAIL).exists()
    )


def _visible(user: User | AnonymousUser) -> QuerySet[Application]:
    if not is_retail_user(user):
        return Application.objects.none()
    assert isinstance(user, User)
    # Lock 1: the retail group's row in guardian's direct foreign-key table. Only group
    # rows count: a per-user grant or a model-wide permission opens nothing for retail.
    granted = ApplicationGroupObjectPermission.objects.filter(
        group__role__code=RoleCode.RETAIL,
        group__user=user,
        permission__codename=VIEW_PERM,
        permission__content_type__app_label="applications",
    ).values("content_object_id")
    # Lock 2: masking verified for the current version.
    return Application.objects.retail_visible_state().filter(id__in=granted)


def retail_application_list(
    *, user: User | AnonymousUser, search: str = ""
) -> list[RetailApplication]:
    """Masked projections, newest verification first; search by reference or supply point."""
    return [projection_from_row(row) for row in retail_application_rows(user=user, search=search)]


def retail_application_rows(
    *, user: User | AnonymousUser, search: str = ""
) -> QuerySet[Application, dict[str, Any]]:
    """The retail columns of the visible rows, newest verification first, still unevaluated:
    callers page it in the database and map only the page (projection_from_row)."""
    queryset = _visible(user)
    term = to_halfwidth(search).strip().upper().replace(" ", "").replace("-", "")
    if term:
        queryset = queryset.filter(Q(reference__iexact=_reference(term)) | Q(supply_point_id=term))
    return queryset.order_by("-verified_at", "-id").values(*RETAIL_COLUMNS)


def retail_application_page(
    *,
    user: User | AnonymousUser,
    search: str = "",
    page_number: int | str | None = 1,
    per_page: int = RETAIL_PAGE_SIZE,
) -> Page[RetailApplication]:
    """One page of the list: counted and sliced in the database, only that page mapped to
    projections. What retail was shown is recorded (the ids on the page), because the
    regulator's question is who could see what and who actually looked."""
    paginator = Paginator(retail_application_rows(user=user, search=search), per_page)
    page = paginator.get_page(page_number)
    rows = list(page.object_list)
    if rows and isinstance(user, User):
        # One event per application shown, so each application's timeline and the
        # exposure report see list views exactly like detail views.
        with transaction.atomic():
            audit_record_each(
                actor=user,
                action=AuditAction.RETAIL_VIEWED,
                objects=[_viewed(row) for row in rows],
                details={"view": "list"},
            )
    # Same page number and paginator (counts only from here on), the rows mapped.
    return Page(
        [projection_from_row(row) for row in rows],
        page.number,
        cast("Paginator[RetailApplication]", paginator),
    )


def retail_application_detail(*, user: User | AnonymousUser, reference: str) -> RetailApplication:
    """Not visible and not existing look the same: NotFound (the views answer 404)."""
    return projection_from_row(_detail_row(user, reference))


def retail_application_open(*, user: User | AnonymousUser, reference: str) -> RetailApplication:
    """The detail page's read: like retail_application_detail, and recorded as a retail view
    of that application. Refusals (NotFound) are not recorded: nothing was shown."""
    row = _detail_row(user, reference)
    if isinstance(user, User):
        with transaction.atomic():
            audit_record(
                actor=user,
                action=AuditAction.RETAIL_VIEWED,
                obj=_viewed(row),
                details={"view": "detail"},
            )
    return projection_from_row(row)


def _viewed(row: dict[str, Any]) -> Application:
    # Only the id and labels are needed for the event; nothing more of the row is read.
    return Application(id=row["id"], reference=row["reference"], pseudonym=row["pseudonym"])


def _detail_row(user: User | AnonymousUser, reference: str) -> dict[str, Any]:
    row = _visible(user).filter(reference=reference).values(*RETAIL_COLUMNS).first()
    if row is None:
        raise NotFound()
    return row


def _reference(term: str) -> str:
    # References look like SD2026-0000123; users often drop or mistype the hyphen.
    if term.startswith("SD") and len(term) == 13:
        return f"{term[:6]}-{term[6:]}"
    return term


def retail_application_count(*, user: User | AnonymousUser) -> int:
    return _visible(user).count()
