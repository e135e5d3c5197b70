"""Every change of an application goes through one of these functions.

Each one: checks the acting user's division and permission, locks the row, checks the
state and the four-eyes rule, changes the state, writes the audit event and adjusts the
retail permission — in one transaction. Personal data goes to the vault *first* (the
two databases share no transaction); a vault record nothing references is harmless
and is swept later.

By sub-domain: `intake` (a clerk's create, change, submit, discard; cancel), `review`
(encode, the second-person check, return), `construction` (release, completion,
energization) and `masking` (invalidating an encoding); `_common` holds what they share.
Callers import from this package, never from its modules (docs/decisions.md).
"""

from __future__ import annotations

from apps.core.errors import WrongState

from .construction import application_complete, application_energize, application_release
from .intake import (
    application_cancel,
    application_change_retailer,
    application_create,
    application_discard,
    application_submit,
    application_update,
)
from .masking import (
    BARRIER_CHECK,
    invalidate_locked,
    invalidate_masking,
    invalidate_retailer_applications,
)
from .review import (
    FOUR_EYES_MESSAGES,
    LeakFound,
    ReviewOpened,
    application_encode,
    application_open_review,
    application_record_review_opened,
    application_return,
    application_verify,
    check_four_eyes,
)

__all__ = [
    "BARRIER_CHECK",
    "FOUR_EYES_MESSAGES",
    "LeakFound",
    "ReviewOpened",
    "WrongState",
    "application_cancel",
    "application_change_retailer",
    "application_complete",
    "application_create",
    "application_discard",
    "application_encode",
    "application_energize",
    "application_open_review",
    "application_record_review_opened",
    "application_release",
    "application_return",
    "application_submit",
    "application_update",
    "application_verify",
    "check_four_eyes",
    "invalidate_locked",
    "invalidate_masking",
    "invalidate_retailer_applications",
]
