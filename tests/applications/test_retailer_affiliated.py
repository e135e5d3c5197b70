"""The applications' copy of their retailer's affiliation (`Application.retailer_affiliated`),
which orders the clerk's "waiting to be encoded" list on an index: it follows the retailer
on every path that sets or changes one, so the list's order is the retailer's."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.applications import services
from apps.applications.models import Application
from apps.retailers.services import retailer_decide_affiliation, retailer_propose_affiliation
from tests.conftest import advance
from tests.factories import application_input, make_retailer

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


def _copies_agree() -> bool:
    rows = Application.objects.values_list("retailer_affiliated", "retailer__is_affiliated")
    return all(copy == actual for copy, actual in rows)


@pytest.fixture
def own(administrator, administrator2):
    """The company's own retail division, made affiliated by two administrators."""
    retailer = make_retailer(code="A0001", name="自社でんき")
    _decide(retailer, True, administrator, administrator2)
    return retailer


def _decide(retailer, affiliated: bool, proposer, approver) -> None:
    proposal = retailer_propose_affiliation(
        acting_user=proposer, retailer_id=retailer.pk, make_affiliated=affiliated, reason="組織変更"
    )
    retailer_decide_affiliation(acting_user=approver, proposal_id=proposal.pk, approve=True)


def test_a_new_application_takes_its_retailers_affiliation(clerk, own, new_application):
    mine = services.application_create(acting_user=clerk, data=application_input(own))
    other = new_application()

    assert (mine.retailer_affiliated, other.retailer_affiliated) == (True, False)
    assert _copies_agree()


def test_a_change_of_retailer_changes_the_copy(clerk, own, new_application):
    app = new_application()

    services.application_change_retailer(
        acting_user=clerk, application_id=app.pk, expected_version=app.version, retailer_id=own.pk
    )

    app.refresh_from_db()
    assert app.retailer_affiliated is True
    assert _copies_agree()


def test_an_affiliation_decision_changes_every_application_of_the_retailer(
    clerk, supervisor, administrator, administrator2, new_application
):
    retailer = make_retailer(code="B0077", name="みなみ新電力")
    waiting = services.application_create(acting_user=clerk, data=application_input(retailer))
    waiting = advance(waiting, "entered", clerk=clerk, supervisor=supervisor)
    draft = services.application_create(acting_user=clerk, data=application_input(retailer))
    untouched = new_application()

    _decide(retailer, True, administrator, administrator2)

    flags = dict(Application.objects.values_list("pk", "retailer_affiliated"))
    assert (flags[waiting.pk], flags[draft.pk], flags[untouched.pk]) == (True, True, False)
    assert _copies_agree()
    _decide(retailer, False, administrator2, administrator)
    assert not Application.objects.filter(retailer=retailer, retailer_affiliated=True).exists()


def test_the_encode_list_follows_a_retailer_that_becomes_affiliated(
    client, clerk, supervisor, administrator, administrator2, new_application
):
    retailer = make_retailer(code="B0078", name="きた新電力")
    older = advance(new_application(), "entered", clerk=clerk, supervisor=supervisor)
    newer = services.application_create(acting_user=clerk, data=application_input(retailer))
    newer = advance(newer, "entered", clerk=clerk, supervisor=supervisor)
    client.force_login(clerk)
    url = reverse("clerk-list") + "?state=to_encode"

    def order() -> list[int]:
        html = client.get(url).content.decode()
        return sorted((older.pk, newer.pk), key=lambda pk: html.index(f'data-application="{pk}"'))

    assert order() == [newer.pk, older.pk]  # both non-affiliated: newest first
    _decide(retailer, True, administrator, administrator2)
    assert order() == [older.pk, newer.pk]  # the affiliated one now after the other
