"""The Django admin: people through the services, applications read-only and without PII."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.accounts.models import User
from apps.audit.models import AuditAction, AuditEvent
from apps.vault.services import vault_read
from tests.conftest import _person, advance

pytestmark = pytest.mark.django_db(databases=["default", "vault"])


@pytest.fixture
def root(db):
    return _person("root", "admin", "administrator", is_superuser=True)


def test_every_admin_list_opens(client, root, new_application):
    new_application()
    client.force_login(root)
    for model in (
        "accounts/user",
        "accounts/division",
        "retailers/retailer",
        "applications/application",
        "audit/auditevent",
    ):
        assert client.get(f"/admin/{model}/").status_code == 200, model


def test_the_application_admin_shows_no_personal_data_and_cannot_change_anything(
    client, root, new_application, clerk, supervisor
):
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    pii = vault_read(app.customer_ref)
    client.force_login(root)
    url = reverse("admin:applications_application_change", args=[app.pk])

    page = client.get(url).content.decode()
    client.post(url, {"state": "verified", "masking_state": "verified"})

    for value in (pii.name, pii.name_kana, pii.phone, pii.email, str(app.customer_ref)):
        assert value not in page
    assert 'name="state"' not in page
    app.refresh_from_db()
    assert (app.state, app.masking_state) == ("encoded", "encoded")
    assert client.get(reverse("admin:applications_application_add")).status_code == 403


def test_roles_changed_in_the_admin_go_through_the_services(client, root, clerk):
    client.force_login(root)
    url = reverse("admin:accounts_user_change", args=[clerk.pk])

    client.post(
        url,
        {
            "first_name": "",
            "last_name": "",
            "email": "",
            "is_active": "on",
            "roles": ["clerk", "supervisor"],
            "transfer_to": "",
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "1",
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
            "memberships-0-id": str(clerk.memberships.get().pk),
            "memberships-0-user": str(clerk.pk),
        },
    )

    assert User.objects.get(pk=clerk.pk).role_codes() == ["clerk", "supervisor"]
    assert AuditEvent.objects.filter(action=AuditAction.ROLE_GRANTED, actor=root).count() == 1


def test_a_role_of_another_division_is_refused_in_the_admin(client, root, retail_user):
    client.force_login(root)
    url = reverse("admin:accounts_user_change", args=[retail_user.pk])

    response = client.post(
        url,
        {
            "is_active": "on",
            "roles": ["retail", "supervisor"],
            "transfer_to": "",
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "1",
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
            "memberships-0-id": str(retail_user.memberships.get().pk),
            "memberships-0-user": str(retail_user.pk),
        },
    )

    assert response.status_code == 200  # the form again, with the error
    assert User.objects.get(pk=retail_user.pk).role_codes() == ["retail"]


def test_configuration_changed_in_the_admin_is_audited(client, root, retailer, supervisor):
    client.force_login(root)

    client.post(
        reverse("admin:retailers_retailer_change", args=[retailer.pk]),
        {"name": "みなみ新電力株式会社"},
    )
    client.post(
        reverse("admin:accounts_division_change", args=["td"]),
        {"code": "td", "compliance_contact": str(supervisor.pk)},
    )

    events = AuditEvent.objects.filter(action=AuditAction.CONFIGURATION_CHANGED, actor=root)
    assert sorted((e.object_type, tuple(e.changed_fields)) for e in events) == [
        ("accounts.division", ("compliance_contact",)),
        ("retailers.retailer", ("name",)),
    ]


def test_a_users_own_fields_changed_in_the_admin_are_audited_by_name(client, root, clerk):
    client.force_login(root)
    url = reverse("admin:accounts_user_change", args=[clerk.pk])

    client.post(
        url,
        {
            "first_name": "",
            "last_name": "",
            "email": "canary-staff@example.invalid",
            "roles": ["clerk"],
            "transfer_to": "",
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "1",
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
            "memberships-0-id": str(clerk.memberships.get().pk),
            "memberships-0-user": str(clerk.pk),
        },
    )

    clerk.refresh_from_db()
    assert (clerk.email, clerk.is_active) == ("canary-staff@example.invalid", False)
    event = AuditEvent.objects.get(
        action=AuditAction.CONFIGURATION_CHANGED, object_id=str(clerk.pk)
    )
    assert event.actor == root
    assert sorted(event.changed_fields) == ["email", "is_active"]
    assert "canary-staff" not in str(event.details)
