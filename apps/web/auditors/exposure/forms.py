from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.exposure.models import TRAIL, source_label
from apps.exposure.services import period_errors


class ExposureForm(forms.Form):
    period_from = forms.DateField(
        label=_("Investigation period from"), widget=forms.DateInput(attrs={"type": "date"})
    )
    period_to = forms.DateField(
        label=_("Investigation period to"), widget=forms.DateInput(attrs={"type": "date"})
    )
    # A key of settings.SHADAN_EXPOSURE_LEGACY_DIRS, never a path: the page cannot be
    # made to read an arbitrary directory of the server.
    source = forms.ChoiceField(label=_("Source"))

    def __init__(self, *args: Any, legacy_keys: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        source = self.fields["source"]
        assert isinstance(source, forms.ChoiceField)
        source.choices = [(key, source_label(key)) for key in [TRAIL, *legacy_keys]]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("period_from"), cleaned.get("period_to")
        if start and end:
            for name, messages in period_errors(start, end).items():
                for message in messages:
                    self.add_error(name, message)
        return cleaned
