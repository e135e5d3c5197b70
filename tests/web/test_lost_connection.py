"""A database connection lost mid-request (PostgreSQL killed the backend): a read is
retried once instead of a 500, and a transition POSTed again after a commit whose answer
was lost shows its result instead of a refusal (issue 15 item 11)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import OperationalError
from django.db.backends import utils
from django.test import Client
from django.urls import reverse

from apps.applications import services
from apps.applications.models import Application
from apps.audit.models import AuditAction, AuditEvent
from tests.conftest import advance

TABLE = "applications_application"


@contextmanager
def connection_lost_once(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    """The first statement that reads the applications fails as a killed backend does."""
    real = utils.CursorWrapper.execute
    seen = {"failed": 0}

    def execute(self, sql, params=None):
        if TABLE in str(sql) and not seen["failed"]:
            seen["failed"] += 1
            raise OperationalError("terminating connection due to administrator command")
        return real(self, sql, params)

    with monkeypatch.context() as patched:
        patched.setattr(utils.CursorWrapper, "execute", execute)
        yield seen


def _client(user) -> Client:
    # As a browser sees it: the 500 page, not the exception re-raised by the test client.
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


# Outside a test transaction: the retry is refused inside one, as inside any transaction
# spanning the request.
@pytest.mark.django_db(transaction=True, databases=["default", "vault", "retail"])
def test_a_read_whose_connection_was_lost_is_retried_once(monkeypatch, clerk, new_application):
    app = new_application()
    client = _client(clerk)

    with connection_lost_once(monkeypatch) as seen:
        response = client.get(reverse("application-detail", args=[app.pk]))

    assert seen["failed"] == 1
    assert response.status_code == 200
    assert app.reference in response.content.decode()


@pytest.mark.django_db(transaction=True, databases=["default", "vault", "retail"])
def test_a_post_whose_connection_was_lost_is_not_run_again(monkeypatch, clerk, new_application):
    app = new_application()
    client = _client(clerk)

    with connection_lost_once(monkeypatch) as seen:
        response = client.post(reverse("clerk-submit", args=[app.pk]), {"version": app.version})

    assert seen["failed"] == 1
    assert response.status_code == 500
    assert Application.objects.get(pk=app.pk).state == "draft"


@pytest.mark.django_db(transaction=True, databases=["default", "vault", "retail"])
def test_a_read_failing_twice_is_a_500(monkeypatch, clerk, new_application):
    app = new_application()
    client = _client(clerk)
    real = utils.CursorWrapper.execute

    def always(self, sql, params=None):
        if TABLE in str(sql):
            raise OperationalError("the server is gone")
        return real(self, sql, params)

    monkeypatch.setattr(utils.CursorWrapper, "execute", always)
    response = client.get(reverse("application-detail", args=[app.pk]))

    assert response.status_code == 500


# --- a POST repeated after a commit whose answer was lost ----------------------------------


def _checklist(app: Application) -> dict[str, object]:
    return {
        "version": app.version,
        "check_retailer": "on",
        "check_free_text": "on",
        "check_preview": "on",
    }


@pytest.mark.django_db(databases=["default", "vault", "retail"])
def test_a_verify_posted_again_by_its_verifier_shows_the_result(
    client, new_application, clerk, supervisor, supervisor2
):
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    client.force_login(supervisor2)
    client.get(reverse("review-page", args=[app.pk]))
    first = client.post(reverse("review-verify", args=[app.pk]), _checklist(app))
    assert first.status_code == 302
    verified = AuditEvent.objects.filter(action=AuditAction.APPLICATION_VERIFIED).count()

    # when: the browser (or the proxy) sends the same POST again
    again = client.post(reverse("review-verify", args=[app.pk]), _checklist(app))

    # then: the result page, as the first time, and nothing done twice
    assert again.status_code == 302
    assert again["Location"] == reverse("review-queue")
    assert AuditEvent.objects.filter(action=AuditAction.APPLICATION_VERIFIED).count() == verified


@pytest.mark.django_db(databases=["default", "vault", "retail"])
def test_another_supervisor_posting_verify_after_it_is_done_is_still_refused(
    client, new_application, clerk, supervisor, supervisor2
):
    app = advance(new_application(), "verified", clerk=clerk, supervisor=supervisor)
    assert Application.objects.get(pk=app.pk).verified_by != supervisor2

    with pytest.raises(services.WrongState):
        services.application_verify(
            acting_user=supervisor2, application_id=app.pk, expected_version=app.version
        )


@pytest.mark.django_db(databases=["default", "vault", "retail"])
def test_submit_and_encode_posted_again_by_the_same_clerk_return_the_result(new_application, clerk):
    app = new_application()
    services.application_submit(
        acting_user=clerk, application_id=app.pk, expected_version=app.version
    )
    again = services.application_submit(
        acting_user=clerk, application_id=app.pk, expected_version=app.version
    )
    assert again.state == "entered"

    services.application_encode(
        acting_user=clerk, application_id=app.pk, expected_version=app.version
    )
    events = AuditEvent.objects.count()
    again = services.application_encode(
        acting_user=clerk, application_id=app.pk, expected_version=app.version
    )
    assert again.masking_state == "encoded"
    assert AuditEvent.objects.count() == events


@pytest.mark.django_db(databases=["default", "vault", "retail"])
def test_a_transition_without_the_version_seen_is_not_taken_as_a_retry(new_application, clerk):
    # Without the version the page showed there is no telling a retry from a second action.
    app = new_application()
    services.application_submit(acting_user=clerk, application_id=app.pk)

    with pytest.raises(services.WrongState):
        services.application_submit(acting_user=clerk, application_id=app.pk)
