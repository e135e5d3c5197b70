"""The barrier consistency check and the vault sweep."""

from __future__ import annotations

import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from guardian.shortcuts import assign_perm

from apps.applications import services
from apps.applications.barrier import Disagreement, barrier_check
from apps.applications.models import ApplicationGroupObjectPermission
from apps.applications.visibility import retail_group
from apps.audit.models import AuditAction, AuditEvent
from apps.publication.models import PublishedApplication
from apps.vault.errors import VaultRecordErased
from apps.vault.models import CustomerRecord
from apps.vault.services import vault_read
from tests.conftest import advance

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


def test_barrier_check_finds_nothing_after_normal_work(new_application, clerk, supervisor):
    for state in ("entered", "encoded", "verified", "released"):
        advance(new_application(), state, clerk=clerk, supervisor=supervisor)

    assert barrier_check(repair=False) == []


def test_barrier_check_withdraws_a_stray_permission(new_application, clerk, supervisor):
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    assign_perm("view_application", retail_group(), app)

    found = barrier_check(repair=True)

    assert found == [Disagreement(app.pk, permission_held=True, masking_verified=False)]
    assert not ApplicationGroupObjectPermission.objects.filter(content_object=app).exists()
    assert AuditEvent.objects.filter(action=AuditAction.PERMISSION_REVOKED, actor=None).count() == 1
    assert barrier_check(repair=False) == []


def test_barrier_check_command_fails_when_it_finds_something(new_application, clerk, supervisor):
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    assign_perm("view_application", retail_group(), app)

    with pytest.raises(SystemExit):
        call_command("barrier_check", stdout=StringIO())


def test_barrier_check_command_names_a_publication_mismatch(new_application, clerk, supervisor):
    app = advance(new_application(), "verified", clerk=clerk, supervisor=supervisor)
    PublishedApplication.objects.filter(application_id=app.pk).delete()
    out = StringIO()

    with pytest.raises(SystemExit):
        call_command("barrier_check", stdout=out)
    call_command("barrier_check", "--repair", stdout=out)

    assert f"application id={app.pk} publication=unpublished" in out.getvalue()
    assert PublishedApplication.objects.filter(application_id=app.pk).exists()


def test_sweep_erases_the_old_customer_record_after_an_edit(new_application, clerk):
    app = new_application()
    old_ref = app.customer_ref
    app = services.application_update(
        acting_user=clerk,
        application_id=app.pk,
        expected_version=1,
        changes={"customer_phone": "098-765-4321"},
    )
    CustomerRecord.objects.filter(pk=old_ref).update(
        created_at=timezone.now() - datetime.timedelta(days=2)
    )

    out = StringIO()
    call_command("vault_sweep", stdout=out)

    assert "erased 1 " in out.getvalue()
    assert AuditEvent.objects.get(action=AuditAction.VAULT_ERASED).details["records"] == 1
    with pytest.raises(VaultRecordErased):
        vault_read(old_ref)
    assert vault_read(app.customer_ref).phone == "098-765-4321"


def test_barrier_check_withdraws_a_per_person_grant(
    new_application, clerk, supervisor, retail_user
):
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    assign_perm("view_application", retail_user, app)

    found = barrier_check(repair=True)

    assert found == [
        Disagreement(app.pk, permission_held=True, masking_verified=False, user_id=retail_user.pk)
    ]
    assert not retail_user.has_perm("applications.view_application", app)
    assert barrier_check(repair=False) == []
