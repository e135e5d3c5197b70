"""The workflow services write the notifications of each transition to the outbox, in
their own transaction, to the people who must act, with no personal data."""

from __future__ import annotations

from collections import defaultdict

import pytest
from django.core import mail
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from apps.applications import notices as workflow
from apps.applications import services as app_services
from apps.applications.services import LeakFound
from apps.audit.models import AuditAction, AuditEvent
from apps.audit.services import Entry, audit_record_many
from apps.notifications.models import OutboxMessage
from apps.notifications.services import relay_due, request_relay
from apps.vault.services import vault_read
from tests.conftest import _person, _today, advance
from tests.factories import application_input

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


def _sent() -> dict[str, set[int]]:
    """kind → recipients of every message written so far."""
    out: dict[str, set[int]] = defaultdict(set)
    for kind, user in OutboxMessage.objects.values_list("kind", "recipient_id"):
        out[kind].add(user)
    return dict(out)


def _new_since(before: set[int]) -> dict[str, set[int]]:
    out: dict[str, set[int]] = defaultdict(set)
    for pk, kind, user in OutboxMessage.objects.values_list("pk", "kind", "recipient_id"):
        if pk not in before:
            out[kind].add(user)
    return dict(out)


def _notify_alone(event, app, actor) -> int:
    """A transition's messages by their own statement, without the audit one."""
    rider = workflow.notice_rider(event=event, application=app, actor=actor)
    rider.run(connection)
    return rider.written or 0


def _ids() -> set[int]:
    return set(OutboxMessage.objects.values_list("pk", flat=True))


@pytest.fixture
def staff(clerk, supervisor, supervisor2, construction, retail_user, auditor, administrator):
    return {
        "clerk": clerk,
        "supervisor": supervisor,
        "supervisor2": supervisor2,
        "construction": construction,
    }


def test_each_transition_tells_the_people_who_must_act(new_application, staff):
    clerk, sup, sup2, koji = (
        staff["clerk"],
        staff["supervisor"],
        staff["supervisor2"],
        staff["construction"],
    )
    steps = []

    def step(call):
        before = _ids()
        result = call()
        steps.append(_new_since(before))
        return result

    app = step(lambda: new_application())
    pk = app.pk
    step(lambda: app_services.application_submit(acting_user=clerk, application_id=pk))
    step(lambda: app_services.application_encode(acting_user=clerk, application_id=pk))
    step(
        lambda: app_services.application_return(
            acting_user=sup, application_id=pk, reason="供給地点の確認をお願いします"
        )
    )
    app = step(lambda: app_services.application_encode(acting_user=clerk, application_id=pk))
    app_services.application_record_review_opened(acting_user=sup2, application_id=pk)
    step(
        lambda: app_services.application_verify(
            acting_user=sup2, application_id=pk, expected_version=app.version
        )
    )
    step(lambda: app_services.application_release(acting_user=sup, application_id=pk))
    step(
        lambda: app_services.application_complete(
            acting_user=koji, application_id=pk, completed_on=_today()
        )
    )
    step(
        lambda: app_services.application_energize(
            acting_user=koji, application_id=pk, energized_on=_today()
        )
    )

    assert steps == [
        {},  # created: the clerk goes on by themselves
        {},  # submitted by its author: the encoding is their own next step
        {"application.encoded": {sup.pk, sup2.pk}},
        {"application.returned": {clerk.pk}},
        {"application.encoded": {sup.pk, sup2.pk}},  # same version, a new encoding
        {"application.verified": {clerk.pk}},
        {"application.released": {koji.pk}},
        {},  # completed and energized by construction themselves
        {},
    ]
    # Every message points at the application; retail, audit and admin heard nothing.
    assert set(OutboxMessage.objects.values_list("application_id", flat=True)) == {pk}


def test_a_submission_tells_the_clerk_whose_draft_it_is_and_no_supervisor(
    retailer, clerk, supervisor, supervisor2
):
    author = _person("clerk_author", "td", "clerk")
    app = app_services.application_create(acting_user=author, data=application_input(retailer))
    before = _ids()
    app_services.application_submit(acting_user=clerk, application_id=app.pk)

    # the encoding is a clerk's next step; supervisors hear only from the SLA sweep
    assert _new_since(before) == {"application.submitted": {author.pk}}


def test_a_supervisor_who_shaped_the_version_is_not_asked_to_verify_it(retailer, clerk, supervisor):
    both = _person("clerk_and_super", "td", "clerk", "supervisor")
    app = app_services.application_create(acting_user=both, data=application_input(retailer))
    app_services.application_submit(acting_user=clerk, application_id=app.pk)
    before = _ids()
    app_services.application_encode(acting_user=clerk, application_id=app.pk)

    assert _new_since(before) == {"application.encoded": {supervisor.pk}}


def test_cancel_tells_construction_only_once_the_work_was_released(
    new_application, clerk, supervisor, supervisor2, construction
):
    early = advance(new_application(), "entered", clerk=clerk, supervisor=supervisor)
    late = advance(
        new_application(), "released", clerk=clerk, supervisor=supervisor, construction=construction
    )
    before = _ids()
    app_services.application_cancel(acting_user=supervisor, application_id=early.pk, reason="重複")
    assert _new_since(before) == {"application.cancelled": {clerk.pk}}

    before = _ids()
    app_services.application_cancel(acting_user=supervisor, application_id=late.pk, reason="重複")
    assert _new_since(before) == {"application.cancelled": {clerk.pk, construction.pk}}


def test_inactive_and_transferred_people_are_not_told(new_application, clerk, supervisor):
    gone = _person("super_gone", "td", "supervisor")
    gone.is_active = False
    gone.save()
    moved = _person("super_moved", "td", "supervisor")
    from apps.administration.services import user_transfer

    user_transfer(acting_user=None, user_id=moved.pk, to_division="retail")
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)

    assert _sent() == {"application.encoded": {supervisor.pk}}
    assert app.pk == OutboxMessage.objects.get().application_id


def test_the_messages_roll_back_with_the_transition(new_application, clerk, supervisor):
    app = advance(new_application(), "entered", clerk=clerk, supervisor=supervisor)
    with pytest.raises(RuntimeError), transaction.atomic():
        app_services.application_encode(acting_user=clerk, application_id=app.pk)
        assert OutboxMessage.objects.exists()
        raise RuntimeError
    assert not OutboxMessage.objects.exists()


def test_a_refused_encoding_tells_nobody(new_application, clerk, supervisor):
    app = advance(new_application(), "entered", clerk=clerk, supervisor=supervisor)
    pii = vault_read(app.customer_ref)
    app_services.application_update(
        acting_user=clerk,
        application_id=app.pk,
        expected_version=app.version,
        changes={"remarks": f"連絡先 {pii.phone}"},
    )
    before = _ids()
    with pytest.raises(LeakFound):
        app_services.application_encode(acting_user=clerk, application_id=app.pk)
    assert _new_since(before) == {}


def test_writing_the_same_event_twice_writes_nothing_more(new_application, clerk, supervisor):
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    app.refresh_from_db()
    # The transition's key is not looked up first (it names a moment just passed): the
    # unique constraint keeps the repeat out.
    _notify_alone(workflow.ENCODED, app, clerk)
    assert OutboxMessage.objects.count() == 1
    keys = list(OutboxMessage.objects.values_list("dedupe_key", flat=True))
    assert keys[0].startswith(f"application.encoded:a{app.pk}:v{app.version}:")
    assert keys[0].endswith(f":u{supervisor.pk}")


def test_one_transition_costs_one_statement_whatever_the_audience(
    new_application, clerk, supervisor, supervisor2, django_assert_num_queries
):
    for n in range(5):
        _person(f"super_extra{n}", "td", "supervisor")
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    OutboxMessage.objects.all().delete()
    with django_assert_num_queries(1):  # the recipients' query inside the outbox INSERT
        written = _notify_alone(workflow.ENCODED, app, clerk)
    assert written == 7


def test_a_transitions_messages_ride_its_audit_statement_and_ask_for_the_relay(
    new_application, clerk, supervisor, supervisor2, django_capture_on_commit_callbacks
):
    """On PostgreSQL the outbox's INSERT … SELECT is a part of the audit events' statement
    (elsewhere a statement just before it); either way the recipients are the same, and
    the relay is asked for once the transition commits."""
    app = advance(new_application(), "entered", clerk=clerk, supervisor=supervisor)
    before = _ids()
    table = connection.ops.quote_name(OutboxMessage._meta.db_table)
    with (
        CaptureQueriesContext(connection) as captured,
        django_capture_on_commit_callbacks() as callbacks,
    ):
        app_services.application_encode(acting_user=clerk, application_id=app.pk)

    (written,) = [q["sql"] for q in captured.captured_queries if f"INTO {table}" in q["sql"]]
    audit = connection.ops.quote_name(AuditEvent._meta.db_table)
    assert (f"INTO {audit}" in written) == (connection.vendor == "postgresql")
    assert _new_since(before) == {"application.encoded": {supervisor.pk, supervisor2.pk}}
    assert request_relay in callbacks


@pytest.mark.parametrize("audience", ["nobody", "two supervisors"])
def test_a_riding_notice_counts_what_it_wrote(
    new_application, clerk, supervisor, supervisor2, audience, django_capture_on_commit_callbacks
):
    """The count of messages the audit statement wrote for a notice decides whether the
    relay is asked for: not for a notice that found nobody."""
    app = new_application()
    if audience == "nobody":  # the clerk wrote the draft alone and submits it
        app = advance(app, "entered", clerk=clerk, supervisor=supervisor)
        rider = workflow.notice_rider(event=workflow.SUBMITTED, application=app, actor=clerk)
    else:
        app = advance(app, "encoded", clerk=clerk, supervisor=supervisor)
        OutboxMessage.objects.all().delete()
        rider = workflow.notice_rider(event=workflow.ENCODED, application=app, actor=clerk)

    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        audit_record_many(actor=clerk, entries=[Entry(AuditAction.EXPORT)], riders=[rider])

    expected = 0 if audience == "nobody" else 2
    assert rider.written == expected == OutboxMessage.objects.count()
    assert (request_relay in callbacks) == bool(expected)


CANARY = {
    "customer_name": "鵜飼 鶫",
    "customer_name_kana": "ウカイ ツグミ",
    "customer_phone": "090-7777-3131",
    "customer_email": "Tsugumi.Canary@Example.invalid",
}


def test_no_personal_data_in_any_notification_or_mail(
    new_application, clerk, supervisor, supervisor2, construction
):
    for person in (clerk, supervisor, supervisor2, construction):
        person.email = f"{person.username}@example.test"
        person.save()
    app = new_application(**CANARY)
    app_services.application_submit(acting_user=clerk, application_id=app.pk)
    app_services.application_encode(acting_user=clerk, application_id=app.pk)
    app_services.application_return(acting_user=supervisor, application_id=app.pk, reason="確認")
    app = advance(
        app_services.application_encode(acting_user=clerk, application_id=app.pk),
        "released",
        clerk=clerk,
        supervisor=supervisor2,
    )
    app_services.application_cancel(acting_user=supervisor, application_id=app.pk, reason="重複")
    assert relay_due()["failed"] == 0

    texts = [m.subject + "\n" + m.body for m in OutboxMessage.objects.all()]
    texts += [m.subject + "\n" + m.body for m in mail.outbox]
    assert len(texts) >= 2 * 7 and len(mail.outbox) == OutboxMessage.objects.count()
    phone_digits = CANARY["customer_phone"].replace("-", "")
    for text in texts:
        assert (app.reference or "?") in text  # positive control: the text is really searched
        folded = text.replace(" ", "").replace("-", "")
        for value in CANARY.values():
            assert value not in text
            assert value.replace(" ", "") not in folded
        assert phone_digits not in folded
        assert app.street_address not in text and app.pseudonym not in text
