from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connections
from django.utils import timezone

from apps.vault.errors import VaultRecordErased, VaultRecordNotFound
from apps.vault.models import BlindIndexEntry, CustomerRecord
from apps.vault.services import (
    vault_erase,
    vault_find,
    vault_read,
    vault_read_many,
    vault_store,
    vault_sweep_unreferenced,
)

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


def test_an_erased_record_cannot_be_read_nor_found(canary_pii):
    # given
    record_id = vault_store(canary_pii)
    assert vault_find(kind="phone", value=canary_pii.phone) == [record_id]
    # when
    vault_erase(record_id)
    # then
    with pytest.raises(VaultRecordErased):
        vault_read(record_id)
    for kind in ("phone", "name", "name_kana", "email"):
        assert vault_find(kind=kind, value=getattr(canary_pii, kind)) == []
    record = CustomerRecord.objects.get(pk=record_id)
    assert record.wrapped_key is None
    assert record.erased_at is not None
    assert not BlindIndexEntry.objects.filter(record_id=record_id).exists()


def test_erasing_twice_is_harmless(canary_pii):
    record_id = vault_store(canary_pii)
    vault_erase(record_id)
    erased_at = CustomerRecord.objects.get(pk=record_id).erased_at

    vault_erase(record_id)

    assert CustomerRecord.objects.get(pk=record_id).erased_at == erased_at


def test_erasing_an_unknown_record_raises_not_found():
    with pytest.raises(VaultRecordNotFound):
        vault_erase(uuid.uuid4())


def test_erasing_one_record_leaves_the_others_readable(make_pii):
    keep, drop = make_pii(), make_pii()
    keep_id, drop_id = vault_store(keep), vault_store(drop)

    vault_erase(drop_id)

    assert vault_read(keep_id) == keep


def test_read_many_omits_erased_and_unknown_records_in_one_query(
    make_pii, django_assert_num_queries
):
    first, second, gone = make_pii(), make_pii(), make_pii()
    first_id, second_id, gone_id = vault_store(first), vault_store(second), vault_store(gone)
    vault_erase(gone_id)

    with django_assert_num_queries(1, connection=connections["vault"]):
        result = vault_read_many([first_id, second_id, gone_id, uuid.uuid4(), first_id])

    assert result == {first_id: first, second_id: second}


def test_read_many_of_nothing_is_empty():
    assert vault_read_many([]) == {}


def test_sweep_erases_only_old_unreferenced_records(make_pii):
    # given
    old_referenced = vault_store(make_pii())
    old_unreferenced = vault_store(make_pii())
    new_unreferenced = vault_store(make_pii())
    two_days_ago = timezone.now() - timedelta(days=2)
    CustomerRecord.objects.filter(pk__in=[old_referenced, old_unreferenced]).update(
        created_at=two_days_ago
    )
    asked: list[uuid.UUID] = []

    def referenced(ids: list[uuid.UUID]) -> set[uuid.UUID]:
        asked.extend(ids)
        return {old_referenced} & set(ids)

    # when
    erased = vault_sweep_unreferenced(
        referenced=referenced, older_than=timezone.now() - timedelta(days=1)
    )
    # then
    assert erased == 1
    assert set(asked) == {old_referenced, old_unreferenced}
    with pytest.raises(VaultRecordErased):
        vault_read(old_unreferenced)
    vault_read(old_referenced)
    vault_read(new_unreferenced)


def test_sweep_does_not_count_or_offer_already_erased_records(make_pii):
    record_id = vault_store(make_pii())
    vault_erase(record_id)

    erased = vault_sweep_unreferenced(
        referenced=lambda ids: pytest.fail("no candidates expected"),
        older_than=timezone.now() + timedelta(days=1),
    )

    assert erased == 0


def test_vault_erase_command_erases_the_record(make_pii, capsys):
    record_id = vault_store(make_pii())

    call_command("vault_erase", str(record_id))

    assert str(record_id) in capsys.readouterr().out
    with pytest.raises(VaultRecordErased):
        vault_read(record_id)


def test_vault_erase_command_refuses_a_malformed_id():
    with pytest.raises(CommandError):
        call_command("vault_erase", "not-a-uuid")
