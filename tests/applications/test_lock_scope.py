"""A transition locks its own application, not the retailer's row (PostgreSQL).

The affiliated retailer holds most applications: a lock on its row would make every
clerk and supervisor of the company wait on each other."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from django.db import OperationalError, connection, connections, transaction

from apps.applications import services
from apps.applications.models import Application
from tests.conftest import require_postgres

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, databases=["default", "vault", "retail"]),
]


@contextmanager
def _held_open(action: Callable[[], object]) -> Iterator[list[BaseException]]:
    """Runs `action` in a transaction on another thread and keeps that transaction (and
    its locks) open while the block runs; yields the list its failures go into."""
    holding = threading.Event()
    release = threading.Event()
    failures: list[BaseException] = []

    def hold() -> None:
        try:
            with transaction.atomic():
                action()
                holding.set()
                release.wait(timeout=30)
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)
        finally:
            holding.set()
            for conn in connections.all():
                conn.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(timeout=30)
        yield failures
    finally:
        release.set()
        holder.join(timeout=30)


def test_transitions_on_two_applications_of_one_retailer_do_not_wait_on_each_other(
    new_application, clerk
):
    require_postgres()
    first, second = new_application(), new_application()
    assert first.retailer_id == second.retailer_id

    # given: the first transition's locks are held; when: a second transition on another
    # application of the same retailer runs with a short lock timeout
    with (
        _held_open(
            lambda: services.application_submit(acting_user=clerk, application_id=first.pk)
        ) as failures,
        transaction.atomic(),
    ):
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '2s'")
        services.application_submit(acting_user=clerk, application_id=second.pk)

    # then: it completed instead of timing out, and so did the first
    assert not failures
    assert Application.objects.get(pk=second.pk).state == "entered"
    assert Application.objects.get(pk=first.pk).state == "entered"


def test_opening_the_review_locks_the_application_not_the_people_or_retailer_it_reads(
    new_application, clerk, supervisor, supervisor2
):
    """The page's lock reads the retailer and the people who created and encoded the
    application with it (LEFT JOINs: nobody may have encoded yet); it must lock the
    application's row only."""
    require_postgres()
    from tests.conftest import advance

    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor, relay=False)

    with (
        _held_open(
            lambda: services.application_open_review(acting_user=supervisor2, application_id=app.pk)
        ) as failures,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        # NOWAIT: a lock held by the opening would raise here at once.
        cursor.execute("SELECT id FROM accounts_user WHERE id = %s FOR UPDATE NOWAIT", [clerk.pk])
        cursor.execute(
            "SELECT id FROM retailers_retailer WHERE id = %s FOR UPDATE NOWAIT",
            [app.retailer_id],
        )
        locked_out = False
        try:
            with transaction.atomic():
                cursor.execute(
                    "SELECT id FROM applications_application WHERE id = %s FOR UPDATE NOWAIT",
                    [app.pk],
                )
        except OperationalError:  # the lock the opening holds
            locked_out = True

    assert not failures
    assert locked_out, "the opening did not lock the application"
