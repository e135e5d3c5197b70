"""Forms of the administrators' pages. The services check everything again (roles, four
eyes, the user's own reset); their refusals come back into the form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import ROLE_DIVISION, DivisionCode, RoleCode, User
from apps.accounts.selectors import password_reset_candidates
from apps.administration.password_reset import REASON_MAX_LENGTH
from apps.retailers.services import REASON_MAX_LENGTH as RETAILER_REASON_MAX_LENGTH
from apps.web.forms import ListedModelChoiceField


class UserChoiceField(ListedModelChoiceField[User]):
    def label_from_instance(self, obj: User) -> str:
        # The name colleagues know each other by, with the sign-in ID that tells namesakes apart.
        return f"{obj.display_name}（{obj.username}）" if obj.last_name else obj.username


class PasswordResetProposalForm(forms.Form):
    user = UserChoiceField(label=_("User"), queryset=User.objects.none())
    reason = forms.CharField(
        label=_("Reason"),
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Why the user cannot change the password themselves (e.g. forgotten, locked out)."
        ),
    )

    def __init__(self, *args: Any, proposer: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = password_reset_candidates(excluding=proposer)  # type: ignore[attr-defined]


class DecisionForm(forms.Form):
    """Approve or reject a proposal of another administrator (an affiliation change, a
    password reset)."""

    decision = forms.ChoiceField(
        choices=[("approve", _("Approve")), ("reject", _("Reject"))], widget=forms.HiddenInput
    )


class AffiliationProposalForm(forms.Form):
    # The classification asked for is sent with the reason: a proposal made on a page that
    # went stale (someone else changed the retailer since) is refused, not inverted.
    make_affiliated = forms.TypedChoiceField(
        coerce=lambda value: value == "true",
        choices=[("true", _("Affiliated")), ("false", _("Not affiliated"))],
        widget=forms.HiddenInput,
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=RETAILER_REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Why the classification changes (e.g. a capital tie-up, the end of one), with the "
            "document that shows it."
        ),
    )


_DIVISIONS = [("", _("Choose a division")), *DivisionCode.choices]
# Each role with the division that gives it: 受付担当（送配電部門）.
_ROLES_WITH_DIVISION = [
    (
        code,
        format_lazy(
            _("{role} ({division})"), role=label, division=DivisionCode(ROLE_DIVISION[code]).label
        ),
    )
    for code, label in RoleCode.choices
]


class UserFilterForm(forms.Form):
    division = forms.ChoiceField(
        label=_("Division"),
        choices=[("", _("All divisions")), *DivisionCode.choices],
        required=False,
    )


class UserCreateForm(forms.Form):
    """No password field: the first password comes from the two-administrator reset."""

    username = forms.CharField(
        label=_("User name (sign-in ID)"),
        max_length=150,
        help_text=_("Letters, digits and @ . + - _ only."),
        validators=[UnicodeUsernameValidator()],
    )
    last_name = forms.CharField(label=_("Family name"), max_length=150)
    first_name = forms.CharField(label=_("Given name"), max_length=150)
    email = forms.EmailField(label=_("E-mail"), required=False)
    division = forms.ChoiceField(label=_("Division"), choices=_DIVISIONS)
    roles = forms.MultipleChoiceField(
        label=_("Roles"),
        choices=_ROLES_WITH_DIVISION,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Only roles of the chosen division can be given."),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        _check_roles(self, cleaned.get("division"), cleaned.get("roles", []))
        return cleaned


class TransferForm(forms.Form):
    to_division = forms.ChoiceField(label=_("New division"), choices=_DIVISIONS)
    roles = forms.MultipleChoiceField(
        label=_("Roles in the new division"),
        choices=_ROLES_WITH_DIVISION,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    # Set by the confirmation page's button: the first POST only shows what will happen.
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        _check_roles(self, cleaned.get("to_division"), cleaned.get("roles", []))
        return cleaned


def _check_roles(form: forms.Form, division: str | None, roles: list[str]) -> None:
    """Named by their labels here (the service names the rule; the page names the roles)."""
    wrong = [r for r in roles if ROLE_DIVISION.get(r) != division]
    if division and wrong:
        form.add_error(
            "roles",
            _("A member of this division cannot hold these roles: %(roles)s")
            % {"roles": "、".join(str(RoleCode(r).label) for r in wrong)},
        )


class RolesForm(forms.Form):
    """The roles of the user's current division, ticked as held."""

    roles = forms.MultipleChoiceField(
        label=_("Roles"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, division: str | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["roles"].choices = [  # type: ignore[attr-defined]
            (code, label) for code, label in RoleCode.choices if ROLE_DIVISION[code] == division
        ]
