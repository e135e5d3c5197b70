"""Forms of the construction (工事担当) pages: the reason for revealing contact details and
the dates of completion and energization.

The services validate again (purpose, reason free of personal data, dates not in the
future and not before the previous step); their refusals are merged back into these forms.
"""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from apps.vocabulary.normalize import to_halfwidth
from apps.vocabulary.states import CONSTRUCTION_PURPOSES, RevealPurpose


class RevealForm(forms.Form):
    purpose = forms.ChoiceField(
        label=_("Why do you need the contact details?"),
        choices=[(str(p), p.label) for p in CONSTRUCTION_PURPOSES],
        widget=forms.RadioSelect,
    )
    reason_text = forms.CharField(
        label=_("Reason (for “other”)"),
        required=False,
        max_length=500,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        help_text=_("Describe the reason briefly, without personal data."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["purpose"].error_messages["required"] = _(
            "Choose why you need the contact details."
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        text = " ".join(str(cleaned.get("reason_text") or "").split())
        cleaned["reason_text"] = text
        if cleaned.get("purpose") == RevealPurpose.OTHER and not text:
            self.add_error("reason_text", _("Describe the reason."))
        return cleaned


class WorkDateField(forms.DateField):
    """A date as people type it in Japan: full-width digits and 2026/04/01 accepted."""

    input_formats = ["%Y-%m-%d", "%Y/%m/%d"]

    def to_python(self, value: Any) -> datetime.date | None:
        if isinstance(value, str):
            value = to_halfwidth(value).strip()
        return super().to_python(value)


def _date_widget() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _confirm_field(label: Any) -> forms.BooleanField:
    """A required tick: the step cannot be undone, so it is confirmed before it is recorded
    (a checkbox rather than a script dialog: the CSP allows no inline script)."""
    field = forms.BooleanField(label=label, required=True)
    field.error_messages["required"] = _("Tick the box to confirm before recording.")
    return field


class CompleteForm(forms.Form):
    completed_on = WorkDateField(label=_("construction completed on"), widget=_date_widget())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"completed_on": timezone.localdate()})
        super().__init__(*args, **kwargs)
        self.fields["completed_on"].error_messages["invalid"] = _("Enter a date like 2026-04-01.")
        self.fields["confirm"] = _confirm_field(
            _("I confirm the construction is complete; this cannot be undone.")
        )


class EnergizeForm(forms.Form):
    energized_on = WorkDateField(label=_("energized on"), widget=_date_widget())

    def __init__(
        self, *args: Any, completed_on: datetime.date | None = None, **kwargs: Any
    ) -> None:
        kwargs.setdefault("initial", {"energized_on": timezone.localdate()})
        super().__init__(*args, **kwargs)
        field = self.fields["energized_on"]
        field.error_messages["invalid"] = _("Enter a date like 2026-04-01.")
        if completed_on is not None:
            # Say which earlier date it must follow (the service refuses an earlier one).
            field.help_text = _(
                "On or after the completion date (%(date)s), and not in the future."
            ) % {"date": date_format(completed_on, "SHORT_DATE_FORMAT")}
        self.fields["confirm"] = _confirm_field(
            _("I confirm the supply is energized; this cannot be undone.")
        )
