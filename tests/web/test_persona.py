"""Who the person is on every page (apps.web.access.persona): their division and roles
*now*, read in one statement (issue 17) that answers what `User.division_at()` and
`User.role_codes()` answer, whatever the memberships and groups."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import Group
from django.test import RequestFactory
from django.utils import timezone

from apps.accounts.models import DivisionMembership, Role, User
from apps.web.access import division_and_roles, persona
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


@pytest.mark.parametrize("case", CASES)
def test_one_statement_answers_what_division_at_and_role_codes_answer(
    case, django_assert_num_queries
):
    user = _person("someone", "td", "clerk")
    spans, roles = CASES[case]
    _memberships(user, *spans)
    _roles(user, *roles)

    with django_assert_num_queries(1):
        found = division_and_roles(user)

    assert found == (user.division_at(), user.role_codes())


def test_persona_keeps_only_the_roles_its_division_gives():
    user = _person("moved", "td", "clerk")
    _memberships(user, ("td", NOW - 90 * HOUR, NOW - HOUR), ("audit", NOW - HOUR, None))
    _roles(user, "clerk", "auditor")
    request = RequestFactory().get("/")
    request.user = user

    me = persona(request)

    assert (me.division, me.roles) == ("audit", frozenset({"auditor"}))
    assert persona(request) is me  # once per request
