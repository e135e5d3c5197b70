"""The state machine of DESIGN.md, driven through the services."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import TransitionNotAllowed

from apps.accounts.models import DivisionCode
from apps.applications import services
from apps.applications.models import Application
from apps.applications.retail_reads import retail_application_list
from apps.audit.models import AuditAction, AuditEvent
from apps.core.errors import NotAllowed, StaleVersion, WrongState
from apps.vault.models import CustomerRecord
from apps.vault.services import vault_read
from tests.conftest import _superuser_outside_admin, advance, replicate
from tests.factories import application_input, make_retailer

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


def _actions(app: Application) -> list[str]:
    return list(AuditEvent.objects.for_object(app).values_list("action", flat=True))


def test_happy_path_reaches_energized_and_leaves_an_event_for_every_step(
    new_application, clerk, supervisor, construction
):
    app = advance(
        new_application(),
        "energized",
        clerk=clerk,
        supervisor=supervisor,
        construction=construction,
    )

    assert app.state == "energized"
    assert app.masking_state == "verified"
    assert app.completed_on == timezone.localdate()
    assert _actions(app) == [
        AuditAction.APPLICATION_CREATED,
        AuditAction.APPLICATION_SUBMITTED,
        AuditAction.APPLICATION_ENCODED,
        AuditAction.APPLICATION_REVIEW_OPENED,
        AuditAction.PERMISSION_GRANTED,
        AuditAction.APPLICATION_VERIFIED,
        AuditAction.APPLICATION_RELEASED,
        AuditAction.APPLICATION_COMPLETED,
        AuditAction.APPLICATION_ENERGIZED,
    ]


def test_every_event_snapshots_the_actors_division_and_roles(new_application, clerk):
    app = new_application()

    event = AuditEvent.objects.for_object(app).get()
    assert event.actor == clerk
    assert event.actor_division == "td"
    assert event.actor_roles == ["clerk"]
    assert "customer_phone" in event.changed_fields


def test_state_field_cannot_be_assigned_directly(new_application):
    app = new_application()

    with pytest.raises(AttributeError):
        app.state = "verified"


def test_model_transition_from_the_wrong_state_is_refused(new_application):
    app = new_application()

    with pytest.raises(TransitionNotAllowed):
        app.release()


def test_encode_requires_submission_first(new_application, clerk):
    app = new_application()

    with pytest.raises(WrongState):
        services.application_encode(acting_user=clerk, application_id=app.pk)


def test_release_only_after_verification(new_application, clerk, supervisor):
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)

    with pytest.raises(WrongState):
        services.application_release(acting_user=supervisor, application_id=app.pk)


def test_each_role_is_refused_the_steps_of_other_roles(
    new_application, clerk, supervisor, construction, retail_user, auditor
):
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)

    for user in (clerk, construction, retail_user, auditor):
        with pytest.raises(NotAllowed):
            services.application_record_review_opened(acting_user=user, application_id=app.pk)
    for user in (supervisor, construction, retail_user, auditor):
        with pytest.raises(NotAllowed):
            services.application_update(
                acting_user=user,
                application_id=app.pk,
                expected_version=app.version,
                changes={"remarks": "x"},
            )
    with pytest.raises(NotAllowed):
        services.application_complete(
            acting_user=clerk, application_id=app.pk, completed_on=timezone.localdate()
        )


def test_someone_outside_td_is_refused_every_step_before_anything_is_written(
    new_application, clerk, supervisor, retailer
):
    # given: a superuser in retail (every permission, the wrong division); the services
    # read the division in the transition's first statement, not in a check of its own
    outsider = _superuser_outside_admin("retail_root", "retail", "retail")
    entered = services.application_submit(acting_user=clerk, application_id=new_application().pk)
    events, records = AuditEvent.objects.count(), CustomerRecord.objects.count()
    applications = Application.objects.count()
    today = timezone.localdate()
    steps = {
        "create": lambda: services.application_create(
            acting_user=outsider, data=application_input(retailer)
        ),
        "create for no retailer": lambda: services.application_create(
            acting_user=outsider, data={**application_input(retailer), "retailer": 999_999}
        ),
        "submit": lambda: services.application_submit(
            acting_user=outsider, application_id=entered.pk
        ),
        "encode": lambda: services.application_encode(
            acting_user=outsider, application_id=entered.pk
        ),
        "review": lambda: services.application_record_review_opened(
            acting_user=outsider, application_id=entered.pk
        ),
        "verify": lambda: services.application_verify(
            acting_user=outsider, application_id=entered.pk, expected_version=entered.version
        ),
        "return": lambda: services.application_return(
            acting_user=outsider, application_id=entered.pk, reason="理由"
        ),
        "release": lambda: services.application_release(
            acting_user=outsider, application_id=entered.pk
        ),
        "complete": lambda: services.application_complete(
            acting_user=outsider, application_id=entered.pk, completed_on=today
        ),
        "cancel": lambda: services.application_cancel(
            acting_user=outsider, application_id=entered.pk, reason="理由"
        ),
        "discard": lambda: services.application_discard(
            acting_user=outsider, application_id=entered.pk
        ),
        # an id that does not exist: the same refusal, not "not found"
        "missing": lambda: services.application_submit(
            acting_user=outsider, application_id=entered.pk + 1000
        ),
    }

    outside = str(
        _("Only members of the %(division)s division may do this.")
        % {"division": DivisionCode.TD.label}
    )
    for name, step in steps.items():
        with pytest.raises(NotAllowed) as refused:
            step()
        assert str(refused.value) == outside, name

    assert AuditEvent.objects.count() == events
    assert CustomerRecord.objects.count() == records  # nothing stored in the vault
    assert Application.objects.count() == applications
    after = Application.objects.get(pk=entered.pk)
    assert (after.state, after.version, after.updated_at) == (
        entered.state,
        entered.version,
        entered.updated_at,
    )


def test_return_needs_a_reason_and_sends_the_application_back(new_application, clerk, supervisor):
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)

    with pytest.raises(ValidationError) as refused:
        services.application_return(acting_user=supervisor, application_id=app.pk, reason="  ")
    assert list(refused.value.message_dict) == ["reason"]
    app = services.application_return(
        acting_user=supervisor, application_id=app.pk, reason="備考に工事店の担当者名が必要です"
    )

    assert (app.state, app.masking_state) == ("entered", "unmasked")
    assert app.return_reason == "備考に工事店の担当者名が必要です"
    assert _actions(app)[-1] == AuditAction.APPLICATION_RETURNED


def test_edit_after_verification_withdraws_retail_visibility_in_the_same_transaction(
    new_application, clerk, supervisor, retail_user
):
    app = advance(new_application(), "verified", clerk=clerk, supervisor=supervisor)
    assert [r.reference for r in retail_application_list(user=retail_user)] == [app.reference]

    app = services.application_update(
        acting_user=clerk,
        application_id=app.pk,
        expected_version=app.version,
        changes={"customer_phone": "098-999-0000"},
    )

    assert (app.state, app.masking_state, app.version) == ("entered", "unmasked", 2)
    # the withdrawal was written in the edit's transaction; the relay applies it
    replicate()
    assert retail_application_list(user=retail_user) == []
    assert _actions(app)[-3:] == [
        AuditAction.PERMISSION_REVOKED,
        AuditAction.MASKING_INVALIDATED,
        AuditAction.APPLICATION_UPDATED,
    ]
    assert AuditEvent.objects.for_object(app).latest("id").changed_fields == ["customer_phone"]


def test_an_edit_that_changes_nothing_keeps_the_version_and_the_verification(
    new_application, clerk, supervisor
):
    app = advance(new_application(), "verified", clerk=clerk, supervisor=supervisor)

    same = services.application_update(
        acting_user=clerk,
        application_id=app.pk,
        expected_version=app.version,
        changes={"remarks": app.remarks, "customer_name": app_customer_name(app)},
    )

    assert (same.version, same.masking_state) == (1, "verified")


def test_retailer_switch_after_release_keeps_construction_progress_but_withdraws_visibility(
    new_application, clerk, supervisor, supervisor2, construction, retail_user
):
    app = advance(
        new_application(),
        "constructed",
        clerk=clerk,
        supervisor=supervisor,
        construction=construction,
    )
    other = make_retailer(code="B0007", name="にしかぜ電力")

    app = services.application_change_retailer(
        acting_user=clerk, application_id=app.pk, expected_version=app.version, retailer_id=other.pk
    )

    assert (app.state, app.masking_state) == ("constructed", "unmasked")
    replicate()
    assert retail_application_list(user=retail_user) == []
    # and a fresh encode + second-person check restores it, construction untouched
    app = services.application_encode(acting_user=clerk, application_id=app.pk)
    services.application_record_review_opened(acting_user=supervisor2, application_id=app.pk)
    app = services.application_verify(
        acting_user=supervisor2, application_id=app.pk, expected_version=app.version
    )
    assert (app.state, app.masking_state) == ("constructed", "verified")
    replicate()
    assert [r.retailer_code for r in retail_application_list(user=retail_user)] == ["B0007"]


def test_stale_version_is_refused(new_application, clerk, clerk2):
    app = new_application()
    services.application_update(
        acting_user=clerk2, application_id=app.pk, expected_version=1, changes={"remarks": "追記"}
    )

    with pytest.raises(StaleVersion):
        services.application_update(
            acting_user=clerk, application_id=app.pk, expected_version=1, changes={"remarks": "別"}
        )
    app.refresh_from_db()
    assert app.remarks == "追記"


def test_verify_names_the_version_the_supervisor_saw(new_application, clerk, supervisor):
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    services.application_record_review_opened(acting_user=supervisor, application_id=app.pk)

    with pytest.raises(StaleVersion):
        services.application_verify(
            acting_user=supervisor, application_id=app.pk, expected_version=app.version + 1
        )


def test_cancel_needs_a_reason_and_is_impossible_after_energization(
    new_application, clerk, supervisor, construction
):
    app = new_application()
    with pytest.raises(ValidationError) as refused:
        services.application_cancel(acting_user=supervisor, application_id=app.pk, reason="")
    assert list(refused.value.message_dict) == ["reason"]
    app = services.application_cancel(
        acting_user=supervisor, application_id=app.pk, reason="お客さま都合による取り下げ"
    )
    assert app.state == "cancelled"

    verified = advance(new_application(), "verified", clerk=clerk, supervisor=supervisor)
    verified = services.application_cancel(
        acting_user=supervisor, application_id=verified.pk, reason="二重申込み"
    )
    assert (verified.state, verified.masking_state) == ("cancelled", "unmasked")
    assert not verified.is_retail_visible

    done = advance(
        new_application(),
        "energized",
        clerk=clerk,
        supervisor=supervisor,
        construction=construction,
    )
    with pytest.raises(WrongState):
        services.application_cancel(acting_user=supervisor, application_id=done.pk, reason="誤り")


def test_a_cancelled_application_cannot_be_reviewed_or_verified(
    new_application, clerk, supervisor, retail_user
):
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    services.application_cancel(acting_user=supervisor, application_id=app.pk, reason="取り下げ")

    with pytest.raises(WrongState):
        services.application_record_review_opened(acting_user=supervisor, application_id=app.pk)
    with pytest.raises(WrongState):
        services.application_verify(
            acting_user=supervisor, application_id=app.pk, expected_version=app.version
        )
    with pytest.raises(WrongState):
        services.application_encode(acting_user=clerk, application_id=app.pk)
    assert Application.objects.awaiting_verification().count() == 0
    assert retail_application_list(user=retail_user) == []


def test_completion_date_cannot_be_in_the_future(new_application, clerk, supervisor, construction):
    app = advance(new_application(), "released", clerk=clerk, supervisor=supervisor)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)

    with pytest.raises(ValidationError) as refused:
        services.application_complete(
            acting_user=construction, application_id=app.pk, completed_on=tomorrow
        )
    assert list(refused.value.message_dict) == ["completed_on"]
    app.refresh_from_db()
    assert app.state == "released" and app.completed_on is None


def app_customer_name(app: Application) -> str:
    return vault_read(app.customer_ref).name


def test_encoding_refuses_text_stored_with_a_direction_control_before_input_refused_it(
    new_application, clerk, supervisor
):
    # A reversed phone number inside a right-to-left override reached retail this way.
    app = advance(new_application(), "entered", clerk=clerk, supervisor=supervisor)
    Application.objects.filter(pk=app.pk).update(remarks="連絡先 \u202e1234-567-890\u202c")

    with pytest.raises(services.LeakFound) as refused:
        services.application_encode(acting_user=clerk, application_id=app.pk)

    assert {(leak.field, leak.kind) for leak in refused.value.leaks} >= {
        ("remarks", "hidden"),
        ("remarks", "phone_pattern"),
    }
    app.refresh_from_db()
    assert app.masking_state == "unmasked"
