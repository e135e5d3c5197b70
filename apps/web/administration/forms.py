"""Forms of the administrators' pages. The services check everything again (roles, four
eyes, the user's own reset); their refusals come back into the form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import User
from apps.accounts.password_reset import REASON_MAX_LENGTH
from apps.accounts.selectors import password_reset_candidates


class UserChoiceField(forms.ModelChoiceField[User]):
    def label_from_instance(self, obj: User) -> str:
        # The user name only: what an administrator knows a colleague by on this screen.
        return obj.username


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


class PasswordResetDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("approve", _("Approve")), ("reject", _("Reject"))], widget=forms.HiddenInput
    )
