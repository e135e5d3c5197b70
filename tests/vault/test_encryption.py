from __future__ import annotations

import uuid

import pytest
from django.db import connections

from apps.vault.errors import VaultIntegrityError, VaultRecordNotFound
from apps.vault.keyring import get_keyring
from apps.vault.models import BlindIndexEntry, CustomerRecord
from apps.vault.services import vault_read, vault_store

from .conftest import CANARY_EMAIL, CANARY_KANA, CANARY_NAME, CANARY_PHONE

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


def _flip_last_byte(value: bytes | memoryview) -> bytes:
    raw = bytearray(bytes(value))
    raw[-1] ^= 0x01
    return bytes(raw)


def test_a_stored_record_reads_back_unchanged(canary_pii):
    record_id = vault_store(canary_pii)

    assert vault_read(record_id) == canary_pii


def test_each_record_gets_its_own_data_key_and_nonce(canary_pii):
    first = CustomerRecord.objects.get(pk=vault_store(canary_pii))
    second = CustomerRecord.objects.get(pk=vault_store(canary_pii))

    assert bytes(first.ciphertext) != bytes(second.ciphertext)
    assert bytes(first.nonce) != bytes(second.nonce)
    assert bytes(first.wrapped_key or b"") != bytes(second.wrapped_key or b"")


def test_database_rows_contain_no_plaintext(canary_pii):
    # given
    vault_store(canary_pii)
    canaries = [
        value.encode("utf-8")
        for value in (
            CANARY_NAME,
            CANARY_KANA,
            CANARY_PHONE,
            "09043218765",
            CANARY_EMAIL,
            CANARY_EMAIL.lower(),
            "金糸雀",
            "カナリア",
        )
    ]
    # when: every column of every vault row, read raw
    blobs: list[bytes] = []
    with connections["vault"].cursor() as cursor:
        for table in (CustomerRecord._meta.db_table, BlindIndexEntry._meta.db_table):
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608
            for row in cursor.fetchall():
                for column in row:
                    if isinstance(column, bytes | memoryview):
                        blobs.append(bytes(column))
                    else:
                        blobs.append(str(column).encode("utf-8"))
    # then
    assert len(blobs) > 4
    for blob in blobs:
        for canary in canaries:
            assert canary not in blob


def test_tampered_ciphertext_fails_to_decrypt(canary_pii):
    record_id = vault_store(canary_pii)
    record = CustomerRecord.objects.get(pk=record_id)

    CustomerRecord.objects.filter(pk=record_id).update(
        ciphertext=_flip_last_byte(record.ciphertext)
    )

    with pytest.raises(VaultIntegrityError) as excinfo:
        vault_read(record_id)
    assert str(record_id) in str(excinfo.value)


def test_tampered_nonce_fails_to_decrypt(canary_pii):
    record_id = vault_store(canary_pii)
    record = CustomerRecord.objects.get(pk=record_id)

    CustomerRecord.objects.filter(pk=record_id).update(nonce=_flip_last_byte(record.nonce))

    with pytest.raises(VaultIntegrityError):
        vault_read(record_id)


def test_tampered_wrapped_key_fails_to_decrypt(canary_pii):
    record_id = vault_store(canary_pii)
    record = CustomerRecord.objects.get(pk=record_id)

    CustomerRecord.objects.filter(pk=record_id).update(
        wrapped_key=_flip_last_byte(record.wrapped_key or b"")
    )

    with pytest.raises(VaultIntegrityError):
        vault_read(record_id)


def test_truncated_wrapped_key_fails_to_decrypt(canary_pii):
    record_id = vault_store(canary_pii)

    CustomerRecord.objects.filter(pk=record_id).update(wrapped_key=b"\x00" * 10)

    with pytest.raises(VaultIntegrityError):
        vault_read(record_id)


def test_ciphertext_nonce_and_wrapped_key_copied_to_another_row_fail_to_decrypt(
    canary_pii, make_pii
):
    # given
    source = CustomerRecord.objects.get(pk=vault_store(canary_pii))
    target_id = vault_store(make_pii())
    # when
    CustomerRecord.objects.filter(pk=target_id).update(
        key_id=source.key_id,
        wrapped_key=bytes(source.wrapped_key or b""),
        nonce=bytes(source.nonce),
        ciphertext=bytes(source.ciphertext),
    )
    # then
    with pytest.raises(VaultIntegrityError):
        vault_read(target_id)
    assert vault_read(source.id) == canary_pii


def test_ciphertext_copied_to_another_row_fails_even_with_a_correctly_rewrapped_key(
    canary_pii, make_pii
):
    # Someone holding the master key re-wraps the source data key for the target
    # row: the record's own associated data still refuses the moved ciphertext.
    keyring = get_keyring()
    assert keyring is not None
    source = CustomerRecord.objects.get(pk=vault_store(canary_pii))
    target_id = vault_store(make_pii())
    data_key = keyring.unwrap(
        record_id=source.id, key_id=source.key_id, wrapped=bytes(source.wrapped_key or b"")
    )
    key_id, wrapped_for_target = keyring.wrap(record_id=target_id, data_key=data_key)

    CustomerRecord.objects.filter(pk=target_id).update(
        key_id=key_id,
        wrapped_key=wrapped_for_target,
        nonce=bytes(source.nonce),
        ciphertext=bytes(source.ciphertext),
    )

    with pytest.raises(VaultIntegrityError):
        vault_read(target_id)


def test_ciphertext_and_nonce_copied_under_the_target_rows_own_key_fail(canary_pii, make_pii):
    source = CustomerRecord.objects.get(pk=vault_store(canary_pii))
    target_id = vault_store(make_pii())

    CustomerRecord.objects.filter(pk=target_id).update(
        nonce=bytes(source.nonce), ciphertext=bytes(source.ciphertext)
    )

    with pytest.raises(VaultIntegrityError):
        vault_read(target_id)


def test_reading_an_unknown_record_raises_not_found():
    with pytest.raises(VaultRecordNotFound):
        vault_read(uuid.uuid4())


def test_a_wrapped_data_key_unwraps_only_for_its_own_record_and_key(canary_pii, make_pii):
    keyring = get_keyring()
    assert keyring is not None
    record = CustomerRecord.objects.get(pk=vault_store(canary_pii))
    wrapped = bytes(record.wrapped_key or b"")
    assert keyring.unwrap(record_id=record.id, key_id=record.key_id, wrapped=wrapped)

    with pytest.raises(VaultIntegrityError):
        keyring.unwrap(record_id=uuid.uuid4(), key_id=record.key_id, wrapped=wrapped)
