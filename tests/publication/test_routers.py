"""The retail database gets the same tables whichever process migrates it: the T&D side
(`migrate --database retail`) or the retail site (`SHADAN_SITE_ROLE=retail migrate`). A
migration one side records as applied without its tables would leave the other without
them (django-axes' lock-out records on the retail site, found by `make run`)."""

from __future__ import annotations

from django.apps import apps

from apps.publication.routers import RetailRouter, RetailSiteRouter


def test_both_sides_migrate_the_same_apps_into_the_retail_database():
    td, site = RetailRouter(), RetailSiteRouter()

    for config in apps.get_app_configs():
        from_td = bool(td.allow_migrate("retail", config.label))
        assert from_td == site.allow_migrate("default", config.label), config.label
    assert td.allow_migrate("retail", "axes") and td.allow_migrate("retail", "publication")
    assert not td.allow_migrate("retail", "accounts")
