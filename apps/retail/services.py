"""Recording what retail asks for and does not get.

A retail request for an application that does not exist or that retail may not see
answers the same 404 either way, and is recorded: probing for references is a signal
for the access review. What was asked is user input, and a prober can type anything
(a name, a phone number): only a string of the reference format (SD2026-0000123) is
kept as typed; of anything else only its length. Never a hash of it: an unkeyed hash of
a phone number is reversed by trying every number, which would let a reader of the
trail confirm a guess.
"""

from __future__ import annotations

import re

from django.db import transaction

from apps.accounts.models import User
from apps.audit.models import AuditAction, AuditEvent
from apps.audit.services import audit_record

# As apps.applications.services numbers them: SD, the year, a hyphen, the id (7 digits
# or more). ASCII digits only: nothing else can be a reference.
REFERENCE_FORMAT = re.compile(r"SD[0-9]{4}-[0-9]{7,12}", re.ASCII)
LENGTH_CAP = 1000


def retail_record_not_found(*, acting_user: User, reference: str) -> AuditEvent:
    """One audit event (one INSERT) for a detail request that found nothing visible."""
    token = reference if REFERENCE_FORMAT.fullmatch(reference) else ""
    details: dict[str, object] = {"view": "detail", "requested": token}
    if not token:
        details["requested_length"] = min(len(reference), LENGTH_CAP)
    with transaction.atomic():
        return audit_record(
            actor=acting_user,
            action=AuditAction.RETAIL_NOT_FOUND,
            object_label=token,
            details=details,
        )
