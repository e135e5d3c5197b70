"""The audit tables in the Django admin: every one readable, none writable."""

from __future__ import annotations

import pytest
from django.contrib.admin.sites import site as admin_site
from django.test import RequestFactory
from django.urls import reverse

from apps.audit.models import AuditCheckpoint, AuditEvent, AuditSeal, AuditVerification
from apps.audit.sealing import audit_seal
from apps.audit.verification import audit_verify
from tests.conftest import _person

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])

MODELS = (AuditEvent, AuditSeal, AuditCheckpoint, AuditVerification)


@pytest.fixture
def root(db):
    return _person("root", "admin", "administrator", is_superuser=True)


@pytest.fixture
def trail(record_events, settings):
    settings.AUDIT_SIGNING_KEY = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
    record_events(3)
    audit_seal()
    audit_verify()
    return {model: model.objects.order_by("pk").first() for model in MODELS}


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_each_audit_table_is_read_only_in_the_admin(model, trail, root):
    request = RequestFactory().get("/admin/")
    request.user = root
    model_admin = admin_site._registry[model]
    row = trail[model]

    assert row is not None
    assert model_admin.has_view_permission(request, row)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, row)
    assert not model_admin.has_delete_permission(request, row)
    assert not model_admin.get_actions(request)  # no "delete selected"
    assert model_admin.list_filter
    assert model_admin.date_hierarchy


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_each_audit_table_lists_and_shows_but_refuses_writes(model, trail, root, client):
    client.force_login(root)
    opts = model._meta
    row = trail[model]
    change_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk])
    before = model.objects.count()

    assert (
        client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")).status_code
        == 200
    )
    assert client.get(change_url).status_code == 200  # the read-only view
    assert client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add")).status_code == 403
    delete_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_delete", args=[row.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    assert model.objects.count() == before


def test_the_filters_filter_without_listing_the_table(trail, root, client, clerk):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.audit.models import AuditAction
    from apps.audit.services import audit_record

    audit_record(actor=clerk, action=AuditAction.EXPORT)
    client.force_login(root)

    with CaptureQueriesContext(connection) as queries:
        page = client.get("/admin/audit/auditevent/", {"actor_division": "td"})
    seals = client.get("/admin/audit/auditseal/", {"format": str(trail[AuditSeal].format)})

    assert page.status_code == seals.status_code == 200
    assert [e.actor_username for e in page.context["cl"].result_list] == ["clerk_sato"]
    assert len(seals.context["cl"].result_list) == 3
    assert not any("DISTINCT" in q["sql"].upper() for q in queries.captured_queries)
