"""Reading personal data: T&D only, at the moment of the read, always with a logged purpose."""

from __future__ import annotations

import pytest

from apps.administration.services import user_transfer
from apps.applications.reveal import application_reveal_customer
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
