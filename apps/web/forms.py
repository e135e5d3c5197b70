"""What every form page does with a service's refusal."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from apps.core.errors import ServiceError


def add_service_error(form: forms.Form, error: ValidationError | ServiceError) -> None:
    """A service's field errors go next to their field (or above the form when the field is
    not on this form); a rule's refusal goes above the form. The typed input stays in the
    bound form, so nothing the user entered is lost."""
    if isinstance(error, ServiceError):
        form.add_error(None, str(error.message))
    elif hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)
