"""The statements each workflow transition costs, pinned: a change that adds a round trip
to the workflow's path fails here (speed itself belongs to `make bench`, never a test).

Counted on every database (the vault too), without the SAVEPOINT/RELEASE pairs that stand
in for BEGIN/COMMIT inside a test's transaction, and with each user's permissions already
loaded (a request loads them once, with its user). The relays that follow a commit are
not counted: tests in `db` mode never fire on_commit, and they are the outboxes' work,
not the transition's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.accounts.models import User
from apps.applications import services
from apps.retailers.models import Retailer
from tests.factories import application_input

# What each transition reads and writes, statement by statement (SQLite and PostgreSQL
# run the same statements, but where ON_POSTGRESQL says):
BUDGET = {
    # the retailer, with whether the clerk is in T&D and the pseudonym is free (one
    # SELECT); vault record + blind index (two INSERTs); INSERT; reference;
    # contribution; audit
    "create": 7,
    # lock (with the actor's division, and whether anyone else wrote the draft); vault
    # read (the whole record is validated again); UPDATE; contribution; audit (the
    # submitter wrote the draft alone: nobody to tell, no outbox statement)
    "submit": 5,
    # lock; vault read (the leak scan); UPDATE; contribution; audit; outbox
    "encode": 6,
    # lock; review opening; audit
    "review_opened": 3,
    # lock (with whether the verifier shaped any version and opened the review page
    # after this encoding); UPDATE; grant (INSERT … SELECT); publication message; the
    # grant's and the verification's audit events (one INSERT); outbox
    "verify": 6,
    # lock; UPDATE; publication message if the grant is still there (INSERT … SELECT
    # … WHERE EXISTS); audit; outbox
    "release": 5,
    # lock; UPDATE; publication message if granted; audit
    "complete": 4,
    "energize": 4,
}
# On PostgreSQL the vault's record and its blind index are one statement (INSERT inside
# WITH: apps.core.statements.Inserts), with no BEGIN and COMMIT of its own, and every
# row a transition writes beside its own — a contribution, a review opening, the grant,
# the publication message, the outbox's INSERT … SELECT — is written by its audit
# event's statement (apps.audit.services' riders): lock, UPDATE, audit.
ON_POSTGRESQL = {
    "create": 5,
    "submit": 4,
    "encode": 4,
    "review_opened": 2,
    "verify": 3,
    "release": 3,
    "complete": 3,
    "energize": 3,
}


@contextmanager
def _statements() -> Iterator[list[str]]:
    found: list[str] = []
    with ExitStack() as stack:
        contexts = [
            stack.enter_context(CaptureQueriesContext(connections[alias])) for alias in connections
        ]
        yield found
    found += [
        query["sql"]
        for context in contexts
        for query in context.captured_queries
        if not query["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
    ]


@pytest.mark.django_db(databases="__all__")
def test_each_transition_stays_within_its_statements(
    clerk: User, supervisor: User, construction: User, retailer: Retailer
) -> None:
    for user in (clerk, supervisor, construction):
        user.has_perm("applications.view_application")  # loads the permission cache
    data = application_input(retailer)
    counted: dict[str, int] = {}

    def step(name: str, transition: Callable[[], Any]) -> Any:
        with _statements() as found:
            result = transition()
        counted[name] = len(found)
        return result

    app = step("create", lambda: services.application_create(acting_user=clerk, data=data))
    pk = app.pk
    step("submit", lambda: services.application_submit(acting_user=clerk, application_id=pk))
    app = step("encode", lambda: services.application_encode(acting_user=clerk, application_id=pk))
    step(
        "review_opened",
        lambda: services.application_record_review_opened(
            acting_user=supervisor, application_id=pk
        ),
    )
    step(
        "verify",
        lambda: services.application_verify(
            acting_user=supervisor, application_id=pk, expected_version=app.version
        ),
    )
    step("release", lambda: services.application_release(acting_user=supervisor, application_id=pk))
    today = timezone.localdate()
    step(
        "complete",
        lambda: services.application_complete(
            acting_user=construction, application_id=pk, completed_on=today
        ),
    )
    app = step(
        "energize",
        lambda: services.application_energize(
            acting_user=construction, application_id=pk, energized_on=today
        ),
    )
    assert app.state == "energized"
    budget = {**BUDGET, **(ON_POSTGRESQL if connections["vault"].vendor == "postgresql" else {})}
    over = {name: (n, budget[name]) for name, n in counted.items() if n > budget[name]}
    assert not over, f"statements (counted, budget) over budget: {over}"
    assert counted == budget, f"fewer statements than pinned: lower the budget to {counted}"
