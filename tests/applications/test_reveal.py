"""Reading personal data: T&D only, at the moment of the read, always with a logged purpose."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.administration.services import user_transfer
from apps.applications.reveal import application_reveal_customer
from apps.applications.services._common import outside_td
from apps.audit.models import AuditAction, AuditEvent
from apps.core.errors import NotAllowed, WrongState
from tests.conftest import advance

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


def test_construction_reveals_contact_details_with_a_reason_code_and_it_is_logged(
    new_application, clerk, supervisor, construction
):
    app = advance(new_application(), "released", clerk=clerk, supervisor=supervisor)

    pii = application_reveal_customer(
        acting_user=construction, application_id=app.pk, purpose="site_access"
    )

    assert pii.name.startswith("見本")
    event = AuditEvent.objects.for_object(app).filter(action=AuditAction.PII_READ).get()
    assert event.actor == construction
    assert event.details == {
        "purpose": "site_access",
        "fields": ["name", "name_kana", "phone", "email"],
    }
    assert event.actor_division == "td"


def test_other_reason_text_is_kept_with_the_event(new_application, clerk, supervisor, construction):
    app = advance(new_application(), "released", clerk=clerk, supervisor=supervisor)

    application_reveal_customer(
        acting_user=construction,
        application_id=app.pk,
        purpose="other",
        reason_text="停電作業の事前連絡",
    )

    event = AuditEvent.objects.filter(action=AuditAction.PII_READ).get()
    assert event.reason == "停電作業の事前連絡"


def test_construction_cannot_use_a_work_page_purpose(
    new_application, clerk, supervisor, construction
):
    app = advance(new_application(), "released", clerk=clerk, supervisor=supervisor)

    with pytest.raises(NotAllowed):
        application_reveal_customer(
            acting_user=construction, application_id=app.pk, purpose="review"
        )
    assert not AuditEvent.objects.filter(action=AuditAction.PII_READ).exists()


def test_construction_sees_contact_details_only_for_released_work(new_application, construction):
    app = new_application()

    with pytest.raises(WrongState):
        application_reveal_customer(
            acting_user=construction, application_id=app.pk, purpose="scheduling"
        )


@pytest.mark.parametrize("persona", ["retail_user", "auditor", "administrator"])
def test_nobody_outside_td_can_reveal(request, new_application, persona):
    user = request.getfixturevalue(persona)
    app = new_application()

    with pytest.raises(NotAllowed):
        application_reveal_customer(acting_user=user, application_id=app.pk, purpose="scheduling")
    assert not AuditEvent.objects.filter(action=AuditAction.PII_READ).exists()


def test_a_transferred_user_is_refused_at_the_moment_of_the_read_even_with_stale_roles(
    new_application, clerk, supervisor, construction, administrator
):
    app = advance(new_application(), "released", clerk=clerk, supervisor=supervisor)
    user_transfer(acting_user=administrator, user_id=construction.pk, to_division="retail")
    # Simulate a stale role left behind by some other path: re-add the group directly.
    from apps.accounts.models import Role

    construction.groups.add(Role.objects.get(code="construction").group)
    construction = type(construction).objects.get(pk=construction.pk)

    with pytest.raises(NotAllowed):
        application_reveal_customer(
            acting_user=construction, application_id=app.pk, purpose="scheduling"
        )


def test_a_transferred_user_asking_for_a_missing_application_is_refused_as_an_outsider(
    new_application, clerk, administrator
):
    from apps.accounts.models import Role

    user_transfer(acting_user=administrator, user_id=clerk.pk, to_division="retail")
    clerk.groups.add(Role.objects.get(code="clerk").group)  # a stale role, as above
    clerk = type(clerk).objects.get(pk=clerk.pk)

    with pytest.raises(NotAllowed) as refused:
        application_reveal_customer(acting_user=clerk, application_id=10**9, purpose="encode")
    assert str(refused.value.message) == str(outside_td().message)  # not "does not exist"


def test_the_division_is_read_with_the_application_not_on_its_own(new_application, clerk):
    app = new_application()
    clerk = type(clerk).objects.get(pk=clerk.pk)
    clerk.has_perm("applications.reveal_customer")  # the permissions a request has loaded

    with CaptureQueriesContext(connection) as queries:
        application_reveal_customer(acting_user=clerk, application_id=app.pk, purpose="encode")

    # The audit event's INSERT reads the actor's division too (apps.audit.snapshot).
    reads = [q["sql"] for q in queries if q["sql"].startswith("SELECT")]
    membership = [sql for sql in reads if "accounts_divisionmembership" in sql]
    assert len(membership) == 1
    assert '"applications_application"' in membership[0]
