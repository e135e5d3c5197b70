"""The Django admin: people through the services, applications read-only and without PII."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from apps.accounts.models import User
from apps.audit.models import AuditAction, AuditEvent
from apps.vault.services import vault_read
from tests.conftest import _person, advance

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


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


def test_the_user_admin_is_read_only_and_a_plain_save_transfers_nobody(client, root, clerk):
    client.force_login(root)
    url = reverse("admin:accounts_user_change", args=[clerk.pk])

    page = client.get(url)
    posted = client.post(
        url,
        {
            "email": "canary-staff@example.invalid",
            "roles": ["clerk", "supervisor"],
            "transfer_to": "retail",
            "is_active": "",
        },
    )

    assert page.status_code == 200
    assert 'name="transfer_to"' not in page.content.decode()
    assert posted.status_code == 403
    unchanged = User.objects.get(pk=clerk.pk)
    assert (unchanged.division_at(), unchanged.role_codes(), unchanged.email) == (
        "td",
        ["clerk"],
        "",
    )
    assert unchanged.is_active


def test_the_user_admin_lists_division_and_roles_by_their_labels(client, root, clerk):
    client.force_login(root)

    page = client.get(reverse("admin:accounts_user_changelist")).content.decode()

    assert '<td class="field-division">送配電部門</td>' in page
    assert '<td class="field-roles">受付担当</td>' in page


def test_role_groups_have_no_bulk_delete_and_cannot_be_deleted(client, root):
    client.force_login(root)
    group = Group.objects.get(name="shadan:clerk")

    listing = client.get(reverse("admin:auth_group_changelist")).content.decode()
    delete = client.post(reverse("admin:auth_group_delete", args=[group.pk]), {"post": "yes"})

    assert "delete_selected" not in listing
    assert delete.status_code == 403
    assert Group.objects.filter(name="shadan:clerk").exists()


def test_the_admins_own_words_keep_their_japanese_beside_the_administrators_pages(client, root):
    # The project's catalog wins over Django's: a "Change" of our pages must not rename
    # the admin's 変更 links (ours has a context).
    client.force_login(root)

    page = client.get(reverse("admin:index")).content.decode()

    assert re.search(r'class="changelink"[^>]*>変更</a>', page)
