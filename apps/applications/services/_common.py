"""What every transition shares: the row lock, the version checks, the contribution rows
behind the four-eyes rule, the save, and the customer's record in the vault."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransition

from apps.accounts.models import DivisionCode, User
from apps.core.errors import NotFound, StaleVersion
from apps.vault.services import vault_read
from apps.vault.types import CustomerPII
from apps.vocabulary.states import Contribution

from ..leaks import scan_text
from ..models import Application, ApplicationContribution
from ..validators import refuse_invisible_in

TD = DivisionCode.TD


def lock_application(application_id: int) -> Application:
    # `of=("self",)`: a plain FOR UPDATE over the join would lock the retailer's row too
    # and serialise every application of that retailer (the affiliated one holds most).
    # SQLite ignores row locks altogether, `of` included.
    try:
        return (
            Application.objects.select_for_update(of=("self",))
            .select_related("retailer")
            .get(pk=application_id)
        )
    except (Application.DoesNotExist, TypeError, ValueError):
        raise NotFound(_("The application does not exist.")) from None


def check_version(application: Application, expected_version: int | None) -> None:
    if expected_version is not None and application.version != expected_version:
        raise StaleVersion()


def done_before(application: Application, expected_version: int | None, done: bool) -> bool:
    """A retried POST whose first attempt committed but whose answer was lost (a database
    connection cut after the commit, a proxy timeout): the transition's result already
    holds, for the version the page showed, by this user. The service then returns the
    application as if it had just done it, so the user sees the result, not a refusal
    ("already verified") of their own action. Nothing is written or audited again."""
    return expected_version is not None and application.version == expected_version and done


def contribute(application: Application, user: User, kind: Contribution) -> None:
    ApplicationContribution.objects.create(
        application=application, version=application.version, user=user, kind=kind
    )


def save_fields(application: Application, fields: list[str]) -> None:
    try:
        application.save(update_fields=[*fields, "updated_at"])
    except ConcurrentTransition:
        # The row lock makes this unreachable in practice; the state filter of
        # ConcurrentTransitionMixin is the second line of defence.
        raise StaleVersion() from None


def customer_of(application: Application) -> CustomerPII:
    return vault_read(application.customer_ref)


def pii_from(cleaned: Mapping[str, Any]) -> CustomerPII:
    return CustomerPII(
        name=cleaned["customer_name"],
        name_kana=cleaned["customer_name_kana"],
        phone=cleaned["customer_phone"],
        email=cleaned["customer_email"],
    )


def pii_as_input(pii: CustomerPII) -> dict[str, str]:
    return {
        "customer_name": pii.name,
        "customer_name_kana": pii.name_kana,
        "customer_phone": pii.phone,
        "customer_email": pii.email,
    }


def clean_reason(reason: str, *, customer: CustomerPII | None, field: str = "reason") -> str:
    """Reasons are read by clerks and auditors, so they must be free of personal data."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({field: [_("Give a reason.")]})
    if len(reason) > 1000:
        raise ValidationError({field: [_("Use at most 1000 characters.")]})
    refuse_invisible_in(reason, field_name=field, label=_("Reason"))
    if scan_text(text=reason, customer=customer):
        raise ValidationError(
            {field: [_("Do not write personal data (names, phone numbers, e-mail) here.")]}
        )
    return reason
