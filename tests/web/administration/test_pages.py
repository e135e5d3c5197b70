"""The administrators' pages: the affiliation change by two administrators, users
(list, creation, deactivation) and the transfer with its confirmation."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from apps.accounts.models import User
from apps.audit.models import AuditAction, AuditEvent
from apps.retailers.models import AffiliationProposal, ProposalStatus
from apps.retailers.services import retailer_propose_affiliation
from tests.conftest import PASSWORD, advance

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _proposal(administrator, retailer) -> AffiliationProposal:
    return retailer_propose_affiliation(
        acting_user=administrator, retailer_id=retailer.pk, make_affiliated=True, reason="資本提携"
    )


# --- the affiliation change ---------------------------------------------------------------


def test_an_administrator_proposes_from_the_retailers_page_with_a_reason(administrator, retailer):
    client = _client(administrator)
    url = reverse("admin-retailer", args=[retailer.pk])
    assert 'data-testid="propose-affiliation-form"' in client.get(url).content.decode()

    response = client.post(url, {"make_affiliated": "true", "reason": "資本提携の契約書による"})

    proposal = AffiliationProposal.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin-affiliation", args=[proposal.pk])
    assert (proposal.make_affiliated, proposal.proposed_by, proposal.reason) == (
        True,
        administrator,
        "資本提携の契約書による",
    )


def test_a_proposal_without_a_reason_stores_nothing_and_shows_the_error_at_the_reason(
    administrator, retailer
):
    response = _client(administrator).post(
        reverse("admin-retailer", args=[retailer.pk]), {"make_affiliated": "true", "reason": ""}
    )

    assert response.status_code == 200
    assert 'class="field has-error" data-field="reason"' in response.content.decode()
    assert not AffiliationProposal.objects.exists()


def test_a_proposal_made_on_a_stale_page_is_refused_not_inverted(administrator, retailer):
    # The page offered "make affiliated"; the retailer is not affiliated, so asking to make
    # it not affiliated (what a stale page of an affiliated retailer would send) is refused.
    response = _client(administrator).post(
        reverse("admin-retailer", args=[retailer.pk]), {"make_affiliated": "false", "reason": "x"}
    )

    assert response.status_code == 200
    assert 'class="errors" role="alert"' in response.content.decode()
    assert not AffiliationProposal.objects.exists()


def test_the_proposer_sees_no_approve_button_and_a_forged_approval_is_refused(
    administrator, retailer
):
    proposal = _proposal(administrator, retailer)
    client = _client(administrator)
    url = reverse("admin-affiliation", args=[proposal.pk])

    page = client.get(url).content.decode()
    forged = client.post(url, {"decision": "approve"})

    assert 'data-testid="own-proposal"' in page
    assert 'data-testid="approve-affiliation-form"' not in page
    assert forged.status_code == 403
    proposal.refresh_from_db()
    retailer.refresh_from_db()
    assert proposal.status == ProposalStatus.PENDING
    assert retailer.is_affiliated is False


def test_a_second_administrator_approves_and_sees_which_applications_were_withdrawn(
    administrator, administrator2, retailer, new_application, clerk, supervisor
):
    visible = advance(new_application(), "verified", clerk=clerk, supervisor=supervisor)
    proposal = _proposal(administrator, retailer)
    client = _client(administrator2)
    url = reverse("admin-affiliation", args=[proposal.pk])
    assert 'data-testid="approve-affiliation-form"' in client.get(url).content.decode()

    response = client.post(url, {"decision": "approve"}, follow=True)

    retailer.refresh_from_db()
    visible.refresh_from_db()
    page = response.content.decode()
    assert retailer.is_affiliated is True
    assert visible.masking_state == "unmasked"
    assert 'data-testid="withdrawn"' in page
    assert str(visible.reference) in page


def test_a_second_administrator_rejects_and_nothing_changes(
    administrator, administrator2, retailer
):
    proposal = _proposal(administrator, retailer)

    response = _client(administrator2).post(
        reverse("admin-affiliation", args=[proposal.pk]), {"decision": "reject"}
    )

    proposal.refresh_from_db()
    retailer.refresh_from_db()
    assert response.status_code == 302
    assert proposal.status == ProposalStatus.REJECTED
    assert retailer.is_affiliated is False


def test_the_pending_list_offers_the_decision_to_others_only(
    administrator, administrator2, retailer
):
    proposal = _proposal(administrator, retailer)

    own = _client(administrator).get(reverse("admin-affiliations")).content.decode()
    other = _client(administrator2).get(reverse("admin-affiliations")).content.decode()

    assert f'data-proposal="{proposal.pk}"' in own
    assert "承認・却下" not in own
    assert "承認・却下" in other


# --- users --------------------------------------------------------------------------------


def test_the_user_list_shows_names_family_name_first_and_filters_by_division(
    administrator, clerk, retail_user
):
    User.objects.filter(pk=clerk.pk).update(last_name="佐藤", first_name="一郎")

    everyone = _client(administrator).get(reverse("admin-users")).content.decode()
    retail = _client(administrator).get(reverse("admin-users"), {"division": "retail"})

    assert "佐藤 一郎" in everyone
    assert 'data-user="kouri_watanabe"' in retail.content.decode()
    assert 'data-user="clerk_sato"' not in retail.content.decode()


def test_an_administrator_creates_a_user_without_choosing_a_password(administrator):
    response = _client(administrator).post(
        reverse("admin-user-create"),
        {
            "username": "uketsuke_hanako",
            "last_name": "受付",
            "first_name": "花子",
            "email": "hanako@example.invalid",
            "division": "td",
            "roles": ["clerk"],
        },
    )

    user = User.objects.get(username="uketsuke_hanako")
    assert response.status_code == 302
    assert response["Location"] == reverse("admin-user", args=[user.pk])
    assert (user.division_at(), user.role_codes(), user.display_name) == (
        "td",
        ["clerk"],
        "受付 花子",
    )
    assert not user.has_usable_password()


def test_a_role_of_another_division_keeps_the_input_and_creates_nothing(administrator):
    response = _client(administrator).post(
        reverse("admin-user-create"),
        {
            "username": "kouri_taro",
            "last_name": "小売",
            "first_name": "太郎",
            "division": "retail",
            "roles": ["clerk"],
        },
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert 'class="field has-error" data-field="roles"' in page
    assert 'value="kouri_taro"' in page
    assert not User.objects.filter(username="kouri_taro").exists()


def test_deactivating_a_user_from_the_page_ends_their_sign_in(administrator, clerk):
    response = _client(administrator).post(reverse("admin-user-deactivate", args=[clerk.pk]))

    assert response.status_code == 302
    assert not User.objects.get(pk=clerk.pk).is_active
    assert not Client().login(username=clerk.username, password=PASSWORD)


# --- the transfer -------------------------------------------------------------------------


def test_the_first_transfer_post_only_shows_what_will_be_removed(administrator, supervisor):
    client = _client(administrator)

    response = client.post(
        reverse("admin-user-transfer", args=[supervisor.pk]),
        {"to_division": "audit", "roles": ["auditor"]},
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="confirm-transfer-form"' in page
    assert 'data-testid="transfer-removes"' in page
    assert supervisor.division_at() == "td"
    assert not AuditEvent.objects.filter(action=AuditAction.USER_TRANSFERRED).exists()


def test_a_confirmed_transfer_moves_the_user_with_the_new_roles(administrator, supervisor):
    response = _client(administrator).post(
        reverse("admin-user-transfer", args=[supervisor.pk]),
        {"to_division": "audit", "roles": ["auditor"], "confirmed": "True"},
    )

    moved = User.objects.get(pk=supervisor.pk)
    assert response.status_code == 200
    assert 'data-testid="transfer-done"' in response.content.decode()
    assert (moved.division_at(), moved.role_codes()) == ("audit", ["auditor"])


def test_a_transfer_to_a_role_of_another_division_is_refused_with_the_error_at_the_roles(
    administrator, supervisor
):
    response = _client(administrator).post(
        reverse("admin-user-transfer", args=[supervisor.pk]),
        {"to_division": "audit", "roles": ["retail"], "confirmed": "True"},
    )

    assert 'class="field has-error" data-field="roles"' in response.content.decode()
    assert supervisor.division_at() == "td"


def test_roles_of_the_current_division_are_set_on_the_users_page(administrator, clerk):
    response = _client(administrator).post(
        reverse("admin-user", args=[clerk.pk]), {"roles": ["supervisor"]}
    )

    assert response.status_code == 302
    assert User.objects.get(pk=clerk.pk).role_codes() == ["supervisor"]
    actions = list(
        AuditEvent.objects.filter(
            object_id=str(clerk.pk), action__in=[AuditAction.ROLE_GRANTED, AuditAction.ROLE_REVOKED]
        ).values_list("action", "details__role")
    )
    assert (AuditAction.ROLE_REVOKED, "clerk") in actions
    assert (AuditAction.ROLE_GRANTED, "supervisor") in actions


def test_a_role_of_another_division_is_not_offered_and_not_accepted_on_the_users_page(
    administrator, clerk
):
    client = _client(administrator)

    page = client.get(reverse("admin-user", args=[clerk.pk])).content.decode()
    response = client.post(reverse("admin-user", args=[clerk.pk]), {"roles": ["auditor"]})

    assert 'value="auditor"' not in page
    assert response.status_code == 200
    assert User.objects.get(pk=clerk.pk).role_codes() == ["clerk"]


def test_the_password_reset_pages_name_people_family_name_first(administrator, clerk):
    from apps.administration.password_reset import user_propose_password_reset

    User.objects.filter(pk=clerk.pk).update(last_name="佐藤", first_name="一郎")
    request = user_propose_password_reset(
        acting_user=administrator, user_id=clerk.pk, reason="失念"
    )

    listing = _client(administrator).get(reverse("admin-password-resets")).content.decode()
    detail = _client(administrator).get(reverse("admin-password-reset", args=[request.pk]))

    assert "<td>佐藤 一郎</td>" in listing
    assert "<dd>佐藤 一郎</dd>" in detail.content.decode()


def test_the_administrators_home_links_their_pages_and_counts_what_waits(
    administrator, administrator2, retailer
):
    _proposal(administrator2, retailer)

    page = _client(administrator).get(reverse("home")).content.decode()
    section = page.split('data-testid="administration"')[1]

    for name in ("admin-users", "admin-user-create", "admin-retailers", "admin-affiliations"):
        assert f'href="{reverse(name)}"' in section
    assert "1 件待ち" in section
