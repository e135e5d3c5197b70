"""Reading a customer's personal data. Every read is an audit event with its purpose.

T&D staff on their work pages read it with the step as purpose; construction staff
choose a reason code first. Whoever is not in T&D at the moment of the read is refused,
whatever roles they still hold.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import DivisionCode, User
from apps.accounts.selectors import is_in_division
from apps.audit.services import audit_record_many
from apps.core.errors import NotAllowed, NotFound, WrongState
from apps.vault.services import vault_read
from apps.vault.types import CustomerPII
from apps.vocabulary.states import CONSTRUCTION_PURPOSES, POST_RELEASE_STATES, RevealPurpose

from .leaks import scan_text
from .models import Application
from .services._common import in_td_now, outside_td, pii_read, require_td
from .validators import refuse_invisible_in

# Which permission makes a purpose legitimate.
_PURPOSE_PERMISSION = {
    RevealPurpose.ENTRY: "applications.change_application",
    RevealPurpose.EDIT: "applications.change_application",
    RevealPurpose.ENCODE: "applications.encode_application",
    RevealPurpose.REVIEW: "applications.verify_application",
    **{purpose: "applications.record_construction" for purpose in CONSTRUCTION_PURPOSES},
}


def application_reveal_customer(
    *,
    acting_user: User,
    application_id: int,
    purpose: str,
    reason_text: str = "",
) -> CustomerPII:
    require_td(acting_user, "applications.reveal_customer")
    # Whether they are in T&D now is read with the application (one statement), and
    # refused before anything else is looked at, as `require` did.
    try:
        application = Application.objects.annotate(actor_in_td=in_td_now(acting_user)).get(
            pk=application_id
        )
    except (Application.DoesNotExist, TypeError, ValueError):
        if not is_in_division(acting_user, DivisionCode.TD):
            raise outside_td() from None
        raise NotFound(_("The application does not exist.")) from None
    if not application.actor_in_td:
        raise outside_td()
    if purpose not in RevealPurpose.values:
        raise ValidationError({"purpose": [_("Choose why you need the contact details.")]})
    purpose = RevealPurpose(purpose)
    if not acting_user.has_perm(_PURPOSE_PERMISSION[purpose]):
        raise NotAllowed(_("Your role does not allow reading personal data for this purpose."))
    if purpose in CONSTRUCTION_PURPOSES and application.state not in POST_RELEASE_STATES:
        raise WrongState(_("Contact details are shown to construction only for released work."))

    pii = vault_read(application.customer_ref)
    reason_text = reason_text.strip()
    if purpose == RevealPurpose.OTHER:
        if not reason_text:
            raise ValidationError({"reason_text": [_("Describe the reason.")]})
        refuse_invisible_in(reason_text, field_name="reason_text", label=_("Reason"))
        if len(reason_text) > 500 or scan_text(text=reason_text, customer=pii):
            raise ValidationError(
                {"reason_text": [_("Describe the reason briefly, without personal data.")]}
            )
    else:
        # Only "other" carries free text; anything typed with a coded purpose is dropped
        # rather than stored unscanned in the audit trail.
        reason_text = ""
    with transaction.atomic():
        audit_record_many(
            actor=acting_user, entries=[pii_read(application, purpose=purpose, reason=reason_text)]
        )
    return pii
