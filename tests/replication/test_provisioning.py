"""Retail accounts: only active retail people with the retail role have one, it holds
their T&D fields, and leaving retail removes it with every retail session at once."""

from __future__ import annotations

import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.accounts.models import User
from apps.administration.password_reset import (
    user_change_own_password,
    user_decide_password_reset,
    user_propose_password_reset,
)
from apps.administration.services import (
    user_create,
    user_deactivate,
    user_grant_role,
    user_set_roles,
    user_transfer,
)
from apps.applications.barrier import AccountMismatch, RetailAccountMismatch, barrier_check
from apps.publication.models import AppliedMessage, RetailAccount, RetailSession, Subject
from apps.replication.models import ReplicationMessage
from tests.conftest import PASSWORD, _person, replicate

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


def _account(user: User) -> RetailAccount | None:
    replicate()
    return RetailAccount.objects.filter(pk=user.pk).first()


def _session(user: User, key: str = "k") -> None:
    RetailSession.objects.create(
        session_key=f"{key}{user.pk}",
        session_data="x",
        expire_date=timezone.now() + datetime.timedelta(days=1),
        account_id=user.pk,
    )


def test_a_new_retail_user_gets_a_retail_account_with_their_fields(db):
    user = _person("kouri_kato", "retail", "retail", first_name="花子", last_name="加藤")

    account = _account(user)

    assert account is not None
    assert (account.username, account.display_name) == ("kouri_kato", "加藤 花子")
    assert account.password == user.password and account.check_password(PASSWORD)
    assert account.is_active and not account.must_change_password
    assert account.session_stamp == user.session_stamp


def test_nobody_outside_retail_ever_reaches_the_retail_database(
    clerk, auditor, administrator, supervisor, construction
):
    retail_division_without_role = _person("kouri_norole", "retail")
    people = [clerk, auditor, administrator, supervisor, construction, retail_division_without_role]

    replicate()

    ids = [p.pk for p in people]
    assert not RetailAccount.objects.filter(pk__in=ids).exists()
    assert not AppliedMessage.objects.filter(subject=Subject.ACCOUNT, subject_id__in=ids).exists()
    assert not ReplicationMessage.objects.filter(subject=Subject.ACCOUNT).exists()


def test_a_transfer_out_of_retail_removes_the_account_and_ends_its_sessions_at_once(
    retail_user, administrator
):
    assert _account(retail_user) is not None
    _session(retail_user)
    _session(retail_user, key="other-device")

    user_transfer(
        acting_user=administrator, user_id=retail_user.pk, to_division="td", roles=["clerk"]
    )

    assert _account(retail_user) is None
    assert not RetailSession.objects.filter(account_id=retail_user.pk).exists()


def test_a_transfer_into_retail_with_the_role_provisions_the_account(clerk, administrator):
    user_transfer(acting_user=administrator, user_id=clerk.pk, to_division="retail")
    assert _account(clerk) is None  # no role yet

    user_grant_role(acting_user=administrator, user_id=clerk.pk, role="retail")

    account = _account(clerk)
    assert account is not None and account.password == User.objects.get(pk=clerk.pk).password


def test_a_deactivated_retail_user_loses_the_account_and_sessions(retail_user, administrator):
    assert _account(retail_user) is not None
    _session(retail_user)

    user_deactivate(acting_user=administrator, user_id=retail_user.pk)

    assert _account(retail_user) is None
    assert not RetailSession.objects.filter(account_id=retail_user.pk).exists()


def test_losing_the_retail_role_removes_the_account(retail_user, administrator):
    assert _account(retail_user) is not None
    _session(retail_user)

    user_set_roles(acting_user=administrator, user_id=retail_user.pk, roles=[])

    assert _account(retail_user) is None
    assert not RetailSession.objects.filter(account_id=retail_user.pk).exists()


def test_an_administrators_reset_reaches_the_retail_account(
    retail_user, administrator, administrator2
):
    old = _account(retail_user)
    assert old is not None
    _session(retail_user)
    request = user_propose_password_reset(
        acting_user=administrator, user_id=retail_user.pk, reason="忘れた"
    )

    decision = user_decide_password_reset(
        acting_user=administrator2, request_id=request.pk, approve=True
    )

    account = _account(retail_user)
    assert account is not None and decision.temporary_password is not None
    assert account.check_password(decision.temporary_password)
    assert account.must_change_password
    assert account.session_stamp != old.session_stamp
    assert not RetailSession.objects.filter(account_id=retail_user.pk).exists()


def test_an_own_password_change_reaches_the_retail_account(retail_user):
    user_change_own_password(
        acting_user=retail_user, old_password=PASSWORD, new_password="a different one 1234"
    )

    account = _account(retail_user)
    assert account is not None and account.check_password("a different one 1234")


def test_a_retail_site_password_change_survives_a_later_provisioning(retail_user, administrator):
    account = _account(retail_user)
    assert account is not None
    account.set_password("chosen on the retail site 99")
    account.save(update_fields=["password"])

    # a change that provisions again without touching the password
    user_set_roles(acting_user=administrator, user_id=retail_user.pk, roles=["retail"])
    user_grant_role(acting_user=administrator, user_id=retail_user.pk, role="retail")

    account = _account(retail_user)
    assert account is not None and account.check_password("chosen on the retail site 99")


def test_a_reset_still_pending_is_not_lost_behind_a_newer_message(
    retail_user, administrator, administrator2
):
    assert _account(retail_user) is not None
    request = user_propose_password_reset(
        acting_user=administrator, user_id=retail_user.pk, reason="忘れた"
    )
    decision = user_decide_password_reset(
        acting_user=administrator2, request_id=request.pk, approve=True
    )
    reset = ReplicationMessage.objects.filter(subject=Subject.ACCOUNT).latest("id")
    # the reset's message is held back (a failed attempt) while a newer one is written
    ReplicationMessage.objects.filter(pk=reset.pk).update(
        next_attempt_at=timezone.now() + datetime.timedelta(hours=1)
    )
    user_grant_role(acting_user=administrator, user_id=retail_user.pk, role="retail")

    account = _account(retail_user)

    assert account is not None and decision.temporary_password is not None
    assert account.check_password(decision.temporary_password)
    assert account.must_change_password


def test_a_user_created_without_a_password_must_change_it(administrator):
    user = user_create(
        acting_user=administrator,
        username="kouri_new",
        password=None,
        division="retail",
        roles=["retail"],
    )

    account = _account(user)

    assert account is not None and account.must_change_password
    assert not account.has_usable_password()


# --- barrier_check compares the accounts -------------------------------------------------


def test_the_barrier_check_provisions_a_missing_account(retail_user):
    assert _account(retail_user) is not None
    RetailAccount.objects.filter(pk=retail_user.pk).delete()

    assert barrier_check(repair=True) == [
        RetailAccountMismatch(retail_user.pk, AccountMismatch.MISSING)
    ]

    account = RetailAccount.objects.get(pk=retail_user.pk)
    assert account.password == retail_user.password
    assert barrier_check(repair=False) == []


def test_the_barrier_check_removes_an_account_nobody_is_entitled_to(clerk, retail_user):
    replicate()
    RetailAccount.objects.create(pk=clerk.pk, username=clerk.username, password=clerk.password)
    _session(clerk)

    assert barrier_check(repair=True) == [
        RetailAccountMismatch(clerk.pk, AccountMismatch.NOT_ENTITLED)
    ]

    assert not RetailAccount.objects.filter(pk=clerk.pk).exists()
    assert not RetailSession.objects.filter(account_id=clerk.pk).exists()
    assert barrier_check(repair=False) == []


def test_the_barrier_check_restores_changed_account_fields(retail_user):
    assert _account(retail_user) is not None
    RetailAccount.objects.filter(pk=retail_user.pk).update(display_name="書き換え", is_active=False)

    assert barrier_check(repair=True) == [
        RetailAccountMismatch(retail_user.pk, AccountMismatch.DIFFERS)
    ]

    account = RetailAccount.objects.get(pk=retail_user.pk)
    assert (account.display_name, account.is_active) == (retail_user.display_name, True)
    assert barrier_check(repair=False) == []


def test_the_barrier_check_leaves_a_message_in_flight_to_the_relay(retail_user):
    # created, not yet relayed: not a disagreement
    assert barrier_check(repair=False) == []


def test_the_barrier_check_command_names_an_account_mismatch(retail_user):
    assert _account(retail_user) is not None
    RetailAccount.objects.filter(pk=retail_user.pk).delete()
    out = StringIO()

    with pytest.raises(SystemExit):
        call_command("barrier_check", stdout=out)

    assert f"user id={retail_user.pk} retail_account=account_missing" in out.getvalue()
    call_command("barrier_check", "--repair", stdout=StringIO())
    assert RetailAccount.objects.filter(pk=retail_user.pk).exists()
