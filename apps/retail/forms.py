from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class RetailSearchForm(forms.Form):
    """Search by reference number or supply point ID; full-width digits are folded by the
    selector (and by shadan.js as the user types)."""

    q = forms.CharField(
        label=_("Reference number or supply point ID"),
        required=False,
        max_length=40,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "data-normalize": "digits",
                "autocomplete": "off",
            }
        ),
    )
