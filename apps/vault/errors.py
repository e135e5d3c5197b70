"""Vault errors. Messages name the record UUID at most, never personal data."""

from __future__ import annotations

import uuid

from django.utils.translation import gettext_lazy as _


class VaultError(Exception):
    """Base class of every vault failure."""

    def __init__(self, message: str | None = None, *, record_id: uuid.UUID | None = None) -> None:
        self.record_id = record_id
        super().__init__(message if message is not None else self.default_message())

    def default_message(self) -> str:
        return str(_("The customer data vault failed."))

    def _with_id(self, message: str) -> str:
        return message % {"record_id": self.record_id}


class VaultUnavailable(VaultError):
    """This process has no vault database alias or no vault keys (e.g. the retail site)."""

    def default_message(self) -> str:
        return str(_("The customer data vault is not configured in this process."))


class VaultIntegrityError(VaultError):
    """Decryption or authentication failed: the ciphertext was tampered with or moved."""

    def default_message(self) -> str:
        return self._with_id(str(_("Vault record %(record_id)s failed authentication.")))


class VaultRecordErased(VaultError):
    """The record's data key was destroyed (crypto-shredded)."""

    def default_message(self) -> str:
        return self._with_id(str(_("Vault record %(record_id)s has been erased.")))


class VaultRecordNotFound(VaultError):
    """No record with this id exists in the vault."""

    def default_message(self) -> str:
        return self._with_id(str(_("Vault record %(record_id)s does not exist.")))


class VaultKeyMissing(VaultError):
    """The master key that wraps a record's data key is no longer in the key ring."""

    def __init__(self, *, record_id: uuid.UUID, key_id: str) -> None:
        self.key_id = key_id
        super().__init__(record_id=record_id)

    def default_message(self) -> str:
        message = _("Vault record %(record_id)s needs master key %(key_id)s, not in the key ring.")
        return str(message) % {"record_id": self.record_id, "key_id": self.key_id}
