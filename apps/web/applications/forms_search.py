"""The clerk list's search box: one text, and what it is (reference, supply point ID or
the customer's name). Posted, never sent as a query string: a name in a URL would reach
the browser history and every access log on the way (docs/decisions.md)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.core.widgets import PlainSelect, PlainTextInput


class SearchKey:
    REFERENCE = "reference"
    SUPPLY_POINT = "supply_point"
    CUSTOMER_NAME = "customer_name"


class ApplicationSearchForm(forms.Form):
    key = forms.ChoiceField(
        label=_("Search by"),
        choices=[
            (SearchKey.REFERENCE, _("Reference number")),
            (SearchKey.SUPPLY_POINT, _("Supply point ID")),
            (SearchKey.CUSTOMER_NAME, _("Customer name (exact, recorded)")),
        ],
        initial=SearchKey.REFERENCE,
        widget=PlainSelect,
    )
    text = forms.CharField(
        label=_("Search for"),
        max_length=100,
        widget=PlainTextInput(attrs={"autocomplete": "off", "size": 24}),
    )
