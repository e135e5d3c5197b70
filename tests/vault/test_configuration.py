from __future__ import annotations

import uuid
import warnings

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from django.utils import timezone

from apps.vault.errors import VaultUnavailable
from apps.vault.keyring import get_keyring
from apps.vault.services import (
    vault_erase,
    vault_find,
    vault_is_available,
    vault_read,
    vault_read_many,
    vault_rewrap_all,
    vault_store,
    vault_sweep_unreferenced,
)

from .conftest import K1, K2, TWO_KEYS_K2_ACTIVE, b64key


def test_vault_is_available_with_the_test_settings():
    assert vault_is_available()


@pytest.mark.parametrize(
    "overrides",
    [
        {"VAULT_MASTER_KEYS": ""},
        {"VAULT_MASTER_KEYS": "", "VAULT_ACTIVE_KEY_ID": "", "VAULT_INDEX_KEY": ""},
    ],
)
def test_vault_is_unavailable_without_keys(overrides, canary_pii):
    with override_settings(**overrides):
        assert not vault_is_available()
        calls = [
            lambda: vault_store(canary_pii),
            lambda: vault_read(uuid.uuid4()),
            lambda: vault_read_many([uuid.uuid4()]),
            lambda: vault_find(kind="phone", value="0"),
            lambda: vault_erase(uuid.uuid4()),
            lambda: vault_rewrap_all(),
            lambda: vault_sweep_unreferenced(referenced=set, older_than=timezone.now()),
        ]
        for call in calls:
            with pytest.raises(VaultUnavailable):
                call()


def test_vault_is_unavailable_without_the_vault_database_alias(canary_pii):
    without_vault = {k: v for k, v in settings.DATABASES.items() if k != "vault"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Overriding setting DATABASES ..."
        with override_settings(DATABASES=without_vault):
            assert not vault_is_available()
            with pytest.raises(VaultUnavailable):
                vault_store(canary_pii)


def test_keyring_follows_overridden_settings():
    assert get_keyring().active_key_id == "test-k1"  # type: ignore[union-attr]
    with override_settings(**TWO_KEYS_K2_ACTIVE):
        ring = get_keyring()
        assert ring is not None
        assert ring.active_key_id == "test-k2"
        assert ring.key_ids == {"test-k1", "test-k2"}
    assert get_keyring().active_key_id == "test-k1"  # type: ignore[union-attr]


def test_keyring_repr_shows_ids_but_no_key_material():
    with override_settings(**TWO_KEYS_K2_ACTIVE):
        text = repr(get_keyring())
    assert "test-k2" in text
    assert K1 not in text
    assert K2 not in text
    assert "\\x01" not in text


SECRET = b64key(7)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"VAULT_MASTER_KEYS": f"k1:{b64key(7, 16)}"}, "32 bytes"),
        ({"VAULT_MASTER_KEYS": f"k1:{SECRET[:-3]}!!!"}, "base64"),
        ({"VAULT_MASTER_KEYS": f"k 1:{SECRET}"}, "key ids"),
        ({"VAULT_MASTER_KEYS": f"k1|{SECRET}"}, "id:base64key"),
        ({"VAULT_MASTER_KEYS": f"k1:{SECRET},k1:{SECRET}"}, "twice"),
        ({"VAULT_MASTER_KEYS": f"k1:{SECRET}", "VAULT_ACTIVE_KEY_ID": "k2"}, "VAULT_ACTIVE"),
        ({"VAULT_MASTER_KEYS": f"k1:{SECRET}", "VAULT_ACTIVE_KEY_ID": ""}, "VAULT_ACTIVE"),
        (
            {
                "VAULT_MASTER_KEYS": f"k1:{SECRET}",
                "VAULT_ACTIVE_KEY_ID": "k1",
                "VAULT_INDEX_KEY": b64key(7, 16),
            },
            "VAULT_INDEX_KEY",
        ),
        (
            {
                "VAULT_MASTER_KEYS": f"k1:{SECRET}",
                "VAULT_ACTIVE_KEY_ID": "k1",
                "VAULT_INDEX_KEY": "",
            },
            "VAULT_INDEX_KEY",
        ),
    ],
)
def test_bad_key_settings_fail_loudly_without_printing_the_key(overrides, message):
    with override_settings(**overrides), pytest.raises(ImproperlyConfigured) as excinfo:
        vault_is_available()
    assert message in str(excinfo.value)
    assert SECRET not in str(excinfo.value)
    assert SECRET[:12] not in str(excinfo.value)
