"""Who the person is on every page (apps.web.access.persona): their division and roles
*now* and their unread inbox entries, read in one statement (issue 17) that answers what
`User.division_at()`, `User.role_codes()` and `notifications.selectors.unread_count`
answer, whatever the memberships, groups and inbox."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import RequestFactory
from django.utils import timezone

from apps.accounts.backends import permission_strings
from apps.accounts.models import DivisionMembership, Role, User
from apps.notifications.models import InboxEntry
from apps.notifications.selectors import UNREAD_SHOWN, unread_count
from apps.notifications.services import outbox_write, relay_due
from apps.web.access import Who, persona, who
from tests.conftest import _person

pytestmark = pytest.mark.django_db

NOW = timezone.now()
HOUR = datetime.timedelta(hours=1)
Span = tuple[str, datetime.datetime, datetime.datetime | None]  # division, from, until


def _memberships(user: User, *spans: Span) -> None:
    DivisionMembership.objects.filter(user=user).delete()
    for division, start, end in spans:
        DivisionMembership.objects.create(
            user=user, division_id=division, valid_from=start, valid_until=end
        )


def _roles(user: User, *codes: str) -> None:
    user.groups.set(Group.objects.filter(role__in=Role.objects.filter(code__in=codes)))


CASES: dict[str, tuple[list[Span], list[str]]] = {
    "one open membership, one role": ([("td", NOW - 30 * HOUR, None)], ["clerk"]),
    "several roles": ([("td", NOW - HOUR, None)], ["supervisor", "clerk", "construction"]),
    "no role": ([("td", NOW - HOUR, None)], []),
    "no membership": ([], ["clerk"]),
    "transferred an hour ago": (
        [("td", NOW - 90 * HOUR, NOW - HOUR), ("audit", NOW - HOUR, None)],
        ["clerk", "auditor"],
    ),
    "transfer tomorrow": (
        [("td", NOW - 90 * HOUR, NOW + 24 * HOUR), ("retail", NOW + 24 * HOUR, None)],
        ["clerk", "retail"],
    ),
    "membership ended": ([("td", NOW - 90 * HOUR, NOW - HOUR)], ["clerk"]),
    "membership not begun": ([("retail", NOW + HOUR, None)], ["retail"]),
}


def _inbox(user: User, *, unread: int, read: int = 0, elsewhere: int = 0) -> None:
    """Entries for the user: unread and read ones of their division, unread ones left
    behind in another division."""
    for i in range(unread + read + elsewhere):
        outbox_write(
            recipient_ids=[user.pk],
            kind="test",
            subject=f"[R-{i:03d}] test",
            body="",
            dedupe_key=f"persona:{user.pk}:{i}",
        )
    relay_due()
    entries = InboxEntry.objects.filter(user=user).order_by("id")
    InboxEntry.objects.filter(pk__in=[e.pk for e in entries[:read]]).update(read_at=NOW)
    others = [e.pk for e in entries[read : read + elsewhere]]
    InboxEntry.objects.filter(pk__in=others).update(division="elsewhere")


@pytest.mark.parametrize("case", CASES)
def test_one_statement_answers_what_division_at_role_codes_and_unread_count_answer(
    case, django_assert_num_queries
):
    user = _person("someone", "td", "clerk")
    _inbox(user, unread=2, read=1, elsewhere=1)
    spans, roles = CASES[case]
    _memberships(user, *spans)
    _roles(user, *roles)

    with django_assert_num_queries(1):
        found = who(user)

    division = user.division_at()
    held = frozenset(permission_strings(user))
    assert found == Who(division, user.role_codes(), unread_count(user, division), held)


def test_the_unread_count_stops_past_what_the_badge_shows():
    user = _person("busy", "td", "clerk")
    _inbox(user, unread=UNREAD_SHOWN + 3)

    assert who(user).unread == UNREAD_SHOWN + 1 == unread_count(user, "td")


def test_persona_keeps_only_the_roles_its_division_gives():
    user = _person("moved", "td", "clerk")
    _memberships(user, ("td", NOW - 90 * HOUR, NOW - HOUR), ("audit", NOW - HOUR, None))
    _roles(user, "clerk", "auditor")
    request = RequestFactory().get("/")
    request.user = user

    me = persona(request)

    assert (me.division, me.roles) == ("audit", frozenset({"auditor"}))
    assert persona(request) is me  # once per request


def test_persona_reads_the_permissions_so_a_permission_check_asks_no_query(
    django_assert_num_queries,
):
    """Who the person is comes with what they may do (the permissions Django's backends
    answer from), so the review page and every workflow POST check a permission without
    a round trip of its own; a permission the person lacks is still refused."""
    user = _person("acting", "td", "supervisor")
    user.user_permissions.add(Permission.objects.get(codename="view_group"))
    request = RequestFactory().get("/")
    request.user = User.objects.get(pk=user.pk)  # as a request loads them

    expected = permission_strings(user)

    with django_assert_num_queries(1):
        me = persona(request)
    with django_assert_num_queries(0):
        held = {p for p in expected if request.user.has_perm(p)}
        assert not request.user.has_perm("auth.delete_group")

    assert me.user is request.user
    assert held == expected
    assert "auth.view_group" in held
    assert any(p.startswith("applications.") for p in held)  # the supervisor group's


def test_a_superusers_permissions_stay_every_permission():
    root = User.objects.create_superuser("root-persona", password="x")
    request = RequestFactory().get("/")
    request.user = User.objects.get(pk=root.pk)

    persona(request)

    assert request.user.has_perm("auth.delete_group")
