"""The migration that publishes what was verified before the published table existed."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps as django_apps

from apps.publication.models import PublishedApplication
from apps.retailers.models import Retailer
from tests.conftest import advance

pytestmark = pytest.mark.django_db(databases=["default", "vault"])

migration = importlib.import_module(
    "apps.publication.migrations.0002_publish_verified_applications"
)


def test_the_migration_publishes_exactly_what_verification_would_have(
    new_application, clerk, supervisor
):
    # This compares the migration's frozen projection with today's RETAIL_FIELDS: when
    # the list changes, the migration rightly publishes nothing and this test goes.
    shown = advance(new_application(), "verified", clerk=clerk, supervisor=supervisor)
    advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    written = {row.pk: row.projection() for row in PublishedApplication.objects.all()}
    PublishedApplication.objects.all().delete()

    migration.publish_verified(django_apps, None)

    rows = {row.pk: row for row in PublishedApplication.objects.all()}
    assert {pk: row.projection() for pk, row in rows.items()} == written
    assert set(rows) == {shown.pk}


def test_the_migration_leaves_out_a_projection_changed_since_verification(
    new_application, clerk, supervisor
):
    shown = advance(new_application(), "verified", clerk=clerk, supervisor=supervisor)
    PublishedApplication.objects.all().delete()
    Retailer.objects.filter(pk=shown.retailer_id).update(name="改名済み")

    migration.publish_verified(django_apps, None)

    assert not PublishedApplication.objects.exists()
