"""Forms of the supervisor's (上長) pages: the approval queue's filters, the second-person
check, return, release and cancel.

They check what a person can get wrong in the form; the services check everything again
(state, version, four-eyes rule, personal data in reasons) and their refusals are merged
back into these forms by the views.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.applications.models import Application
from apps.core.widgets import PlainCheckbox, PlainSelect, PlainTextarea
from apps.retailers.models import Retailer
from apps.vocabulary.normalize import collapse_spaces
from apps.vocabulary.states import ContractClass
from apps.web.forms import ListedModelChoiceField

AGE_CHOICES = [
    ("", _("Any age")),
    ("1", _("Waiting more than 1 day")),
    ("3", _("Waiting more than 3 days")),
    ("7", _("Waiting more than 7 days")),
]

REASON_MAX_LENGTH = 1000


class QueueFilterForm(forms.Form):
    """GET filters of the approval queue; every field may stay empty."""

    retailer = ListedModelChoiceField(
        label=_("retailer"),
        queryset=Retailer.objects.order_by("code"),
        fixed=True,
        required=False,
        empty_label=_("All retailers"),
        widget=PlainSelect,
    )
    contract_class = forms.ChoiceField(
        label=_("contract class"),
        choices=[("", _("All classes")), *ContractClass.choices],
        required=False,
        widget=PlainSelect,
    )
    age = forms.ChoiceField(label=_("Age"), choices=AGE_CHOICES, required=False, widget=PlainSelect)

    def chosen(self) -> QueueFilter:
        """What the filters ask for; nothing for a filter left empty (or invalid)."""
        if not self.is_valid():
            return QueueFilter()
        data = self.cleaned_data
        return QueueFilter(
            retailer_id=data["retailer"].pk if data.get("retailer") else None,
            contract_class=data.get("contract_class") or None,
            encoded_by=(
                timezone.now() - datetime.timedelta(days=int(data["age"]))
                if data.get("age")
                else None
            ),
        )


@dataclass(frozen=True)
class QueueFilter:
    """The approval queue's filters as values: a retailer, a contract class, encoded by
    a moment (waiting longer than the age chosen); None where not filtered."""

    retailer_id: int | None = None
    contract_class: str | None = None
    encoded_by: datetime.datetime | None = None

    @property
    def shape(self) -> tuple[bool, bool, bool]:
        """Which filters apply: the statement's shape, whatever their values."""
        return (
            self.retailer_id is not None,
            self.contract_class is not None,
            self.encoded_by is not None,
        )

    def filter(self, queryset: QuerySet[Application, Any]) -> QuerySet[Application, Any]:
        if self.retailer_id is not None:
            queryset = queryset.filter(retailer_id=self.retailer_id)
        if self.contract_class is not None:
            queryset = queryset.filter(contract_class=self.contract_class)
        if self.encoded_by is not None:
            queryset = queryset.filter(encoded_at__lte=self.encoded_by)
        return queryset


class VersionForm(forms.Form):
    """The version the person saw: the service refuses if the record changed since."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class VerifyForm(VersionForm):
    """The second-person check of one application; the checklist must be ticked."""

    check_retailer = forms.BooleanField(
        label=_("The retailer and its classification (affiliated or not) are correct."),
        required=True,
        widget=PlainCheckbox,
    )
    check_free_text = forms.BooleanField(
        label=_("The free text retail will see contains no personal data."),
        required=True,
        widget=PlainCheckbox,
    )
    check_preview = forms.BooleanField(
        label=_("The retail preview shows exactly what retail may see."),
        required=True,
        widget=PlainCheckbox,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("check_retailer", "check_free_text", "check_preview"):
            self.fields[name].error_messages["required"] = _("Tick this item of the checklist.")


class ReasonForm(VersionForm):
    """Return and cancel: the reason is read by clerks and auditors."""

    reason = forms.CharField(
        label=_("reason"),
        widget=PlainTextarea(attrs={"rows": 4}),
        max_length=REASON_MAX_LENGTH,
        help_text=_("Do not write personal data (names, phone numbers, e-mail) here."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].error_messages["required"] = _("Give a reason.")

    def clean_reason(self) -> str:
        # Only whitespace is folded; the service scans the reason for personal data.
        reason = str(self.cleaned_data["reason"])
        if not collapse_spaces(reason):
            raise forms.ValidationError(_("Give a reason."), code="required")
        return reason.strip()


class ReturnForm(ReasonForm):
    pass


class CancelForm(ReasonForm):
    pass
