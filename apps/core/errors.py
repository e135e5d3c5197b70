"""Refusals raised by services.

Every message is translated, safe to show to the person who acted, and never contains
personal data: services name fields and reference numbers, never values.
Bad input is reported with django.core.exceptions.ValidationError (field -> messages).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class ServiceError(Exception):
    """A rule refused the action; nothing was changed."""

    code = "refused"
    default_message: str | Promise = _("The action could not be carried out.")

    def __init__(self, message: str | Promise | None = None, *, code: str | None = None) -> None:
        self.message = message if message is not None else self.default_message
        if code is not None:
            self.code = code
        super().__init__(str(self.message))

    def __str__(self) -> str:
        return str(self.message)


class NotAllowed(ServiceError, PermissionDenied):
    """The acting user may not do this (role, division, or a four-eyes rule)."""

    code = "not_allowed"
    default_message = _("You are not allowed to do this.")


class FourEyesViolation(NotAllowed):
    code = "four_eyes"
    default_message = _("A second person must do this.")


class WrongState(ServiceError):
    code = "wrong_state"
    default_message = _("This action is not possible in the application's current state.")


class StaleVersion(ServiceError):
    code = "stale_version"
    default_message = _(
        "Someone else changed this record after you opened it. Reload it and try again."
    )


class NotFound(ServiceError):
    code = "not_found"
    default_message = _("The record does not exist.")
