from __future__ import annotations

import dataclasses
import traceback
import uuid

import pytest

from apps.vault.errors import (
    VaultIntegrityError,
    VaultRecordErased,
    VaultRecordNotFound,
    VaultUnavailable,
)
from apps.vault.types import PII_FIELDS, CustomerPII

from .conftest import CANARY_EMAIL, CANARY_KANA, CANARY_NAME, CANARY_PHONE

CANARIES = (CANARY_NAME, CANARY_KANA, CANARY_PHONE, CANARY_EMAIL, "Canary", "金糸雀", "4321")


def test_repr_and_str_of_customer_pii_contain_no_personal_data(canary_pii):
    for text in (repr(canary_pii), str(canary_pii), f"{canary_pii}", f"{[canary_pii]!r}"):
        assert text in ("CustomerPII(<redacted>)", "[CustomerPII(<redacted>)]")
        for canary in CANARIES:
            assert canary not in text


def test_a_traceback_showing_customer_pii_has_no_personal_data(canary_pii):
    try:
        raise ValueError(canary_pii)
    except ValueError:
        rendered = traceback.format_exc()
    for canary in CANARIES:
        assert canary not in rendered


def test_customer_pii_fields_are_the_documented_four(canary_pii):
    assert tuple(f.name for f in dataclasses.fields(CustomerPII)) == PII_FIELDS
    assert CustomerPII(name="a", name_kana="b", phone="c").email == ""


def test_customer_pii_is_immutable(canary_pii):
    with pytest.raises(dataclasses.FrozenInstanceError):
        canary_pii.name = "other"


def test_customer_pii_refuses_non_string_values_without_echoing_them():
    with pytest.raises(TypeError) as excinfo:
        CustomerPII(name="x", name_kana="y", phone=9043218765)  # type: ignore[arg-type]
    assert "9043218765" not in str(excinfo.value)


@pytest.mark.parametrize(
    "error_class", [VaultIntegrityError, VaultRecordErased, VaultRecordNotFound]
)
def test_record_errors_name_the_record_id(error_class):
    record_id = uuid.uuid4()
    assert str(record_id) in str(error_class(record_id=record_id))


def test_vault_unavailable_has_a_message():
    from django.utils import translation

    with translation.override("en"):
        assert "vault" in str(VaultUnavailable())
    with translation.override("ja"):
        assert str(VaultUnavailable()).strip()
