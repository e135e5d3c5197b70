from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import DivisionCode
from apps.applications.normalize import to_halfwidth

from .models import AuditAction
from .search import EventFilter


class EventSearchForm(forms.Form):
    actor = forms.CharField(label=_("User name"), required=False, max_length=150)
    division = forms.ChoiceField(
        label=_("Division"), required=False, choices=[("", "—"), *DivisionCode.choices]
    )
    action = forms.ChoiceField(
        label=_("Action"), required=False, choices=[("", "—"), *AuditAction.choices]
    )
    application = forms.CharField(
        label=_("Reference or supply point ID"), required=False, max_length=30
    )
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean_application(self) -> str:
        return to_halfwidth(self.cleaned_data["application"]).strip().upper()

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return cleaned

    def criteria(self) -> EventFilter:
        """Only valid filters apply; an invalid form searches nothing rather than everything."""
        data = self.cleaned_data
        return EventFilter(
            actor=data.get("actor", ""),
            division=data.get("division", ""),
            action=data.get("action", ""),
            application=data.get("application", ""),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )
