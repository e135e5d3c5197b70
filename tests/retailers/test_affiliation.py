"""Who counts as affiliated changes only with two administrators."""

from __future__ import annotations

import pytest

from apps.audit.models import AuditAction, AuditEvent
from apps.core.errors import FourEyesViolation, NotAllowed, WrongState
from apps.retailers.models import Retailer
from apps.retailers.services import (
    retailer_create,
    retailer_decide_affiliation,
    retailer_propose_affiliation,
)

pytestmark = pytest.mark.django_db(databases=["default", "vault"])


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
