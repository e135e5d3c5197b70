from __future__ import annotations

import datetime

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import DivisionCode
from apps.audit.models import AuditAction
from apps.vocabulary.normalize import to_halfwidth
from apps.web.auditors.trail.search import EventFilter

# Far inside the calendar, so the day after `date_to` and Tokyo midnights always exist.
SEARCH_EARLIEST = datetime.date(2000, 1, 1)
SEARCH_LATEST = datetime.date(2099, 12, 31)


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
        for name in ("date_from", "date_to"):
            day = cleaned.get(name)
            # 9999-12-31 has no next day to end the search at: a 500 once.
            if isinstance(day, datetime.date) and not SEARCH_EARLIEST <= day <= SEARCH_LATEST:
                self.add_error(
                    name,
                    _("Enter a date between %(earliest)s and %(latest)s.")
                    % {
                        "earliest": SEARCH_EARLIEST.isoformat(),
                        "latest": SEARCH_LATEST.isoformat(),
                    },
                )
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


class JumpForm(forms.Form):
    """Jump to a date on the audit search: the page then starts at that day's last event."""

    at = forms.DateField(
        label=_("Jump to date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean_at(self) -> datetime.date | None:
        day = self.cleaned_data.get("at")
        if day is not None and not SEARCH_EARLIEST <= day <= SEARCH_LATEST:
            raise forms.ValidationError(
                _("Enter a date between %(earliest)s and %(latest)s.")
                % {"earliest": SEARCH_EARLIEST.isoformat(), "latest": SEARCH_LATEST.isoformat()}
            )
        return day


class TimelineKindForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind of action"), required=False, choices=())

    def __init__(self, *args: object, **kwargs: object) -> None:
        from apps.web.auditors.trail.presentation import action_kind_choices

        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["kind"].choices = action_kind_choices()  # type: ignore[attr-defined]
