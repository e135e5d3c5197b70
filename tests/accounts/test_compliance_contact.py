"""Each division's compliance contact is a current member of that division: checked when
named (model, service and admin), cleared by a transfer, and checked again when used."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from apps.accounts.models import Division, DivisionCode
from apps.administration.services import division_set_compliance_contact, user_transfer
from apps.audit.models import AuditAction, AuditEvent
from apps.core.errors import NotAllowed
from tests.conftest import _person

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])

JAPANESE_REFUSAL = "コンプライアンス責任者には、現在送配電部門に所属している人を指定してください。"


def _td_contact_id() -> int | None:
    return Division.objects.get(code=DivisionCode.TD).compliance_contact_id


def test_a_retail_user_cannot_be_named_the_td_compliance_contact(administrator, retail_user):
    with translation.override("ja"), pytest.raises(ValidationError) as refused:
        division_set_compliance_contact(
            acting_user=administrator, division="td", contact_id=retail_user.pk
        )

    assert refused.value.message_dict["compliance_contact"] == [JAPANESE_REFUSAL]
    assert _td_contact_id() is None
    assert not AuditEvent.objects.filter(action=AuditAction.CONFIGURATION_CHANGED).exists()


def test_the_model_itself_refuses_a_contact_of_another_division(retail_user):
    division = Division.objects.get(code=DivisionCode.TD)
    division.compliance_contact = retail_user

    with pytest.raises(ValidationError) as refused:
        division.full_clean()

    assert list(refused.value.message_dict) == ["compliance_contact"]


def test_a_member_of_the_division_is_named_and_the_change_audited(
    administrator, supervisor, retail_user
):
    division_set_compliance_contact(
        acting_user=administrator, division="td", contact_id=supervisor.pk
    )
    division_set_compliance_contact(
        acting_user=administrator, division="retail", contact_id=retail_user.pk
    )

    assert _td_contact_id() == supervisor.pk
    events = AuditEvent.objects.filter(action=AuditAction.CONFIGURATION_CHANGED).order_by("id")
    assert [(e.object_id, e.changed_fields, e.details["compliance_contact"]) for e in events] == [
        ("td", ["compliance_contact"], supervisor.pk),
        ("retail", ["compliance_contact"], retail_user.pk),
    ]


def test_only_administrators_name_a_compliance_contact(supervisor):
    with pytest.raises(NotAllowed):
        division_set_compliance_contact(
            acting_user=supervisor, division="td", contact_id=supervisor.pk
        )
    assert _td_contact_id() is None


def test_the_admin_refuses_a_contact_of_another_division_with_a_clear_error(client, retail_user):
    root = _person("root", "admin", "administrator", is_superuser=True)
    client.force_login(root)

    with translation.override("ja"):
        response = client.post(
            reverse("admin:accounts_division_change", args=["td"]),
            {"code": "td", "compliance_contact": str(retail_user.pk)},
            HTTP_ACCEPT_LANGUAGE="ja",
        )

    assert response.status_code == 200  # the form again, with the error
    assert JAPANESE_REFUSAL in response.content.decode()
    assert _td_contact_id() is None


def test_a_transfer_clears_the_compliance_contact_post_and_records_it(administrator, supervisor):
    division_set_compliance_contact(
        acting_user=administrator, division="td", contact_id=supervisor.pk
    )

    user_transfer(acting_user=administrator, user_id=supervisor.pk, to_division="retail")

    assert _td_contact_id() is None
    transfer = AuditEvent.objects.get(action=AuditAction.USER_TRANSFERRED)
    assert transfer.details["compliance_contact_cleared"] == ["td"]
    cleared = AuditEvent.objects.filter(
        action=AuditAction.CONFIGURATION_CHANGED, details__via="transfer"
    ).get()
    assert cleared.object_id == "td" and cleared.details["previous"] == supervisor.pk
