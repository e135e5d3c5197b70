"""Each periodic task, run once (eagerly, through Celery) against real data."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext
from guardian.shortcuts import assign_perm

from apps.applications import tasks as app_tasks
from apps.applications.models import ApplicationGroupObjectPermission
from apps.applications.sla import NON_AFFILIATED_FLAG
from apps.applications.visibility import VIEW_PERM, retail_group
from apps.audit import tasks as audit_tasks
from apps.audit.models import AuditAction, AuditEvent, AuditSeal, AuditVerification
from apps.core.tasks import enqueue
from apps.notifications.models import OutboxMessage
from apps.publication.models import PublishedApplication
from tests.conftest import advance

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


def test_seal_chains_every_committed_event(entered):
    entered()
    events = AuditEvent.objects.count()
    assert events > 0

    result = enqueue(audit_tasks.seal).get()

    assert result["sealed"] == events
    assert AuditSeal.objects.count() == events
    assert enqueue(audit_tasks.seal).get()["sealed"] == 0  # twice: nothing more


def test_verify_records_its_outcome(entered):
    entered()
    enqueue(audit_tasks.seal).get()

    result = enqueue(audit_tasks.verify).get()

    assert result["ok"] is True
    assert result["events_checked"] == AuditSeal.objects.count() > 0
    recorded = AuditVerification.objects.get()
    assert recorded.ok and recorded.events_checked == result["events_checked"]


def test_barrier_check_withdraws_a_stray_permission(entered, retail_user):
    stray = entered()
    assign_perm(VIEW_PERM, retail_group(), stray)  # not verified: retail must not see it
    per_person = entered()
    assign_perm(VIEW_PERM, retail_user, per_person)

    result = enqueue(app_tasks.barrier_check).get()

    assert result["disagreements"] == 2
    assert result["withdrawn"] == 1 and result["per_person_grants"] == 1
    assert not ApplicationGroupObjectPermission.objects.filter(content_object=stray).exists()
    assert not retail_user.has_perm(VIEW_PERM, per_person)
    revoked = AuditEvent.objects.filter(action=AuditAction.PERMISSION_REVOKED)
    assert {e.object_id for e in revoked} == {str(stray.pk), str(per_person.pk)}
    assert enqueue(app_tasks.barrier_check).get()["disagreements"] == 0


def test_barrier_check_repairs_the_published_table(entered, clerk, supervisor):
    app = advance(entered(), "verified", clerk=clerk, supervisor=supervisor)
    PublishedApplication.objects.filter(application_id=app.pk).delete()

    result = enqueue(app_tasks.barrier_check).get()

    assert result["disagreements"] == result["publication_repaired"] == 1
    assert PublishedApplication.objects.filter(application_id=app.pk).exists()
    assert enqueue(app_tasks.barrier_check).get()["disagreements"] == 0


def test_barrier_check_with_nothing_wrong_changes_nothing(entered):
    entered()
    before = AuditEvent.objects.count()
    assert enqueue(app_tasks.barrier_check).get()["disagreements"] == 0
    assert AuditEvent.objects.count() == before


def _age(application, field: str, hours: float) -> None:
    type(application).objects.filter(pk=application.pk).update(
        **{field: timezone.now() - dt.timedelta(hours=hours)}
    )


def test_sla_sweep_notifies_supervisors_of_unencoded_applications(
    entered, affiliated, supervisor, supervisor2, settings
):
    settings.SHADAN_SLA_ENCODE_HOURS = 48
    own = entered(retailer=affiliated.pk)
    other = entered()  # non-affiliated retailer
    fresh = entered()
    _age(own, "updated_at", 50)
    _age(other, "updated_at", 49)
    _age(fresh, "updated_at", 47)

    result = enqueue(app_tasks.sla_sweep).get()

    assert result == {"overdue": 2, "escalated": 0, "messages": 4}
    rows = list(OutboxMessage.objects.filter(kind__startswith="sla.").order_by("id"))
    assert {r.recipient_id for r in rows} == {supervisor.pk, supervisor2.pk}
    assert {r.kind for r in rows} == {"sla.encode.overdue"}
    # The non-affiliated retailer's application comes first and says so (in the site's
    # language, whatever the catalog makes of it).
    with translation.override(settings.LANGUAGE_CODE):
        flag = gettext(str(NON_AFFILIATED_FLAG))
    assert other.reference in rows[0].subject and rows[0].subject.startswith(flag)
    assert own.reference in rows[-1].subject and flag not in rows[-1].subject
    assert fresh.reference not in " ".join(r.subject for r in rows)
    # Twice: nothing new.
    assert enqueue(app_tasks.sla_sweep).get()["messages"] == 0
    assert OutboxMessage.objects.filter(kind__startswith="sla.").count() == 4


def test_sla_sweep_escalates_past_twice_the_limit(entered, supervisor, compliance, settings):
    settings.SHADAN_SLA_ENCODE_HOURS = 10
    late = entered()
    _age(late, "updated_at", 21)

    result = enqueue(app_tasks.sla_sweep).get()

    assert result["escalated"] == 1
    escalation = OutboxMessage.objects.get(kind="sla.encode.escalated")
    assert escalation.recipient_id == compliance.pk
    assert late.reference in escalation.subject
    assert enqueue(app_tasks.sla_sweep).get()["messages"] == 0


def test_sla_sweep_covers_encoded_but_unverified(
    new_application, clerk, supervisor, compliance, settings
):
    settings.SHADAN_SLA_VERIFY_HOURS = 24
    waiting = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    _age(waiting, "encoded_at", 49)

    enqueue(app_tasks.sla_sweep).get()

    kinds = set(
        OutboxMessage.objects.filter(kind__startswith="sla.").values_list("kind", flat=True)
    )
    assert kinds == {"sla.verify.overdue", "sla.verify.escalated"}


def test_no_personal_data_in_sla_messages(entered, supervisor, settings):
    from apps.applications.reveal import application_reveal_customer  # noqa: F401

    settings.SHADAN_SLA_ENCODE_HOURS = 1
    late = entered()
    _age(late, "updated_at", 2)
    enqueue(app_tasks.sla_sweep).get()

    message = OutboxMessage.objects.get(kind__startswith="sla.")
    text = message.subject + message.body
    assert late.reference in text
    assert late.pseudonym not in text
    assert late.street_address not in text and late.supply_point_id not in text
