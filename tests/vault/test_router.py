from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import connections

from apps.vault.models import BlindIndexEntry, CustomerRecord
from apps.vault.routers import VaultRouter
from apps.vault.services import vault_store

router = VaultRouter()


@pytest.mark.parametrize("model", [CustomerRecord, BlindIndexEntry])
def test_vault_models_read_and_write_on_the_vault_database(model):
    assert router.db_for_read(model) == "vault"
    assert router.db_for_write(model) == "vault"


@pytest.mark.parametrize("model", [Group, ContentType])
def test_other_models_read_and_write_on_the_default_database(model):
    assert router.db_for_read(model) == "default"
    assert router.db_for_write(model) == "default"


def test_relations_are_allowed_only_within_one_database():
    record, entry, group = CustomerRecord(), BlindIndexEntry(), Group()

    assert router.allow_relation(record, entry)
    assert router.allow_relation(group, Group())
    assert not router.allow_relation(record, group)
    assert not router.allow_relation(group, entry)


def test_the_vault_app_migrates_only_on_the_vault_database():
    assert router.allow_migrate("vault", "vault")
    assert router.allow_migrate("vault", "vault", model_name="customerrecord")
    assert not router.allow_migrate("default", "vault")


@pytest.mark.parametrize("app_label", ["auth", "contenttypes", "applications", "audit"])
def test_every_other_app_migrates_only_on_the_default_database(app_label):
    assert router.allow_migrate("default", app_label)
    assert not router.allow_migrate("vault", app_label)


@pytest.mark.django_db(databases=["default", "vault", "retail"])
def test_the_vault_tables_exist_only_in_the_vault_database():
    vault_tables = set(connections["vault"].introspection.table_names())
    default_tables = set(connections["default"].introspection.table_names())

    assert {"vault_customerrecord", "vault_blindindexentry"} <= vault_tables
    assert not {"vault_customerrecord", "vault_blindindexentry"} & default_tables
    assert "auth_group" in default_tables
    assert not {t for t in vault_tables if not t.startswith("vault_")} - {"django_migrations"}


@pytest.mark.django_db(databases=["default", "vault", "retail"])
def test_stored_records_land_in_the_vault_database(canary_pii):
    record_id = vault_store(canary_pii)

    assert CustomerRecord.objects.using("vault").filter(pk=record_id).exists()
