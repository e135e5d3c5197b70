"""Encrypted customer records and their blind index. Both live in the "vault" database."""

from __future__ import annotations

import json
import os
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .errors import VaultIntegrityError, VaultRecordErased
from .keyring import DATA_KEY_BYTES, NONCE_BYTES, KeyRing
from .types import PII_FIELDS, CustomerPII

RECORD_AAD_PREFIX = b"shadan.vault.v1|"


def _record_aad(record_id: uuid.UUID) -> bytes:
    # Binds the ciphertext to its row: copied to another id it no longer authenticates.
    return RECORD_AAD_PREFIX + str(record_id).encode()


class CustomerRecord(models.Model):
    """One customer's personal data, encrypted under its own data key.

    ``wrapped_key`` is the data key wrapped by master key ``key_id``; setting it
    to NULL destroys the only copy of the data key and so erases the record
    (crypto-shredding) while the ciphertext may stay behind harmlessly.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    key_id = models.CharField(_("master key id"), max_length=64)
    wrapped_key = models.BinaryField(_("wrapped data key"), null=True)
    nonce = models.BinaryField(_("nonce"))
    ciphertext = models.BinaryField(_("ciphertext"))
    erased_at = models.DateTimeField(_("erased at"), null=True, blank=True)

    class Meta:
        verbose_name = _("customer record")
        verbose_name_plural = _("customer records")

    def __str__(self) -> str:
        return str(self.id)

    @property
    def is_erased(self) -> bool:
        return self.wrapped_key is None

    @classmethod
    def seal(cls, pii: CustomerPII, *, keyring: KeyRing) -> CustomerRecord:
        """A new, unsaved record holding ``pii`` encrypted under a fresh data key."""
        record = cls(id=uuid.uuid4())
        data_key = AESGCM.generate_key(bit_length=DATA_KEY_BYTES * 8)
        plaintext = json.dumps(
            {field: getattr(pii, field) for field in PII_FIELDS},
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode("utf-8")
        record.nonce = os.urandom(NONCE_BYTES)
        record.ciphertext = AESGCM(data_key).encrypt(
            record.nonce, plaintext, _record_aad(record.id)
        )
        record.key_id, record.wrapped_key = keyring.wrap(record_id=record.id, data_key=data_key)
        return record

    def _data_key(self, keyring: KeyRing) -> bytes:
        if self.wrapped_key is None:
            raise VaultRecordErased(record_id=self.id)
        return keyring.unwrap(
            record_id=self.id, key_id=self.key_id, wrapped=bytes(self.wrapped_key)
        )

    def open(self, *, keyring: KeyRing) -> CustomerPII:
        """Decrypt; raises VaultRecordErased or VaultIntegrityError (or VaultKeyMissing)."""
        data_key = self._data_key(keyring)
        nonce = bytes(self.nonce)
        if len(nonce) != NONCE_BYTES:
            raise VaultIntegrityError(record_id=self.id)
        try:
            plaintext = AESGCM(data_key).decrypt(
                nonce, bytes(self.ciphertext), _record_aad(self.id)
            )
            values = json.loads(plaintext.decode("utf-8"))
            return CustomerPII(**{field: values[field] for field in PII_FIELDS})
        except (InvalidTag, ValueError, KeyError, TypeError):
            # Authenticated but malformed cannot happen without the keys; treat alike.
            raise VaultIntegrityError(record_id=self.id) from None

    def rewrap(self, *, keyring: KeyRing) -> None:
        """Re-wrap the data key under the active master key; the ciphertext is untouched."""
        data_key = self._data_key(keyring)
        self.key_id, self.wrapped_key = keyring.wrap(record_id=self.id, data_key=data_key)


class BlindIndexEntry(models.Model):
    """Keyed HMAC of one normalised field, for exact-match search without decryption."""

    class Kind(models.TextChoices):
        PHONE = "phone", _("phone")
        NAME = "name", _("name")
        NAME_KANA = "name_kana", _("name (kana)")
        EMAIL = "email", _("email")

    # Every new record writes four entries, so each index here is four more B-tree
    # insertions an application: `record` has none of its own (the unique constraint
    # begins with it), `digest` a plain one (db_index would add a LIKE index on
    # PostgreSQL, and a digest is only ever compared whole).
    record = models.ForeignKey(
        CustomerRecord, on_delete=models.CASCADE, related_name="index_entries", db_index=False
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    digest = models.CharField(_("digest"), max_length=64)

    class Meta:
        verbose_name = _("blind index entry")
        verbose_name_plural = _("blind index entries")
        constraints = [
            models.UniqueConstraint(fields=["record", "kind"], name="vault_index_one_per_kind"),
        ]
        indexes = [models.Index(fields=["digest"], name="vault_index_digest_idx")]

    def __str__(self) -> str:
        return f"{self.record_id}:{self.kind}"
