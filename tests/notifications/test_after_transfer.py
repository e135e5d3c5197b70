"""T&D messages stay in T&D: a message is delivered only to someone who still holds the
division and role it was written for, and after a transfer the inbox shows only what
arrived in the reader's current division."""

from __future__ import annotations

import importlib
import re

import pytest
from django.apps import apps as django_apps
from django.core import mail
from django.test import Client
from django.urls import reverse

from apps.administration.services import user_grant_role, user_revoke_role, user_transfer
from apps.audit.models import AuditAction, AuditEvent
from apps.notifications.models import DropReason, InboxEntry, OutboxMessage
from apps.notifications.services import outbox_write, relay_due
from apps.publication.models import RetailInboxEntry
from tests.conftest import advance

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _rows(response) -> list[str]:
    return re.findall(r'data-entry="(\d+)"', response.content.decode())


def _badge(response) -> str | None:
    match = re.search(r'data-testid="inbox-unread">([^<]*)<', response.content.decode())
    return match.group(1) if match else None


# --- delivery re-checks the recipient ------------------------------------------------------


def test_a_message_queued_before_a_transfer_is_not_delivered_after_it(
    new_application, clerk, supervisor, administrator
):
    # given: encoding queues "waiting for the second-person check" for the T&D supervisors
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    queued = OutboxMessage.objects.get(recipient=supervisor, kind="application.encoded")
    assert queued.delivered_at is None

    # when: the supervisor moves to retail before the relay runs
    user_transfer(acting_user=administrator, user_id=supervisor.pk, to_division="retail")
    relay_due()

    # then: nothing reaches the person, and the drop is recorded
    queued.refresh_from_db()
    assert queued.delivered_at is None and queued.dropped_at is not None
    assert queued.drop_reason == DropReason.DIVISION
    assert not InboxEntry.objects.filter(user=supervisor).exists()
    assert not [m for m in mail.outbox if str(app.reference) in f"{m.subject} {m.body}"]
    event = AuditEvent.objects.get(action=AuditAction.NOTIFICATION_DROPPED)
    assert event.details == {
        "message": queued.pk,
        "kind": "application.encoded",
        "recipient": supervisor.pk,
        "division": "td",
        "roles": ["supervisor"],
        "reason": "division",
        "at": "delivery",
        "application": app.pk,
    }
    # a dropped message is never tried again
    relay_due()
    assert AuditEvent.objects.filter(action=AuditAction.NOTIFICATION_DROPPED).count() == 1


def test_a_message_is_not_delivered_to_someone_who_lost_the_role_it_was_written_for(
    new_application, clerk, supervisor, administrator
):
    advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    user_grant_role(acting_user=administrator, user_id=supervisor.pk, role="clerk")
    user_revoke_role(acting_user=administrator, user_id=supervisor.pk, role="supervisor")

    relay_due()

    queued = OutboxMessage.objects.get(recipient=supervisor, kind="application.encoded")
    assert queued.drop_reason == DropReason.ROLE
    assert not InboxEntry.objects.filter(user=supervisor).exists()


def test_a_message_is_delivered_to_someone_who_still_holds_division_and_role(
    new_application, clerk, supervisor
):
    advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)

    relay_due()

    queued = OutboxMessage.objects.get(recipient=supervisor, kind="application.encoded")
    assert queued.delivered_at is not None and queued.dropped_at is None
    assert InboxEntry.objects.get(user=supervisor).division == "td"


def test_a_message_about_the_persons_own_account_is_written_for_their_division(
    clerk, administrator
):
    outbox_write(recipient_ids=[clerk.pk], kind="test", subject="s", body="", dedupe_key="own")
    user_transfer(acting_user=administrator, user_id=clerk.pk, to_division="audit")

    relay_due()

    assert OutboxMessage.objects.get(recipient=clerk).division == "td"
    assert OutboxMessage.objects.get(recipient=clerk).drop_reason == DropReason.DIVISION


# --- the inbox shows the current division only -----------------------------------------


@pytest.fixture
def moved_to_retail(new_application, clerk, supervisor, administrator):
    """A supervisor with read and unread T&D entries, then transferred to retail."""
    for _ in range(3):
        advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    relay_due()
    td_entries = list(InboxEntry.objects.filter(user=supervisor).order_by("id"))
    assert len(td_entries) == 3
    td_entries[0].read_at = td_entries[0].created_at
    td_entries[0].save(update_fields=["read_at"])
    user_transfer(acting_user=administrator, user_id=supervisor.pk, to_division="retail")
    moved = user_grant_role(acting_user=administrator, user_id=supervisor.pk, role="retail")
    return moved, td_entries


def test_after_a_transfer_the_inbox_shows_nothing_from_the_old_division(moved_to_retail):
    person, td_entries = moved_to_retail
    client = _client(person)

    response = client.get(reverse("inbox"))

    assert response.status_code == 200
    assert _rows(response) == []
    body = response.content.decode()
    for entry in td_entries:
        assert entry.message.subject not in body
    # and the header counts none of the old unread entries
    assert _badge(client.get(reverse("inbox"))) is None


def test_after_a_transfer_an_old_entry_cannot_be_opened_directly(moved_to_retail):
    person, td_entries = moved_to_retail
    client = _client(person)

    unread = td_entries[-1]
    response = client.post(reverse("inbox-read", args=[unread.pk]))
    client.post(reverse("inbox-read-all"))

    assert response.status_code == 404
    unread.refresh_from_db()
    assert unread.read_at is None


def test_after_a_transfer_to_retail_new_entries_go_to_the_retail_database(moved_to_retail):
    person, _old = moved_to_retail
    outbox_write(
        recipient_ids=[person.pk], kind="test", subject="[R-new] retail", body="", dedupe_key="n"
    )
    relay_due()
    client = _client(person)

    response = client.get(reverse("inbox"))

    # the retail site's inbox has it; the T&D inbox neither shows nor counts it
    entry = RetailInboxEntry.objects.get(account_id=person.pk)
    assert entry.subject == "[R-new] retail"
    assert not InboxEntry.objects.filter(user=person, division="retail").exists()
    assert _rows(response) == []
    assert _badge(response) is None


# --- existing rows get the division they were written in -----------------------------------


def test_the_migration_gives_existing_rows_the_division_of_their_time(moved_to_retail):
    person, _old = moved_to_retail
    InboxEntry.objects.filter(user=person).update(division="")
    OutboxMessage.objects.filter(recipient=person).update(division="")
    migration = importlib.import_module(
        "apps.notifications.migrations.0003_message_audience_and_drops"
    )

    migration._division_when_written(django_apps, None)

    assert set(InboxEntry.objects.filter(user=person).values_list("division", flat=True)) == {"td"}
    assert set(
        OutboxMessage.objects.filter(recipient=person).values_list("division", flat=True)
    ) == {"td"}
