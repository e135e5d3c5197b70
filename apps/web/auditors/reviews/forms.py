"""Forms of the access-review pages. The service checks everything again (version,
four eyes, note rules, personal data in the note); its refusals come back into the form."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.access_review.models import Outcome
from apps.access_review.services import NOTE_MAX_LENGTH


class ReviewForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Verdict"), choices=Outcome.choices, widget=forms.RadioSelect
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Required for a suspicious access. No personal data."),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class ReviewedFilterForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Verdict"),
        choices=[("", _("All verdicts")), *Outcome.choices],
        required=False,
    )


class SharesForm(forms.Form):
    days = forms.IntegerField(label=_("Days"), min_value=1, max_value=92, required=False)
