"""A clerk discards a draft they wrote and never submitted: the row goes, the audit trail
keeps that it existed, and the vault sweep crypto-shreds its customer data."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from apps.applications import services as app_services
from apps.applications.models import Application, ApplicationContribution
from apps.audit.models import AuditAction, AuditEvent
from apps.core.errors import NotAllowed, StaleVersion, WrongState
from apps.vault.errors import VaultRecordErased
from apps.vault.services import vault_read
from tests.conftest import _person, advance

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])

CANARY_NAME = "鵜飼 鶫"


def test_a_discarded_draft_is_gone_and_audited_without_personal_data(new_application, clerk):
    app = new_application(customer_name=CANARY_NAME)

    app_services.application_discard(
        acting_user=clerk, application_id=app.pk, expected_version=app.version
    )

    assert not Application.objects.filter(pk=app.pk).exists()
    assert not ApplicationContribution.objects.filter(application_id=app.pk).exists()
    event = AuditEvent.objects.get(action=AuditAction.APPLICATION_DISCARDED)
    assert event.actor_id == clerk.pk
    assert str(event.object_id) == str(app.pk)
    assert event.details == {"version": app.version}
    assert CANARY_NAME not in f"{event.details} {event.reason} {event.object_label}"


def test_the_vault_sweep_shreds_the_customer_data_of_a_discarded_draft(new_application, clerk):
    kept = new_application()
    app = new_application()
    app_services.application_discard(acting_user=clerk, application_id=app.pk)

    call_command("vault_sweep", "--hours", "0", stdout=StringIO())

    with pytest.raises(VaultRecordErased):
        vault_read(app.customer_ref)
    assert vault_read(kept.customer_ref).name  # still referenced: kept


def test_a_submitted_application_cannot_be_discarded(new_application, clerk, supervisor):
    app = advance(new_application(), "entered", clerk=clerk, supervisor=supervisor)

    with pytest.raises(WrongState):
        app_services.application_discard(acting_user=clerk, application_id=app.pk)

    assert Application.objects.filter(pk=app.pk).exists()
    assert not AuditEvent.objects.filter(action=AuditAction.APPLICATION_DISCARDED).exists()


def test_another_clerk_cannot_discard_someone_elses_draft(new_application):
    app = new_application()
    other = _person("clerk_other", "td", "clerk")

    with pytest.raises(NotAllowed):
        app_services.application_discard(acting_user=other, application_id=app.pk)

    assert Application.objects.filter(pk=app.pk).exists()


def test_a_stale_page_does_not_discard(new_application, clerk):
    app = new_application()

    with pytest.raises(StaleVersion):
        app_services.application_discard(
            acting_user=clerk, application_id=app.pk, expected_version=app.version + 1
        )

    assert Application.objects.filter(pk=app.pk).exists()
