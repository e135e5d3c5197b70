"""What every form page does with a service's refusal; the sign-in and own-password forms."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeVar

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm, SetPasswordForm
from django.core.exceptions import ValidationError
from django.db import connections
from django.db.models import Model, QuerySet
from django.forms.models import ModelChoiceIterator
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import DivisionCode
from apps.core.errors import ServiceError
from apps.core.statements import ModelRead

M = TypeVar("M", bound=Model)


def add_service_error(form: forms.Form, error: ValidationError | ServiceError) -> None:
    """A service's field errors go next to their field (or above the form when the field is
    not on this form); a rule's refusal goes above the form. The typed input stays in the
    bound form, so nothing the user entered is lost."""
    if isinstance(error, ServiceError):
        form.add_error(None, str(error.message))
    elif hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


class _ChoicesInOneRead(ModelChoiceIterator):
    """A model select's options read by one SELECT. Django's own iterator reads them
    through `QuerySet.iterator()`, which on PostgreSQL is a server-side cursor (DECLARE,
    FETCH and CLOSE, held across the autocommit): 1.2 ms for the approval queue's
    retailer filter with one retailer, on every view of the queue (issue 17). The
    queryset is the form's own copy, so a select rendered twice reads once; a field
    built `fixed` reads through its statement built once per process instead."""

    def __iter__(self) -> Iterator[Any]:
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        reads = getattr(self.field, "fixed_reads", None)
        if reads is None:
            options = iter(self.queryset)
        else:
            alias = self.queryset.db
            read = reads.get(alias)
            if read is None:
                queryset = self.queryset
                read = reads[alias] = ModelRead(lambda _slots: queryset.all(), alias)
            options = iter(read.rows(connections[alias]))
        for obj in options:
            yield self.choice(obj)


class ListedModelChoiceField(forms.ModelChoiceField[M]):
    """A ModelChoiceField whose options, a short list (retailers, people), are read in one
    query rather than through a server-side cursor.

    `fixed=True` for a queryset no form changes (the approval queue's retailers): its
    statement is then built once per process and alias (apps.core.statements.ModelRead)
    and only run at each form's rendering, as building it through the ORM cost more
    than running it (issue 17). The options are read afresh every time."""

    iterator = _ChoicesInOneRead

    def __init__(self, queryset: QuerySet[M], *, fixed: bool = False, **kwargs: Any) -> None:
        super().__init__(queryset, **kwargs)
        # Shared by the field's copies (a form's fields are copies of its class's).
        self.fixed_reads: dict[str, ModelRead[M]] | None = {} if fixed else None


class OwnPasswordChangeForm(SetPasswordForm):
    """Django's new-password pair plus the current password. The current password is
    checked by the service (apps.administration.password_reset.user_change_own_password), not
    here, so no other entry point can skip it; its refusal comes back to this field."""

    old_password = forms.CharField(
        label=_("Old password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )
    field_order = ["old_password", "new_password1", "new_password2"]


class SignInForm(AuthenticationForm):
    """The T&D site's sign-in. A person of the retail division is refused with the retail
    site's address: retail reads on its own site, with its own database, and nothing of
    the T&D site is theirs (the password was right, so saying so tells them nothing new)."""

    retail_refused = False

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if user.division_at() == DivisionCode.RETAIL:
            self.retail_refused = True
            raise ValidationError(
                _(
                    "This is the transmission and distribution site. People of the retail "
                    "division sign in on the retail site: %(url)s"
                ),
                code="retail_division",
                params={"url": settings.SHADAN_RETAIL_SITE_URL or "-"},
            )
