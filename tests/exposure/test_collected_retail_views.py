"""The exposure report reads retail views collected from the retail site's log: each
counts at the moment it happened, not when the collector copied it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.administration.services import user_create, user_grant_role, user_transfer
from apps.audit import collector
from apps.audit.collector import retail_views_collect
from apps.audit.models import AuditAction
from apps.audit.services import audit_record
from apps.exposure.reports import report_from_trail
from apps.publication.models import RetailView, RetailViewLog
from tests.conftest import PASSWORD, advance

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


@pytest.fixture(autouse=True)
def _settled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(collector, "SETTLE_SECONDS", 0)


def log_view(user, application, view=RetailView.DETAIL):
    return RetailViewLog.objects.create(
        account_id=user.pk,
        username=user.username,
        view=view,
        application_id=application.pk,
        reference=application.reference or "",
        pseudonym=application.pseudonym,
    )


def test_a_view_logged_in_a_window_counts_though_collected_after_it_closed(
    new_application, clerk, supervisor, construction, administrator
):
    # given: the evidence of a flawed release (a stale T&D role kept in retail), as in
    # tests/exposure/test_trail.py, and a verified application
    verified = advance(
        new_application(), "released", clerk=clerk, supervisor=supervisor, construction=construction
    )
    mover = user_create(
        acting_user=administrator,
        username="ido_kimura",
        password=PASSWORD,
        division="td",
        roles=["clerk"],
    )
    user_transfer(acting_user=administrator, user_id=mover.pk, to_division="retail")
    user_grant_role(acting_user=administrator, user_id=mover.pk, role="retail")
    audit_record(
        actor=administrator,
        action=AuditAction.ROLE_GRANTED,
        obj=mover,
        details={"role": "clerk", "division": "td"},
    )
    # when: the mover looks inside the window, which closes before the collector runs
    log_view(mover, verified)
    log_view(mover, verified, RetailView.LIST)
    audit_record(
        actor=administrator, action=AuditAction.ROLE_REVOKED, obj=mover, details={"role": "clerk"}
    )
    log_view(mover, verified)  # after the window: not counted
    retail_views_collect()
    # then
    today = timezone.localdate()
    report = report_from_trail(period_from=today - timedelta(days=1), period_to=today)
    assert (report["viewers"], report["customers_viewed"]) == (1, 1)
    assert report["details"]["viewers"] == ["ido_kimura"]
    assert report["details"]["accesses_counted"] == 2
