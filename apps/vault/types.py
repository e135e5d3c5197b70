"""The one shape customer personal data takes inside the product."""

from __future__ import annotations

from dataclasses import dataclass, fields

PII_FIELDS = ("name", "name_kana", "phone", "email")

_REDACTED = "CustomerPII(<redacted>)"


@dataclass(frozen=True, repr=False)
class CustomerPII:
    """A customer's contact details, decrypted.

    repr/str are redacted so the values never reach a log line, an exception
    message or a traceback's local variables rendered by an error reporter.
    """

    name: str
    name_kana: str
    phone: str
    email: str = ""

    def __post_init__(self) -> None:
        for field in fields(self):
            if not isinstance(getattr(self, field.name), str):
                # Name the field, never the value.
                raise TypeError(f"CustomerPII.{field.name} must be a str")

    def __repr__(self) -> str:
        return _REDACTED

    def __str__(self) -> str:
        return _REDACTED
