"""Two supervisors verifying the same application at the same moment (PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from apps.applications import services
from apps.applications.models import Application, ApplicationGroupObjectPermission
from apps.audit.models import AuditAction, AuditEvent
from apps.core.errors import ServiceError
from tests.conftest import advance, require_postgres

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, databases=["default", "vault", "retail"]),
]


def test_two_supervisors_verifying_at_once_exactly_one_succeeds(
    new_application, clerk, supervisor, supervisor2
):
    require_postgres()
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    for person in (supervisor, supervisor2):
        services.application_record_review_opened(acting_user=person, application_id=app.pk)

    start = threading.Barrier(2)
    outcomes: dict[str, str | ServiceError] = {}

    def verify(person) -> None:
        try:
            start.wait(timeout=10)
            services.application_verify(
                acting_user=person, application_id=app.pk, expected_version=app.version
            )
            outcomes[person.username] = "ok"
        except ServiceError as exc:
            outcomes[person.username] = exc
        finally:
            for conn in connections.all():
                conn.close()

    threads = [threading.Thread(target=verify, args=(p,)) for p in (supervisor, supervisor2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    winners = [name for name, result in outcomes.items() if result == "ok"]
    losers = [result for result in outcomes.values() if isinstance(result, ServiceError)]
    assert len(winners) == 1 and len(losers) == 1
    assert losers[0].code == "wrong_state"  # "already verified": a clear error
    app = Application.objects.get(pk=app.pk)
    assert app.verified_by.username == winners[0]
    assert AuditEvent.objects.filter(action=AuditAction.APPLICATION_VERIFIED).count() == 1
    # One grant on this application (roles' group permissions are events too, elsewhere).
    granted = AuditEvent.objects.filter(
        action=AuditAction.PERMISSION_GRANTED,
        object_type="applications.application",
        object_id=str(app.pk),
    )
    assert granted.count() == 1
    assert ApplicationGroupObjectPermission.objects.filter(content_object=app).count() == 1


def test_stale_edit_racing_a_verification_is_refused_not_merged(
    new_application, clerk, clerk2, supervisor
):
    require_postgres()
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    services.application_record_review_opened(acting_user=supervisor, application_id=app.pk)
    start = threading.Barrier(2)
    outcomes: list[object] = []

    def run(fn) -> None:
        try:
            start.wait(timeout=10)
            fn()
            outcomes.append("ok")
        except ServiceError as exc:
            outcomes.append(exc.code)
        finally:
            for conn in connections.all():
                conn.close()

    verify = lambda: services.application_verify(  # noqa: E731
        acting_user=supervisor, application_id=app.pk, expected_version=1
    )
    edit = lambda: services.application_update(  # noqa: E731
        acting_user=clerk2, application_id=app.pk, expected_version=1, changes={"remarks": "変更"}
    )
    threads = [threading.Thread(target=run, args=(f,)) for f in (verify, edit)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    app = Application.objects.get(pk=app.pk)
    # Whichever went first, the other saw the row after it and was refused or adapted:
    # never a verified masking for a version that nobody verified.
    assert outcomes.count("ok") >= 1
    if app.masking_state == "verified":
        assert app.verified_version == app.version == 1
        assert "stale_version" in outcomes
    else:
        assert app.version == 2 and app.masking_state == "unmasked"
        assert not ApplicationGroupObjectPermission.objects.filter(content_object=app).exists()
