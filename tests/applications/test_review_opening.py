"""Opening the side-by-side review (`application_open_review`): the opening and the read of
the customer under one row lock, recorded exactly as the two calls the page made before
(`application_record_review_opened`, then `application_reveal_customer(purpose=review)`),
with the same refusals, before anything is written."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import Role
from apps.administration.services import user_transfer
from apps.applications import services
from apps.applications.models import Application, ReviewOpening
from apps.applications.reveal import application_reveal_customer
from apps.applications.services import _common
from apps.applications.services._common import outside_td
from apps.audit.models import AuditAction, AuditEvent
from apps.core.errors import FourEyesViolation, NotAllowed, NotFound, WrongState
from apps.vault.errors import VaultRecordErased
from apps.vault.services import vault_read
from tests.conftest import _person, advance

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])

# What an audit event says, beyond its time, id and chain.
SAID = (
    "action",
    "actor_id",
    "actor_division",
    "actor_roles",
    "object_type",
    "object_label",
    "changed_fields",
    "details",
    "reason",
)


@pytest.fixture
def encoded(new_application, clerk, supervisor):
    def make() -> Application:
        return advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)

    return make


def _events(app: Application) -> list[tuple]:
    return [
        tuple(getattr(event, name) for name in SAID)
        for event in AuditEvent.objects.for_object(app).order_by("id")
        if event.action in (AuditAction.APPLICATION_REVIEW_OPENED, AuditAction.PII_READ)
    ]


def _nothing_written(app_pk: int, events_before: int) -> None:
    assert not ReviewOpening.objects.filter(application_id=app_pk).exists()
    assert AuditEvent.objects.count() == events_before


def test_the_opening_and_the_read_are_recorded_as_the_two_calls_recorded_them(encoded, supervisor2):
    before, after = encoded(), encoded()
    services.application_record_review_opened(acting_user=supervisor2, application_id=before.pk)
    old = application_reveal_customer(
        acting_user=supervisor2, application_id=before.pk, purpose="review"
    )

    opened = services.application_open_review(acting_user=supervisor2, application_id=after.pk)

    assert opened.customer == vault_read(after.customer_ref)
    assert old == vault_read(before.customer_ref)
    assert opened.customer_withheld == ""
    assert opened.cannot_verify == ""
    assert ReviewOpening.objects.filter(
        application=after, version=after.version, user=supervisor2
    ).exists()
    labels = {before.reference: "ref", after.reference: "ref"}
    old_events = [(*e[:5], labels[e[5]], *e[6:]) for e in _events(before)]
    new_events = [(*e[:5], labels[e[5]], *e[6:]) for e in _events(after)]
    assert [e[0] for e in new_events] == [
        AuditAction.APPLICATION_REVIEW_OPENED,
        AuditAction.PII_READ,
    ]
    assert new_events == old_events


def test_the_page_gets_the_locked_version_with_the_people_it_names_and_no_further_read(
    encoded, clerk, supervisor2
):
    app = encoded()

    opened = services.application_open_review(acting_user=supervisor2, application_id=app.pk)

    with CaptureQueriesContext(connection) as queries:
        shown = opened.application
        encoder = shown.encoded_by
        names = (shown.created_by.username, encoder and encoder.username, shown.retailer.code)
    assert len(queries) == 0
    assert names == (clerk.username, clerk.username, app.retailer.code)
    assert shown.version == app.version


def test_opening_verifies_like_the_separate_opening(encoded, supervisor2):
    app = encoded()
    services.application_open_review(acting_user=supervisor2, application_id=app.pk)

    verified = services.application_verify(
        acting_user=supervisor2, application_id=app.pk, expected_version=app.version
    )

    assert verified.masking_state == "verified"


@pytest.mark.parametrize("missing", [False, True])
def test_someone_transferred_out_of_td_is_refused_before_anything_even_for_a_missing_id(
    encoded, supervisor2, administrator, missing
):
    app = encoded()
    user_transfer(acting_user=administrator, user_id=supervisor2.pk, to_division="retail")
    supervisor2.groups.add(Role.objects.get(code="supervisor").group)  # a stale role
    stale = type(supervisor2).objects.get(pk=supervisor2.pk)
    events = AuditEvent.objects.count()

    with pytest.raises(NotAllowed) as refused:
        services.application_open_review(
            acting_user=stale, application_id=10**9 if missing else app.pk
        )

    assert str(refused.value.message) == str(outside_td().message)
    _nothing_written(app.pk, events)


@pytest.mark.parametrize("persona", ["clerk", "retail_user", "auditor", "administrator"])
def test_a_person_without_the_supervisor_role_is_refused_before_anything(request, encoded, persona):
    app = encoded()
    user = request.getfixturevalue(persona)
    events = AuditEvent.objects.count()

    with pytest.raises(NotAllowed):
        services.application_open_review(acting_user=user, application_id=app.pk)

    _nothing_written(app.pk, events)


def test_a_missing_application_is_not_found(supervisor):
    with pytest.raises(NotFound):
        services.application_open_review(acting_user=supervisor, application_id=10**9)


def test_an_application_not_waiting_is_refused_before_anything(new_application, clerk, supervisor):
    app = advance(new_application(), "entered", clerk=clerk, supervisor=supervisor)
    events = AuditEvent.objects.count()

    with pytest.raises(WrongState):
        services.application_open_review(acting_user=supervisor, application_id=app.pk)

    _nothing_written(app.pk, events)


def test_a_role_without_the_read_opens_the_review_without_the_customer(encoded, supervisor2):
    app = encoded()
    Role.objects.get(code="supervisor").group.permissions.remove(
        Permission.objects.get(codename="reveal_customer")
    )
    reader = type(supervisor2).objects.get(pk=supervisor2.pk)
    with pytest.raises(NotAllowed) as old:
        application_reveal_customer(acting_user=reader, application_id=app.pk, purpose="review")

    opened = services.application_open_review(acting_user=reader, application_id=app.pk)

    assert opened.customer is None
    assert str(opened.customer_withheld) == str(old.value.message)
    assert ReviewOpening.objects.filter(application=app, user=reader).exists()
    assert [e[0] for e in _events(app)] == [AuditAction.APPLICATION_REVIEW_OPENED]


def test_a_vault_failure_leaves_the_opening_and_no_read_as_before(
    encoded, supervisor2, monkeypatch
):
    app = encoded()

    def erased(record_id):
        raise VaultRecordErased(record_id=record_id)

    monkeypatch.setattr(_common, "vault_read", erased)

    with pytest.raises(VaultRecordErased):
        services.application_open_review(acting_user=supervisor2, application_id=app.pk)

    assert ReviewOpening.objects.filter(application=app, user=supervisor2).exists()
    assert [e[0] for e in _events(app)] == [AuditAction.APPLICATION_REVIEW_OPENED]


@pytest.fixture
def clerk_supervisor(db):
    return _person("both_hats", "td", "clerk", "supervisor")


@pytest.mark.parametrize("shaped", ["created", "submitted", "encoded", "edited", "nothing"])
def test_the_four_eyes_answer_is_check_four_eyes_answer(
    new_application, clerk, clerk_supervisor, retailer, shaped
):
    from tests.factories import application_input

    by = {
        step: (clerk_supervisor if step == shaped else clerk) for step in ("created", "submitted")
    }
    app = services.application_create(acting_user=by["created"], data=application_input(retailer))
    app = services.application_submit(acting_user=by["submitted"], application_id=app.pk)
    if shaped == "edited":
        app = services.application_update(
            acting_user=clerk_supervisor,
            application_id=app.pk,
            expected_version=app.version,
            changes={"remarks": "北側に引込柱"},
        )
    encoder = clerk_supervisor if shaped == "encoded" else clerk
    app = services.application_encode(acting_user=encoder, application_id=app.pk)
    try:
        services.check_four_eyes(app, clerk_supervisor)
        expected = ""
    except FourEyesViolation as refused:
        expected = str(refused.message)

    opened = services.application_open_review(acting_user=clerk_supervisor, application_id=app.pk)

    assert str(opened.cannot_verify) == expected
    assert (expected == "") == (shaped == "nothing")
