"""The clerk's forms. They apply the same normalisers as the services (inputs.CLEANERS), so
what the clerk typed is checked as they typed it; the service then validates everything
again and its field errors are merged back with `merge_service_errors`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from apps.applications.inputs import (
    ALL_FIELDS,
    APPLICATION_FIELDS,
    CLEANERS,
    CUSTOMER_FIELDS,
    FIELD_LABELS,
    MAX_LENGTH,
    clean_application_input,
)
from apps.applications.models import Application
from apps.applications.validators import (
    CONTRACTOR_REGISTRATION_MAX_LENGTH,
    KANA_MAX_LENGTH,
    NAME_MAX_LENGTH,
)
from apps.retailers.models import Retailer
from apps.vault.types import CustomerPII
from apps.vocabulary.projection import SCANNED_FIELDS
from apps.vocabulary.states import PREFECTURES, ContractClass
from apps.web.forms import ListedModelChoiceField

RETAIL_SEES = _("Retail sees this field.")


@dataclass(frozen=True)
class Fieldset:
    legend: StrOrPromise
    fields: tuple[str, ...]
    personal: bool = False


FIELDSETS = (
    Fieldset(_("Application and supply point"), ("supply_point_id", "requested_start_date")),
    Fieldset(_("Site"), ("postal_code", "prefecture", "municipality", "street_address")),
    Fieldset(_("Contract"), ("contract_class", "contract_capacity_kw")),
    Fieldset(_("Electrical contractor"), ("contractor_name", "contractor_registration")),
    Fieldset(_("Retailer"), ("retailer",)),
    Fieldset(_("Customer (personal data)"), CUSTOMER_FIELDS, personal=True),
    Fieldset(_("Remarks"), ("remarks",)),
)


class RetailerChoiceField(ListedModelChoiceField[Retailer]):
    def label_from_instance(self, obj: Retailer) -> str:
        if obj.is_affiliated:
            return str(_("%(retailer)s (affiliated)") % {"retailer": obj})
        return str(obj)


def _text(
    max_length: int | None = None, *, required: bool = True, attrs: dict[str, str] | None = None
) -> forms.CharField:
    return forms.CharField(
        max_length=max_length,
        required=required,
        widget=forms.TextInput(attrs={"autocomplete": "off", **(attrs or {})}),
    )


def _cleaner(name: str) -> Callable[[ApplicationForm], Any]:
    def clean(form: ApplicationForm) -> Any:
        value = form.cleaned_data.get(name)
        if value in (None, ""):
            return value
        return CLEANERS[name](value)

    return clean


class ApplicationForm(forms.Form):
    """Every field of inputs.ALL_FIELDS. Given the `application`, it is the edit form: no
    retailer (that changes through its own action) and the version the clerk saw."""

    supply_point_id = _text(attrs={"inputmode": "numeric", "data-normalize": "digits"})
    requested_start_date = forms.CharField(
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    postal_code = _text(attrs={"inputmode": "numeric", "data-normalize": "postal"})
    prefecture = forms.ChoiceField(choices=[("", "---------"), *PREFECTURES])
    municipality = _text(MAX_LENGTH["municipality"])
    street_address = _text(MAX_LENGTH["street_address"])
    contract_class = forms.ChoiceField(choices=[("", "---------"), *ContractClass.choices])
    contract_capacity_kw = _text(attrs={"inputmode": "decimal", "data-normalize": "digits"})
    contractor_name = _text(MAX_LENGTH["contractor_name"])
    contractor_registration = _text(CONTRACTOR_REGISTRATION_MAX_LENGTH)
    retailer = RetailerChoiceField(queryset=Retailer.objects.order_by("code"))
    remarks = forms.CharField(
        required=False, max_length=MAX_LENGTH["remarks"], widget=forms.Textarea(attrs={"rows": 4})
    )
    customer_name = _text(NAME_MAX_LENGTH)
    customer_name_kana = _text(KANA_MAX_LENGTH)
    customer_phone = _text(attrs={"type": "tel", "data-normalize": "digits"})
    # A text input, not type="email": browsers refuse full-width input the server accepts.
    customer_email = _text(required=False, attrs={"inputmode": "email"})

    clean_supply_point_id = _cleaner("supply_point_id")
    clean_requested_start_date = _cleaner("requested_start_date")
    clean_postal_code = _cleaner("postal_code")
    clean_prefecture = _cleaner("prefecture")
    clean_municipality = _cleaner("municipality")
    clean_street_address = _cleaner("street_address")
    clean_contract_class = _cleaner("contract_class")
    clean_contract_capacity_kw = _cleaner("contract_capacity_kw")
    clean_contractor_name = _cleaner("contractor_name")
    clean_contractor_registration = _cleaner("contractor_registration")
    clean_remarks = _cleaner("remarks")
    clean_customer_name = _cleaner("customer_name")
    clean_customer_name_kana = _cleaner("customer_name_kana")
    clean_customer_phone = _cleaner("customer_phone")
    clean_customer_email = _cleaner("customer_email")

    def __init__(self, *args: Any, application: Application | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.application = application
        if application is not None:
            del self.fields["retailer"]
            self.fields["version"] = forms.IntegerField(widget=forms.HiddenInput)
        for name, field in self.fields.items():
            if name in FIELD_LABELS:
                field.label = FIELD_LABELS[name]
        for name in SCANNED_FIELDS:
            self.fields[name].help_text = RETAIL_SEES
        self.fields["remarks"].help_text = _(
            "Retail sees this text: never write the customer's name, phone number or e-mail here."
        )
        self.fields["supply_point_id"].help_text = _("22 digits; full-width digits are fine.")
        self.fields["postal_code"].help_text = _("7 digits, for example 900-0001.")

    def clean(self) -> dict[str, Any]:
        """The rules that span fields (capacity per contract class, start date not in the
        past) come from the same function the service runs, so every error shows at once
        instead of one round trip later. Fields that already failed are left alone."""
        cleaned = super().clean() or {}
        data = {name: cleaned.get(name) for name in ALL_FIELDS}
        previous_start = None
        if self.application is not None:
            data["retailer"] = self.application.retailer
            previous_start = self.application.requested_start_date
        try:
            clean_application_input(data, previous_start_date=previous_start)
        except ValidationError as exc:
            for name, errors in exc.error_dict.items():
                if name in self.fields and name not in self.errors:
                    self.add_error(name, errors)
        return cleaned

    def fieldsets(self) -> list[tuple[Fieldset, list[forms.BoundField]]]:
        return [(fs, [self[name] for name in fs.fields if name in self.fields]) for fs in FIELDSETS]

    def service_data(self) -> dict[str, Any]:
        """The cleaned input in the shape the services take: every field on this form."""
        return {name: self.cleaned_data[name] for name in ALL_FIELDS if name in self.fields}


def initial_from(application: Application, customer: CustomerPII) -> dict[str, Any]:
    """Edit-form initial values; `customer` is the CustomerPII revealed for "edit"."""
    initial: dict[str, Any] = {
        name: getattr(application, name) for name in APPLICATION_FIELDS if name != "retailer"
    }
    initial.update(
        customer_name=customer.name,
        customer_name_kana=customer.name_kana,
        customer_phone=customer.phone,
        customer_email=customer.email,
        version=application.version,
    )
    return initial


class VersionForm(forms.Form):
    """The version the person saw, for actions that are only a button (submit, encode)."""

    version = forms.IntegerField(widget=forms.HiddenInput)


class ChangeRetailerForm(forms.Form):
    retailer = RetailerChoiceField(
        queryset=Retailer.objects.order_by("code"), label=FIELD_LABELS["retailer"]
    )
    reason = forms.CharField(
        label=_("Reason (optional)"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For example: the customer switched retailer. No personal data."),
    )
    version = forms.IntegerField(widget=forms.HiddenInput)
