"""`vault_erase` and `vault_rewrap` are audit events: which records were erased, which
master keys a rotation moved data keys from and to (issue 12, item 10)."""

from __future__ import annotations

import uuid

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from apps.applications.management.commands.vault_erase import MAX_LISTED_IDS
from apps.audit.models import AuditAction, AuditEvent
from apps.vault.errors import VaultRecordErased
from apps.vault.services import vault_read, vault_store
from tests.vault.conftest import (
    CANARY_EMAIL,
    CANARY_KANA,
    CANARY_NAME,
    CANARY_PHONE,
    TWO_KEYS_K1_ACTIVE,
    TWO_KEYS_K2_ACTIVE,
)

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


def only_event(action: AuditAction) -> AuditEvent:
    [event] = AuditEvent.objects.filter(action=action)
    return event


def assert_no_pii(event: AuditEvent) -> None:
    text = f"{event.details} {event.reason} {event.object_label}"
    for canary in (CANARY_NAME, CANARY_KANA, CANARY_PHONE, CANARY_EMAIL):
        assert canary not in text


def test_erasing_a_record_writes_an_audit_event_naming_it(canary_pii):
    record_id = vault_store(canary_pii)

    call_command("vault_erase", str(record_id))

    event = only_event(AuditAction.VAULT_ERASED)
    assert event.details["record_ids"] == [str(record_id)]
    assert event.details["records"] == 1
    assert event.details["why"] == "vault_erase command"
    assert event.actor_username == "system"
    assert_no_pii(event)
    with pytest.raises(VaultRecordErased):
        vault_read(record_id)


def test_erasing_several_records_names_each_and_those_already_erased(make_pii):
    first, second, gone = (vault_store(make_pii()) for _ in range(3))
    call_command("vault_erase", str(gone))

    call_command("vault_erase", str(first), str(second), str(gone))

    event = AuditEvent.objects.filter(action=AuditAction.VAULT_ERASED).order_by("id").last()
    assert event is not None
    assert event.details["record_ids"] == [str(first), str(second)]
    assert event.details["already_erased_ids"] == [str(gone)]
    assert (event.details["records"], event.details["already_erased"]) == (2, 1)


def test_a_long_erasure_lists_the_first_ids_and_counts_them_all(make_pii):
    ids = [str(vault_store(make_pii())) for _ in range(MAX_LISTED_IDS + 5)]

    call_command("vault_erase", *ids)

    event = only_event(AuditAction.VAULT_ERASED)
    assert event.details["records"] == MAX_LISTED_IDS + 5
    assert event.details["record_ids"] == ids[:MAX_LISTED_IDS]
    assert event.details["ids_listed_up_to"] == MAX_LISTED_IDS


def test_an_unknown_id_fails_the_command_after_the_others_are_erased_and_recorded(make_pii):
    record_id = vault_store(make_pii())
    unknown = uuid.uuid4()

    with pytest.raises(CommandError, match=str(unknown)):
        call_command("vault_erase", str(record_id), str(unknown))

    assert only_event(AuditAction.VAULT_ERASED).details["record_ids"] == [str(record_id)]


def test_a_malformed_id_erases_nothing_and_records_nothing(make_pii):
    record_id = vault_store(make_pii())

    with pytest.raises(CommandError):
        call_command("vault_erase", str(record_id), "not-a-uuid")

    assert not AuditEvent.objects.filter(action=AuditAction.VAULT_ERASED).exists()
    vault_read(record_id)


def test_a_rewrap_writes_an_audit_event_with_the_key_ids(make_pii, capsys):
    # given: two records under test-k1
    with override_settings(**TWO_KEYS_K1_ACTIVE):
        vault_store(make_pii())
        vault_store(make_pii())

    # when: test-k2 becomes active and the data keys are re-wrapped
    with override_settings(**TWO_KEYS_K2_ACTIVE):
        call_command("vault_rewrap")

    # then
    event = only_event(AuditAction.VAULT_REWRAPPED)
    assert event.details == {
        "why": "vault_rewrap command",
        "to_key_id": "test-k2",
        "records": 2,
        "from_key_ids": {"test-k1": 2},
    }
    assert "Rewrapped 2" in capsys.readouterr().out


def test_a_rewrap_with_nothing_to_move_is_recorded_too(make_pii):
    vault_store(make_pii())

    call_command("vault_rewrap")

    event = only_event(AuditAction.VAULT_REWRAPPED)
    assert (event.details["records"], event.details["from_key_ids"]) == (0, {})
