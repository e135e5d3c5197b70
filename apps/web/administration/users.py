"""Users: the list by division, creation, deactivation and the transfer (人事異動) page.

A new user gets no password from the administrator who creates them: the first password
comes from the two-administrator reset (apps.administration.password_reset), linked from the
result. A transfer is its own page: choose the new division and roles, see what will be
removed, confirm, see the result; one service call does it all in one transaction.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from apps.accounts import selectors
from apps.accounts.models import DivisionCode, RoleCode
from apps.administration.services import user_create, user_deactivate, user_set_roles, user_transfer
from apps.core.errors import NotAllowed, NotFound, ServiceError
from apps.web.access import acting_user, role_required
from apps.web.forms import add_service_error

from .forms import RolesForm, TransferForm, UserCreateForm, UserFilterForm


@role_required(RoleCode.ADMINISTRATOR)
@require_safe
def user_list(request: HttpRequest) -> HttpResponse:
    form = UserFilterForm(request.GET or None)
    division = form.cleaned_data["division"] if form.is_valid() else ""
    return render(
        request,
        "web/administration/users.html",
        {"form": form, "rows": selectors.user_rows(division=division or None)},
    )


@role_required(RoleCode.ADMINISTRATOR)
@require_http_methods(["GET", "HEAD", "POST"])
def user_create_page(request: HttpRequest) -> HttpResponse:
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = user_create(
                acting_user=acting_user(request),
                username=data["username"],
                password=None,
                division=data["division"],
                roles=list(data["roles"]),
                first_name=data["first_name"],
                last_name=data["last_name"],
                email=data["email"],
            )
        except (ValidationError, ServiceError) as refused:
            add_service_error(form, refused)
        else:
            messages.success(
                request,
                _(
                    "User %(name)s created without a password. Propose a password reset: "
                    "when a second administrator approves it, the first password is shown once."
                )
                % {"name": user.display_name},
            )
            return redirect("admin-user", user_id=user.pk)
    return render(request, "web/administration/user_create.html", {"form": form})


def _row_or_404(user_id: int) -> selectors.UserRow:
    row = selectors.user_row(user_id)
    if row is None:
        raise Http404
    return row


def _render_user(
    request: HttpRequest, row: selectors.UserRow, form: RolesForm | None = None, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "web/administration/user.html",
        {
            "row": row,
            "is_me": row.user.pk == acting_user(request).pk,
            "memberships": row.user.memberships.order_by("-valid_from"),
            "has_password": row.user.has_usable_password(),
            "roles_form": form or RolesForm(division=row.division, initial={"roles": row.roles}),
        },
        status=status,
    )


@role_required(RoleCode.ADMINISTRATOR)
@require_http_methods(["GET", "HEAD", "POST"])
def user_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    """The person, and the roles of their current division (POST sets them)."""
    row = _row_or_404(user_id)
    if request.method != "POST":
        return _render_user(request, row)
    form = RolesForm(request.POST, division=row.division)
    if not form.is_valid():
        return _render_user(request, row, form)
    try:
        user_set_roles(
            acting_user=acting_user(request), user_id=row.user.pk, roles=form.cleaned_data["roles"]
        )
    except NotFound:
        raise Http404 from None
    except (ValidationError, ServiceError) as refused:
        add_service_error(form, refused)
        return _render_user(request, row, form, 403 if isinstance(refused, NotAllowed) else 200)
    messages.success(request, _("The roles were saved."))
    return redirect("admin-user", user_id=row.user.pk)


@role_required(RoleCode.ADMINISTRATOR)
@require_POST
def user_deactivate_page(request: HttpRequest, user_id: int) -> HttpResponse:
    row = _row_or_404(user_id)
    try:
        user_deactivate(acting_user=acting_user(request), user_id=row.user.pk)
    except NotFound:
        raise Http404 from None
    except ServiceError as refused:
        messages.error(request, str(refused))
    else:
        messages.success(
            request,
            _("%(name)s was deactivated: every session ended and signing in is refused.")
            % {"name": row.user.display_name},
        )
    return redirect("admin-user", user_id=row.user.pk)


@role_required(RoleCode.ADMINISTRATOR)
@require_http_methods(["GET", "HEAD", "POST"])
def user_transfer_page(request: HttpRequest, user_id: int) -> HttpResponse:
    row = _row_or_404(user_id)
    preview = selectors.transfer_preview(row.user)
    form = TransferForm(request.POST or None)
    context: dict[str, Any] = {"row": row, "preview": preview, "form": form, "confirming": False}
    if request.method != "POST" or not form.is_valid():
        return render(request, "web/administration/user_transfer.html", context)
    to_division = form.cleaned_data["to_division"]
    new_roles = list(form.cleaned_data["roles"])
    context.update(
        to_division_label=DivisionCode(to_division).label,
        new_role_labels=[RoleCode(r).label for r in new_roles],
    )
    if not form.cleaned_data["confirmed"]:
        if to_division == row.division:
            form.add_error("to_division", _("The user already belongs to this division."))
            return render(request, "web/administration/user_transfer.html", context)
        context["confirming"] = True
        return render(request, "web/administration/user_transfer.html", context)
    try:
        user_transfer(
            acting_user=acting_user(request),
            user_id=row.user.pk,
            to_division=to_division,
            roles=new_roles,
        )
    except NotFound:
        raise Http404 from None
    except (ValidationError, ServiceError) as refused:
        add_service_error(form, refused)
        status = 403 if isinstance(refused, NotAllowed) else 200
        return render(request, "web/administration/user_transfer.html", context, status=status)
    context.update(removed=preview, after=selectors.user_row(row.user.pk))
    return render(request, "web/administration/user_transfer_done.html", context)
