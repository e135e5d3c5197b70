"""The SLA sweep: every overdue period is reported once, and escalations reach only a
compliance contact who is still an active member of T&D."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apps.accounts.models import Division, DivisionCode, DivisionMembership
from apps.applications import services as app_services
from apps.applications.sla import sla_sweep
from apps.audit.models import AuditAction, AuditEvent
from apps.notifications.models import DropReason, OutboxMessage
from apps.notifications.services import relay_due
from tests.conftest import _person, advance

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.SHADAN_SLA_ENCODE_HOURS = 10
    settings.SHADAN_SLA_VERIFY_HOURS = 10


def _age(application, field: str, hours: float) -> None:
    type(application).objects.filter(pk=application.pk).update(
        **{field: timezone.now() - dt.timedelta(hours=hours)}
    )


def _reports(kind: str, recipient) -> int:
    return OutboxMessage.objects.filter(kind=kind, recipient=recipient).count()


def _sweep_twice() -> None:
    sla_sweep()
    sla_sweep()


def test_each_overdue_period_is_reported_once_even_when_a_return_keeps_the_version(
    new_application, clerk, supervisor
):
    # given: submitted and left unencoded past the limit
    app = advance(new_application(), "entered", clerk=clerk, supervisor=supervisor)
    _age(app, "updated_at", 11)
    _sweep_twice()
    assert _reports("sla.encode.overdue", supervisor) == 1

    # encoded, then left unverified past the limit
    app = app_services.application_encode(acting_user=clerk, application_id=app.pk)
    _age(app, "encoded_at", 11)
    _sweep_twice()
    assert _reports("sla.verify.overdue", supervisor) == 1

    # when: returned (the version stays) and left unencoded past the limit again
    app = app_services.application_return(
        acting_user=supervisor, application_id=app.pk, reason="番地の誤り"
    )
    version = app.version
    _age(app, "updated_at", 11)
    _sweep_twice()

    # then: the new encoding period is reported, once
    assert _reports("sla.encode.overdue", supervisor) == 2

    # and the new verification period after the second encoding too
    app = app_services.application_encode(acting_user=clerk, application_id=app.pk)
    assert app.version == version
    _age(app, "encoded_at", 11)
    _sweep_twice()
    assert _reports("sla.verify.overdue", supervisor) == 2


def test_a_sweep_run_twice_in_one_period_reports_it_once(new_application, clerk, supervisor):
    app = advance(new_application(), "entered", clerk=clerk, supervisor=supervisor)
    _age(app, "updated_at", 11)

    first = sla_sweep()
    second = sla_sweep()

    assert (first.overdue, first.messages) == (1, 1)
    assert (second.overdue, second.messages) == (1, 0)
    assert _reports("sla.encode.overdue", supervisor) == 1


def test_an_escalation_is_repeated_for_a_new_period_after_a_return(
    new_application, clerk, supervisor
):
    contact = _person("compliance_kato", "td", "supervisor")
    Division.objects.filter(code=DivisionCode.TD).update(compliance_contact=contact)
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    _age(app, "encoded_at", 21)
    _sweep_twice()
    app = app_services.application_return(
        acting_user=supervisor, application_id=app.pk, reason="番地の誤り"
    )
    app = app_services.application_encode(acting_user=clerk, application_id=app.pk)
    _age(app, "encoded_at", 21)
    _sweep_twice()

    assert _reports("sla.verify.escalated", contact) == 2


# --- the compliance contact is checked at escalation time ----------------------------------


def test_an_escalation_skips_a_contact_outside_td_and_records_it_once(
    new_application, clerk, supervisor, retail_user
):
    # given: a retail user named as T&D's contact by a path that bypassed the checks
    Division.objects.filter(code=DivisionCode.TD).update(compliance_contact=retail_user)
    app = advance(new_application(), "entered", clerk=clerk, supervisor=supervisor)
    _age(app, "updated_at", 21)

    # when
    result = sla_sweep()
    sla_sweep()
    relay_due()

    # then: counted as escalated, but nothing reaches the retail user
    assert result.escalated == 1
    [withheld] = OutboxMessage.objects.filter(recipient=retail_user)
    assert withheld.kind == "sla.encode.escalated"
    assert withheld.dropped_at is not None and withheld.delivered_at is None
    assert withheld.drop_reason == DropReason.DIVISION
    assert not retail_user.inbox_entries.exists()
    [event] = AuditEvent.objects.filter(action=AuditAction.NOTIFICATION_DROPPED)
    assert event.details["recipient"] == retail_user.pk
    assert event.details["kind"] == "sla.encode.escalated"
    assert event.details["at"] == "write"
    # the supervisors are still told
    assert _reports("sla.encode.overdue", supervisor) == 1


def test_an_escalation_skips_a_contact_who_left_td_without_a_transfer(
    new_application, clerk, supervisor
):
    contact = _person("compliance_kato", "td", "supervisor")
    Division.objects.filter(code=DivisionCode.TD).update(compliance_contact=contact)
    # a membership closed directly in the database: no transfer cleared the name
    DivisionMembership.objects.filter(user=contact).update(
        valid_from=timezone.now() - dt.timedelta(days=1),
        valid_until=timezone.now() - dt.timedelta(seconds=1),
    )
    app = advance(new_application(), "entered", clerk=clerk, supervisor=supervisor)
    _age(app, "updated_at", 21)

    sla_sweep()
    relay_due()

    assert not contact.inbox_entries.exists()
    assert OutboxMessage.objects.get(recipient=contact).drop_reason == DropReason.DIVISION
