"""The vault's read and store are built once per process (apps.core.statements): every
step that checks the free text reads a record, every new application stores one."""

from __future__ import annotations

import uuid
from unittest import mock

import pytest
from django.db import connections
from django.db.models.sql.compiler import SQLCompiler, SQLInsertCompiler

from apps.core.statements import ModelRead
from apps.vault.errors import VaultRecordNotFound
from apps.vault.models import BlindIndexEntry, CustomerRecord
from apps.vault.services import vault_read, vault_store

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


def _compiled(compiler: type[SQLCompiler]) -> mock._patch:
    return mock.patch.object(compiler, "as_sql", autospec=True, side_effect=compiler.as_sql)


def test_a_uuid_slot_reads_by_key_and_the_vault_builds_nothing_twice(canary_pii):
    """The vault's read and store, which every step that checks the free text and every
    new application run: built once; a UUID slot takes a UUID or its text, and what is
    no UUID finds nothing."""
    stored = vault_store(canary_pii)  # each built here, or by an earlier test
    assert vault_read(stored) == canary_pii
    read = ModelRead(lambda slots: CustomerRecord.objects.filter(pk=slots.uuid("key")), "vault")
    vault = connections["vault"]

    with _compiled(SQLCompiler) as selects, _compiled(SQLInsertCompiler) as inserts:
        again = vault_store(canary_pii)
        assert vault_read(again) == canary_pii
        assert [r.pk for r in read.rows(vault, key=str(stored))] == [stored]
        with pytest.raises(VaultRecordNotFound):
            vault_read(uuid.uuid4())
        with pytest.raises(VaultRecordNotFound):
            vault_read("no-uuid")  # type: ignore[arg-type]

    assert (selects.call_count, inserts.call_count) == (0, 0)
    with pytest.raises(ValueError):
        read.rows(vault, key="no-uuid")
    record = CustomerRecord.objects.get(pk=again)
    assert sorted(BlindIndexEntry.objects.filter(record=record).values_list("kind", flat=True)) == [
        "email",
        "name",
        "name_kana",
        "phone",
    ]
