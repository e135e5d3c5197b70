"""Each event carries the actor's division and roles at the moment it was written.

The INSERT reads them itself (apps.audit.snapshot). These tests would fail if a cached
or otherwise stale snapshot were recorded: after a role change or a transfer in the
same transaction, in the same request, by the actor to themself.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from apps.accounts.models import DivisionMembership, User
from apps.administration import services as accounts
from apps.audit.context import RequestContext, bound_request_context
from apps.audit.models import AuditAction, AuditEvent
from apps.audit.services import audit_record, audit_record_each

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


def _event(actor: User | None, **extra: Any) -> AuditEvent:
    return audit_record(actor=actor, action=AuditAction.CONFIGURATION_CHANGED, **extra)


def _stored(event: AuditEvent) -> tuple[str, list[str]]:
    row = AuditEvent.objects.get(pk=event.pk)
    return row.actor_division, row.actor_roles


def test_division_and_roles_are_those_of_the_moment_sorted_by_code(clerk: User) -> None:
    for role in ("supervisor", "construction"):  # granted out of order on purpose
        accounts.user_grant_role(acting_user=None, user_id=clerk.pk, role=role)

    event = _event(clerk)

    expected = (clerk.division_at(), clerk.role_codes())
    assert expected == ("td", ["clerk", "construction", "supervisor"])
    assert _stored(event) == expected
    assert (event.actor_division, event.actor_roles) == expected


def test_a_role_change_in_the_same_transaction_is_seen_by_the_next_event(clerk: User) -> None:
    with transaction.atomic():
        before = _event(clerk)
        accounts.user_grant_role(acting_user=None, user_id=clerk.pk, role="supervisor")
        after_grant = _event(clerk)
        accounts.user_revoke_role(acting_user=None, user_id=clerk.pk, role="clerk")
        after_revoke = _event(clerk)

    assert _stored(before) == ("td", ["clerk"])
    assert _stored(after_grant) == ("td", ["clerk", "supervisor"])
    assert _stored(after_revoke) == ("td", ["supervisor"])


def test_a_transfer_in_the_same_transaction_is_seen_by_the_next_event(clerk: User) -> None:
    with transaction.atomic():
        before = _event(clerk)
        accounts.user_transfer(acting_user=None, user_id=clerk.pk, to_division="retail")
        after = _event(clerk)

    assert _stored(before) == ("td", ["clerk"])
    assert _stored(after) == ("retail", [])
    assert (after.actor_division, after.actor_roles) == ("retail", [])


def test_an_administrator_revoking_their_own_role_within_one_request(
    administrator: User,
) -> None:
    context = RequestContext(request_id="req-self-revoke", client_ip=None, user_agent="test")
    with bound_request_context(context), transaction.atomic():
        first = _event(administrator)
        accounts.user_revoke_role(
            acting_user=administrator, user_id=administrator.pk, role="administrator"
        )
        # The same Python object, as request.user would be for the rest of the request.
        later = _event(administrator)

    revoked = AuditEvent.objects.get(action=AuditAction.ROLE_REVOKED)
    assert _stored(first) == ("admin", ["administrator"])
    assert _stored(revoked) == ("admin", [])
    assert _stored(later) == ("admin", [])
    assert {first.request_id, revoked.request_id, later.request_id} == {"req-self-revoke"}


def test_an_administrator_transferring_themself_within_one_request(administrator: User) -> None:
    context = RequestContext(request_id="req-self-transfer", client_ip=None, user_agent="test")
    with bound_request_context(context), transaction.atomic():
        first = _event(administrator)
        accounts.user_transfer(
            acting_user=administrator, user_id=administrator.pk, to_division="td"
        )
        later = _event(administrator)

    transferred = AuditEvent.objects.get(action=AuditAction.USER_TRANSFERRED)
    assert _stored(first) == ("admin", ["administrator"])
    assert _stored(transferred) == ("td", [])
    assert _stored(later) == ("td", [])


def test_a_membership_that_has_ended_gives_no_division(clerk: User) -> None:
    DivisionMembership.objects.filter(user=clerk).delete()
    clerk.groups.clear()

    event = _event(clerk)

    assert _stored(event) == ("", [])


def test_no_actor_no_snapshot() -> None:
    event = _event(None)

    assert _stored(event) == ("", [])
    assert event.actor_username == "system"


@pytest.mark.parametrize("with_actor", [True, False])
def test_the_returned_event_is_the_stored_row(clerk: User, with_actor: bool) -> None:
    event = _event(
        clerk if with_actor else None,
        obj=clerk,
        changed_fields=["last_name", "email"],
        details={"setting": "x", "n": 1, "日本語": "値"},
        reason="理由",
    )

    stored = AuditEvent.objects.get(pk=event.pk)
    for field in AuditEvent._meta.concrete_fields:
        assert getattr(event, field.attname) == getattr(stored, field.attname), field.name
    assert not event._state.adding


def test_one_statement_per_event(clerk: User, django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(1):
        _event(clerk)


def test_a_batch_carries_the_same_snapshot_as_single_events(clerk: User, retail_user: User) -> None:
    accounts.user_grant_role(acting_user=None, user_id=clerk.pk, role="supervisor")

    with transaction.atomic():
        batch = audit_record_each(
            actor=clerk, action=AuditAction.RETAIL_VIEWED, objects=[clerk, retail_user]
        )
        single = _event(clerk)

    assert len(batch) == 2
    for event in batch:
        assert _stored(event) == _stored(single) == ("td", ["clerk", "supervisor"])


def test_the_insert_sends_the_signals_save_would(clerk: User) -> None:
    from django.db.models.signals import post_save

    seen: list[tuple[int, bool, list[str]]] = []

    def receiver(sender: Any, instance: AuditEvent, created: bool, **kwargs: Any) -> None:
        seen.append((instance.pk, created, instance.actor_roles))

    post_save.connect(receiver, sender=AuditEvent, weak=False)
    try:
        event = _event(clerk)
    finally:
        post_save.disconnect(receiver, sender=AuditEvent)

    assert seen == [(event.pk, True, ["clerk"])]


def test_the_returned_event_reads_its_snapshot_from_the_row_when_asked(clerk: User) -> None:
    # The INSERT returns only the id; the snapshot columns are deferred, so the event
    # must not answer with the placeholders it was built with ("" and []).
    event = _event(clerk)

    assert event.get_deferred_fields() == {"actor_division", "actor_roles"}
    accounts.user_grant_role(acting_user=None, user_id=clerk.pk, role="supervisor")
    # Read now, after the grant: still what the row holds, the moment of writing.
    assert (event.actor_division, event.actor_roles) == ("td", ["clerk"])
    assert event.get_deferred_fields() == set()


def test_an_event_without_an_actor_keeps_what_it_was_given(clerk: User) -> None:
    event = _event(None)

    assert event.get_deferred_fields() == set()
    assert (event.actor_division, event.actor_roles) == ("", [])
