"""Who counts as affiliated changes only with two administrators."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from apps.audit.models import AuditAction, AuditEvent
from apps.core.errors import FourEyesViolation, NotAllowed, WrongState
from apps.retailers.models import AffiliationProposal, Retailer
from apps.retailers.services import (
    REASON_MAX_LENGTH,
    retailer_create,
    retailer_decide_affiliation,
    retailer_propose_affiliation,
)
from tests.conftest import advance

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


@pytest.fixture
def shin_denryoku(administrator) -> Retailer:
    return retailer_create(acting_user=administrator, code="a0099", name="ひがし新電力")


def test_a_new_retailer_is_never_affiliated(shin_denryoku):
    assert shin_denryoku.code == "A0099"
    assert shin_denryoku.is_affiliated is False


def test_affiliation_needs_a_second_administrator(administrator, administrator2, shin_denryoku):
    proposal = retailer_propose_affiliation(
        acting_user=administrator,
        retailer_id=shin_denryoku.pk,
        make_affiliated=True,
        reason="グループ会社化",
    )
    with pytest.raises(FourEyesViolation):
        retailer_decide_affiliation(
            acting_user=administrator, proposal_id=proposal.pk, approve=True
        )
    shin_denryoku.refresh_from_db()
    assert shin_denryoku.is_affiliated is False

    retailer_decide_affiliation(acting_user=administrator2, proposal_id=proposal.pk, approve=True)

    shin_denryoku.refresh_from_db()
    assert shin_denryoku.is_affiliated is True
    assert list(AuditEvent.objects.for_object(shin_denryoku).values_list("action", flat=True)) == [
        AuditAction.RETAILER_CREATED,
        AuditAction.AFFILIATION_PROPOSED,
        AuditAction.AFFILIATION_APPROVED,
    ]


def test_a_rejected_proposal_changes_nothing(administrator, administrator2, shin_denryoku):
    proposal = retailer_propose_affiliation(
        acting_user=administrator, retailer_id=shin_denryoku.pk, make_affiliated=True, reason="誤り"
    )
    retailer_decide_affiliation(acting_user=administrator2, proposal_id=proposal.pk, approve=False)

    shin_denryoku.refresh_from_db()
    assert shin_denryoku.is_affiliated is False
    with pytest.raises(WrongState):
        retailer_decide_affiliation(
            acting_user=administrator2, proposal_id=proposal.pk, approve=True
        )


def test_only_one_pending_proposal_per_retailer(administrator, shin_denryoku):
    retailer_propose_affiliation(
        acting_user=administrator, retailer_id=shin_denryoku.pk, make_affiliated=True, reason="a"
    )
    with pytest.raises(WrongState):
        retailer_propose_affiliation(
            acting_user=administrator,
            retailer_id=shin_denryoku.pk,
            make_affiliated=True,
            reason="b",
        )


def test_people_outside_administration_cannot_propose(supervisor, shin_denryoku):
    with pytest.raises(NotAllowed):
        retailer_propose_affiliation(
            acting_user=supervisor, retailer_id=shin_denryoku.pk, make_affiliated=True, reason="x"
        )


# --- what an approval withdrew ------------------------------------------------------------


def _propose_and_approve(proposer, approver, retailer, *, approve=True):
    proposal = retailer_propose_affiliation(
        acting_user=proposer, retailer_id=retailer.pk, make_affiliated=True, reason="資本提携"
    )
    return retailer_decide_affiliation(
        acting_user=approver, proposal_id=proposal.pk, approve=approve
    )


def test_an_approval_records_each_application_it_withdrew_and_whether_retail_saw_it(
    administrator, administrator2, retailer, new_application, clerk, supervisor
):
    # given: one application visible to retail, one encoded, one not yet encoded
    visible = advance(new_application(), "verified", clerk=clerk, supervisor=supervisor)
    encoded = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    advance(new_application(), "entered", clerk=clerk, supervisor=supervisor)

    # when
    proposal = _propose_and_approve(administrator, administrator2, retailer)

    # then
    proposal.refresh_from_db()
    assert proposal.withdrawn == [
        {"application": visible.pk, "reference": visible.reference, "was_visible": True},
        {"application": encoded.pk, "reference": encoded.reference, "was_visible": False},
    ]
    approved = AuditEvent.objects.filter(action=AuditAction.AFFILIATION_APPROVED).get()
    assert approved.details["applications_withdrawn"] == [visible.pk, encoded.pk]


def test_a_rejection_withdraws_nothing_and_records_nothing_withdrawn(
    administrator, administrator2, retailer, new_application, clerk, supervisor
):
    visible = advance(new_application(), "verified", clerk=clerk, supervisor=supervisor)

    proposal = _propose_and_approve(administrator, administrator2, retailer, approve=False)

    proposal.refresh_from_db()
    visible.refresh_from_db()
    assert proposal.withdrawn == []
    assert visible.masking_state == "verified"


def test_a_reason_longer_than_the_limit_is_refused_and_nothing_is_stored(
    administrator, shin_denryoku
):
    with pytest.raises(ValidationError) as refused:
        retailer_propose_affiliation(
            acting_user=administrator,
            retailer_id=shin_denryoku.pk,
            make_affiliated=True,
            reason="理" * (REASON_MAX_LENGTH + 1),
        )

    assert "reason" in refused.value.error_dict
    assert not AffiliationProposal.objects.exists()
