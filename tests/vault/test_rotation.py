from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import override_settings

from apps.vault.errors import VaultKeyMissing
from apps.vault.models import CustomerRecord
from apps.vault.services import vault_erase, vault_read, vault_rewrap_all, vault_store

from .conftest import ONLY_K2, TWO_KEYS_K1_ACTIVE, TWO_KEYS_K2_ACTIVE

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


def _snapshot() -> dict:
    return {
        r.id: (r.key_id, bytes(r.wrapped_key or b""), bytes(r.nonce), bytes(r.ciphertext))
        for r in CustomerRecord.objects.all()
    }


def test_key_rotation_keeps_every_record_readable_and_lets_the_old_key_go(make_pii):
    # given: records under the old key
    with override_settings(**TWO_KEYS_K1_ACTIVE):
        stored = {vault_store(pii): pii for pii in (make_pii(), make_pii(), make_pii())}
    before = _snapshot()
    assert {key_id for key_id, *_ in before.values()} == {"test-k1"}

    with override_settings(**TWO_KEYS_K2_ACTIVE):
        newer = make_pii()
        stored[vault_store(newer)] = newer
        # when
        rewrapped = vault_rewrap_all(batch_size=2)
        # then
        assert rewrapped == 3
        assert vault_rewrap_all() == 0
        assert all(vault_read(record_id) == pii for record_id, pii in stored.items())

    after = _snapshot()
    assert {key_id for key_id, *_ in after.values()} == {"test-k2"}
    for record_id, (_, wrapped, nonce, ciphertext) in before.items():
        # Only the wrap changed: the records were never re-encrypted.
        assert after[record_id][1] != wrapped
        assert after[record_id][2:] == (nonce, ciphertext)

    with override_settings(**ONLY_K2):
        assert all(vault_read(record_id) == pii for record_id, pii in stored.items())


def test_removing_the_old_key_before_rewrapping_makes_its_records_unreadable(make_pii):
    with override_settings(**TWO_KEYS_K1_ACTIVE):
        record_id = vault_store(make_pii())

    with override_settings(**ONLY_K2), pytest.raises(VaultKeyMissing) as excinfo:
        vault_read(record_id)
    assert "test-k1" in str(excinfo.value)


def test_rewrap_skips_erased_records(make_pii):
    with override_settings(**TWO_KEYS_K1_ACTIVE):
        kept = vault_store(make_pii())
        erased = vault_store(make_pii())
        vault_erase(erased)

    with override_settings(**TWO_KEYS_K2_ACTIVE):
        assert vault_rewrap_all() == 1

    record = CustomerRecord.objects.get(pk=erased)
    assert record.wrapped_key is None
    assert record.key_id == "test-k1"
    assert CustomerRecord.objects.get(pk=kept).key_id == "test-k2"


def test_vault_rewrap_command_reports_the_count_and_active_key(make_pii, capsys):
    with override_settings(**TWO_KEYS_K1_ACTIVE):
        vault_store(make_pii())
        vault_store(make_pii())

    with override_settings(**TWO_KEYS_K2_ACTIVE):
        call_command("vault_rewrap")

    out = capsys.readouterr().out
    assert "Rewrapped 2" in out
    assert "test-k2" in out
