from __future__ import annotations

import base64

import pytest

from apps.vault.types import CustomerPII

# Canary values: if any of them shows up in a raw database row, encryption broke.
CANARY_NAME = "金糸雀 太郎"
CANARY_KANA = "カナリア タロウ"
CANARY_PHONE = "090-4321-8765"
CANARY_EMAIL = "Canary.Taro@Example.invalid"


def b64key(byte: int, length: int = 32) -> str:
    return base64.b64encode(bytes([byte]) * length).decode()


K1 = b64key(1)  # the test settings' key "test-k1"
K2 = b64key(3)
INDEX_KEY = b64key(2)
TWO_KEYS_K1_ACTIVE = {
    "VAULT_MASTER_KEYS": f"test-k1:{K1},test-k2:{K2}",
    "VAULT_ACTIVE_KEY_ID": "test-k1",
}
TWO_KEYS_K2_ACTIVE = {
    "VAULT_MASTER_KEYS": f"test-k1:{K1},test-k2:{K2}",
    "VAULT_ACTIVE_KEY_ID": "test-k2",
}
ONLY_K2 = {"VAULT_MASTER_KEYS": f"test-k2:{K2}", "VAULT_ACTIVE_KEY_ID": "test-k2"}


@pytest.fixture
def canary_pii() -> CustomerPII:
    return CustomerPII(
        name=CANARY_NAME, name_kana=CANARY_KANA, phone=CANARY_PHONE, email=CANARY_EMAIL
    )


@pytest.fixture
def make_pii():
    counter = iter(range(1000, 10000))

    def make(**overrides: str) -> CustomerPII:
        n = next(counter)
        values = {
            "name": f"顧客 {n}",
            "name_kana": f"コキャク {n}",
            "phone": f"03-0000-{n}",
            "email": f"customer{n}@example.invalid",
        }
        values.update(overrides)
        return CustomerPII(**values)

    return make
