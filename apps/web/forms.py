"""What every form page does with a service's refusal; the sign-in and own-password forms."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeVar

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm, SetPasswordForm
from django.core.exceptions import ValidationError
from django.db.models import Model
from django.forms.models import ModelChoiceIterator
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import DivisionCode
from apps.core.errors import ServiceError

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


def _attributes(attrs: dict[str, Any]) -> str:
    """Django's django/forms/widgets/attrs.html in Python: False leaves an attribute out,
    True writes its name alone, anything else its escaped text."""
    return "".join(
        f" {name}" if value is True else f' {name}="{escape(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


class _ChoicesInOneRead(ModelChoiceIterator):
    """A model select's options read by one SELECT. Django's own iterator reads them
    through `QuerySet.iterator()`, which on PostgreSQL is a server-side cursor (DECLARE,
    FETCH and CLOSE, held across the autocommit): 1.2 ms for the approval queue's
    retailer filter with one retailer, on every view of the queue (issue 17). The
    queryset is the form's own copy, so a select rendered twice reads once."""

    def __iter__(self) -> Iterator[Any]:
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset:
            yield self.choice(obj)


class ListedModelChoiceField(forms.ModelChoiceField[M]):
    """A ModelChoiceField whose options, a short list (retailers, people), are read in one
    query rather than through a server-side cursor."""

    iterator = _ChoicesInOneRead


class PlainSelect(forms.Select):
    """A select that writes its markup here instead of rendering one template per option
    (Django's select.html includes select_option.html and attrs.html for each): the
    approval queue's filters rendered three selects through about thirty templates on
    every page view (issue 17). The context is Django's own (get_context: the id, the
    error and help-text ARIA attributes, which option is selected), so the markup is what
    Django's templates write."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        parts = [f'<select name="{escape(widget["name"])}"{_attributes(widget["attrs"])}>']
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                parts.append(f'\n  <optgroup label="{escape(group_name)}">')
            parts.extend(
                f'\n  <option value="{escape(option["value"])}"'
                f"{_attributes(option['attrs'])}>{escape(option['label'])}</option>"
                for option in options
            )
            if group_name:
                parts.append("\n  </optgroup>")
        parts.append("\n</select>")
        return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped


def _input(widget: dict[str, Any]) -> SafeString:
    """Django's django/forms/widgets/input.html in Python, of a widget's context."""
    shown = "" if widget["value"] is None else f' value="{escape(widget["value"])}"'
    return mark_safe(  # noqa: S308 - every value is escaped
        f'<input type="{escape(widget["type"])}" name="{escape(widget["name"])}"'
        f"{shown}{_attributes(widget['attrs'])}>"
    )


class PlainCheckbox(forms.CheckboxInput):
    """A check box written here (Django's checkbox.html includes input.html and
    attrs.html): the review page's checklist, three on every opening (issue 17). The
    context is Django's own (`checked`, the ARIA attributes), so is the markup."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        return _input(self.get_context(name, value, attrs)["widget"])


class PlainTextInput(forms.TextInput):
    """A text input written here (Django's text.html includes input.html and attrs.html):
    the clerk's list's search box, on every view of the list (issue 17)."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        return _input(self.get_context(name, value, attrs)["widget"])


class PlainTextarea(forms.Textarea):
    """A text area written here, as Django's textarea.html writes it (the new line after
    the opening tag included: a browser drops it, so a value starting with one keeps it)."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        text = escape(widget["value"]) if widget["value"] else ""
        return mark_safe(  # noqa: S308 - every value is escaped
            f'<textarea name="{escape(widget["name"])}"{_attributes(widget["attrs"])}>\n'
            f"{text}</textarea>"
        )


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
