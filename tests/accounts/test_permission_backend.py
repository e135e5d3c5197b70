"""A person's permissions are read in one statement (apps.accounts.backends), with the
answers Django's ModelBackend gives, and sign-in stays ModelBackend's."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from django.contrib.auth import SESSION_KEY, authenticate
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AnonymousUser, Group, Permission
from django.db.models.sql.compiler import SQLCompiler
from django.test import Client

from apps.accounts.backends import PermissionBackend
from apps.accounts.models import User

pytestmark = pytest.mark.django_db


def _fresh(user: User) -> User:
    """The user as a request loads them: a new object, nothing cached."""
    return User.objects.get(pk=user.pk)


def _grant_own(user: User, codename: str) -> None:
    user.user_permissions.add(Permission.objects.get(codename=codename))


def _people(clerk: User, supervisor: User, auditor: User, administrator: User) -> list[User]:
    _grant_own(auditor, "view_group")  # a permission of the person's own, beside the groups'
    extra = Group.objects.create(name="only-for-this-test")
    extra.permissions.add(Permission.objects.get(codename="change_group"))
    supervisor.groups.add(extra)
    inactive = User.objects.create_user("inactive", password="x", is_active=False)
    _grant_own(inactive, "view_group")
    superuser = User.objects.create_superuser("root-for-this-test", password="x")
    nobody = User.objects.create_user("nobody", password="x")
    return [clerk, supervisor, auditor, administrator, inactive, superuser, nobody]


def test_every_person_has_the_permissions_modelbackend_gives(
    clerk, supervisor, auditor, administrator
):
    for person in _people(clerk, supervisor, auditor, administrator):
        expected = ModelBackend().get_all_permissions(_fresh(person))
        assert PermissionBackend().get_all_permissions(_fresh(person)) == expected, person
        for perm in [*sorted(expected), "auth.view_group", "auth.change_group", "no.such"]:
            answer = ModelBackend().has_perm(_fresh(person), perm)
            assert PermissionBackend().has_perm(_fresh(person), perm) == answer, (person, perm)
    assert "auth.view_group" in PermissionBackend().get_all_permissions(_fresh(auditor))
    assert "auth.change_group" in PermissionBackend().get_all_permissions(_fresh(supervisor))


def test_an_object_or_an_anonymous_person_has_none(clerk):
    backend = PermissionBackend()
    assert backend.get_all_permissions(_fresh(clerk), obj=clerk) == set()
    assert backend.get_all_permissions(AnonymousUser()) == set()


def test_a_request_reads_its_persons_permissions_in_one_statement(
    clerk, supervisor, django_assert_num_queries
):
    person = _fresh(supervisor)
    perms = sorted(ModelBackend().get_all_permissions(_fresh(supervisor)))
    assert perms  # a supervisor's roles carry permissions

    with django_assert_num_queries(1):
        for perm in [*perms, "no.such", "auth.change_group"]:
            person.has_perm(perm)  # a missing one asks ModelBackend too: from the cache


def test_a_grant_is_seen_by_the_next_request_as_with_modelbackend(clerk):
    before = _fresh(clerk)
    assert not before.has_perm("auth.view_group")
    _grant_own(clerk, "view_group")

    assert not before.has_perm("auth.view_group")  # cached on the object, as Django's
    assert _fresh(clerk).has_perm("auth.view_group")


def test_sign_in_and_sessions_stay_modelbackends(clerk):
    clerk.set_password("a long enough password 1")
    clerk.save()
    signed_in: Any = authenticate(username=clerk.username, password="a long enough password 1")
    assert signed_in is not None
    assert signed_in.backend == "django.contrib.auth.backends.ModelBackend"
    assert (
        PermissionBackend().authenticate(
            None, username=clerk.username, password="a long enough password 1"
        )
        is None
    )

    client = Client()
    assert client.login(username=clerk.username, password="a long enough password 1")
    assert client.session[SESSION_KEY] == str(clerk.pk)
    assert client.session["_auth_user_backend"] == "django.contrib.auth.backends.ModelBackend"


def test_the_statement_is_built_once(clerk, supervisor):
    """Every request that checks a permission reads them: the statement is compiled
    once per process, not per request, and answers for each person."""
    PermissionBackend().get_all_permissions(_fresh(clerk))  # built here, or earlier
    people = [_fresh(clerk), _fresh(supervisor)]
    expected = [ModelBackend().get_all_permissions(_fresh(p)) for p in (clerk, supervisor)]
    with mock.patch.object(
        SQLCompiler, "as_sql", autospec=True, side_effect=AssertionError("compiled")
    ):
        answers = [PermissionBackend().get_all_permissions(person) for person in people]
    assert answers == expected and all(expected)
