from __future__ import annotations

from django import forms
from django.contrib.auth.forms import SetPasswordForm
from django.utils.translation import gettext_lazy as _

from apps.core.widgets import PlainTextInput


class RetailSearchForm(forms.Form):
    """Search by reference number or supply point ID; full-width digits are folded by the
    selector (and by shadan.js as the user types)."""

    q = forms.CharField(
        label=_("Reference number or supply point ID"),
        required=False,
        max_length=40,
        widget=PlainTextInput(
            attrs={
                "type": "search",
                "data-normalize": "digits",
                "autocomplete": "off",
            }
        ),
    )


class RetailPasswordChangeForm(SetPasswordForm):
    """Django's new-password pair plus the current password, which the service checks
    (apps.retail.services.retail_account_change_password)."""

    old_password = forms.CharField(
        label=_("Old password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )
    field_order = ["old_password", "new_password1", "new_password2"]
