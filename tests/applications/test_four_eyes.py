"""The second-person check: whoever shaped the content cannot verify it."""

from __future__ import annotations

import re

import pytest

from apps.applications import services
from apps.applications.models import Application
from apps.core.errors import FourEyesViolation, NotAllowed
from apps.vocabulary.states import Contribution
from tests.conftest import _person, _superuser_outside_admin, advance

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


@pytest.fixture
def clerk_supervisor(db):
    """A T&D member who holds both roles: the person the four-eyes rule is about."""
    return _person("both_hats", "td", "clerk", "supervisor")


def _said(kind: Contribution) -> str:
    return re.escape(str(services.FOUR_EYES_MESSAGES[kind]))


def _review_and_verify(app: Application, user) -> Application:
    services.application_record_review_opened(acting_user=user, application_id=app.pk)
    return services.application_verify(
        acting_user=user, application_id=app.pk, expected_version=app.version
    )


def _assert_not_verified(app: Application) -> None:
    app.refresh_from_db()
    assert app.masking_state == "encoded"
    assert app.verified_by is None
    assert not app.is_retail_visible


def test_supervisor_cannot_verify_an_application_they_created(clerk_supervisor, clerk, retailer):
    from tests.factories import application_input

    app = services.application_create(
        acting_user=clerk_supervisor, data=application_input(retailer)
    )
    app = services.application_submit(acting_user=clerk, application_id=app.pk)
    app = services.application_encode(acting_user=clerk, application_id=app.pk)

    with pytest.raises(FourEyesViolation, match=_said(Contribution.CREATED)):
        _review_and_verify(app, clerk_supervisor)
    _assert_not_verified(app)


def test_supervisor_cannot_verify_an_application_they_submitted(
    new_application, clerk, clerk_supervisor
):
    app = new_application()
    app = services.application_submit(acting_user=clerk_supervisor, application_id=app.pk)
    app = services.application_encode(acting_user=clerk, application_id=app.pk)

    with pytest.raises(FourEyesViolation, match=_said(Contribution.SUBMITTED)):
        _review_and_verify(app, clerk_supervisor)
    _assert_not_verified(app)


def test_supervisor_cannot_verify_an_application_they_encoded(
    new_application, clerk, clerk_supervisor
):
    app = advance(new_application(), "entered", clerk=clerk, supervisor=clerk_supervisor)
    app = services.application_encode(acting_user=clerk_supervisor, application_id=app.pk)

    with pytest.raises(FourEyesViolation, match=_said(Contribution.ENCODED)):
        _review_and_verify(app, clerk_supervisor)
    _assert_not_verified(app)


def test_supervisor_cannot_verify_after_their_own_edit_following_encode(
    new_application, clerk, clerk_supervisor
):
    # given an application encoded by someone else
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=clerk_supervisor)
    # when the supervisor edits it (which invalidates the encoding) and the clerk re-encodes
    app = services.application_update(
        acting_user=clerk_supervisor,
        application_id=app.pk,
        expected_version=app.version,
        changes={"remarks": "引込線の位置を変更"},
    )
    assert app.state == "entered" and app.masking_state == "unmasked"
    app = services.application_encode(acting_user=clerk, application_id=app.pk)

    # then the supervisor still cannot verify the version they shaped
    with pytest.raises(FourEyesViolation, match=_said(Contribution.EDITED)):
        _review_and_verify(app, clerk_supervisor)
    _assert_not_verified(app)


def test_superuser_is_bound_by_the_four_eyes_rule(clerk, retailer):
    from tests.factories import application_input

    boss = _superuser_outside_admin("td_superuser", "td", "clerk", "supervisor")
    app = services.application_create(acting_user=boss, data=application_input(retailer))
    app = advance(app, "encoded", clerk=clerk, supervisor=boss)

    with pytest.raises(FourEyesViolation):
        _review_and_verify(app, boss)
    _assert_not_verified(app)


def test_superuser_outside_td_cannot_verify_at_all(new_application, clerk, supervisor):
    root = _person("root_admin", "admin", "administrator", is_superuser=True)
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)

    with pytest.raises(NotAllowed):
        _review_and_verify(app, root)
    _assert_not_verified(app)


def test_verification_needs_the_review_page_opened_for_this_version(
    new_application, clerk, supervisor
):
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)

    with pytest.raises(NotAllowed) as refused:
        services.application_verify(
            acting_user=supervisor, application_id=app.pk, expected_version=app.version
        )
    assert refused.value.code == "not_reviewed"
    _assert_not_verified(app)


def test_review_opened_for_an_older_version_does_not_count(new_application, clerk, supervisor):
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    services.application_record_review_opened(acting_user=supervisor, application_id=app.pk)
    app = services.application_update(
        acting_user=clerk,
        application_id=app.pk,
        expected_version=app.version,
        changes={"contract_capacity_kw": "8.0"},
    )
    app = services.application_encode(acting_user=clerk, application_id=app.pk)

    with pytest.raises(NotAllowed) as refused:
        services.application_verify(
            acting_user=supervisor, application_id=app.pk, expected_version=app.version
        )
    assert refused.value.code == "not_reviewed"
    _assert_not_verified(app)


def test_a_different_supervisor_who_opened_the_review_can_verify(
    new_application, clerk, supervisor
):
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)

    app = _review_and_verify(app, supervisor)

    assert app.state == "verified"
    assert app.masking_state == "verified"
    assert app.verified_by == supervisor
    assert app.verified_version == app.version
    assert app.is_retail_visible


def test_a_review_opened_before_a_return_does_not_count_for_the_re_encoding(
    new_application, clerk, supervisor
):
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    services.application_record_review_opened(acting_user=supervisor, application_id=app.pk)
    services.application_return(acting_user=supervisor, application_id=app.pk, reason="確認のため")
    app = services.application_encode(acting_user=clerk, application_id=app.pk)  # same version

    with pytest.raises(NotAllowed) as refused:
        services.application_verify(
            acting_user=supervisor, application_id=app.pk, expected_version=app.version
        )
    assert refused.value.code == "not_reviewed"
