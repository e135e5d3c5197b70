"""The same engine on shadan's own audit trail, scenarios built through the services."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.administration.services import user_create, user_grant_role, user_transfer
from apps.applications import services as app_services
from apps.applications.reveal import application_reveal_customer
from apps.audit.models import AuditAction
from apps.audit.services import audit_record
from apps.core.errors import NotAllowed
from apps.exposure.reports import report_from_trail
from apps.exposure.types import iso
from tests.conftest import PASSWORD, advance
from tests.factories import application_input, make_retailer
from tests.retail.site import LIST, detail, view_on_retail_site

from .helpers import headline

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])

ZERO = {
    "exposed_customers": 0,
    "exposed_customers_in_period": 0,
    "exposure_first": None,
    "exposure_last": None,
    "exposure_days_min": None,
    "exposure_days_max": None,
    "exposure_days_mean": None,
    "viewers": 0,
    "customers_viewed": 0,
    "retailers_viewed": 0,
    "switched_after_view": 0,
}


def trail_report():
    today = timezone.localdate()
    return report_from_trail(period_from=today - timedelta(days=1), period_to=today)


@pytest.fixture
def verified(new_application, clerk, supervisor, construction):
    """A released application of a non-affiliated retailer, visible to retail (masked)."""
    return advance(
        new_application(), "released", clerk=clerk, supervisor=supervisor, construction=construction
    )


def test_the_product_allows_no_stale_td_role_after_a_transfer_and_the_report_proves_zero(
    verified, administrator, retail_user, construction
):
    # given: a clerk moves to retail; the transfer takes every T&D role away
    mover = user_create(
        acting_user=administrator,
        username="ido_kimura",
        password=PASSWORD,
        division="td",
        roles=["clerk"],
    )
    user_transfer(acting_user=administrator, user_id=mover.pk, to_division="retail")
    # and nobody can hand a T&D role to a member of retail
    with pytest.raises(NotAllowed):
        user_grant_role(acting_user=administrator, user_id=mover.pk, role="clerk")
    mover.refresh_from_db()
    assert mover.role_codes() == []
    # nor can the mover read personal data any more
    with pytest.raises(NotAllowed):
        application_reveal_customer(acting_user=mover, application_id=verified.pk, purpose="entry")
    # when: retail looks at the masked projection, and construction reads the contact
    user_grant_role(acting_user=administrator, user_id=mover.pk, role="retail")
    view_on_retail_site(retail_user, LIST)
    view_on_retail_site(mover, detail(verified.reference))
    application_reveal_customer(
        acting_user=construction, application_id=verified.pk, purpose="scheduling"
    )
    # then: every access was read from the trail, none was a view of exposed data
    report = trail_report()
    assert headline(report) == ZERO
    assert report["by_contract_class"] == []
    assert report["by_retailer"] == []
    assert report["details"]["access_events_read"] >= 3
    assert report["details"]["accesses"] == []


def test_a_stale_td_role_in_the_trail_makes_a_window_and_its_views_count(
    verified, administrator, retail_user, new_application
):
    # given: the trail of a release that had the flaw: a transferred user whose T&D
    # role was recorded as kept. The product cannot produce this; the events are
    # written directly to show what the report would make of such evidence.
    mover = user_create(
        acting_user=administrator,
        username="ido_kimura",
        password=PASSWORD,
        division="td",
        roles=["clerk"],
    )
    user_transfer(acting_user=administrator, user_id=mover.pk, to_division="retail")
    user_grant_role(acting_user=administrator, user_id=mover.pk, role="retail")
    granted = audit_record(
        actor=administrator,
        action=AuditAction.ROLE_GRANTED,
        obj=mover,
        details={"role": "clerk", "division": "td"},
    )
    affiliated = make_retailer(code="K0001", name="沖縄でんき小売", is_affiliated=True)
    public = app_services.application_create(
        acting_user=verified.created_by, data=application_input(affiliated)
    )
    # when: the mover (retail) and another retail user look during the window
    view_on_retail_site(mover, detail(verified.reference))
    view_on_retail_site(retail_user, LIST)
    revoked = audit_record(
        actor=administrator, action=AuditAction.ROLE_REVOKED, obj=mover, details={"role": "clerk"}
    )
    view_on_retail_site(mover, detail(verified.reference))  # after: not counted
    # then
    report = trail_report()
    assert report["exposed_customers"] == 1  # the verified one; `public` is affiliated
    assert report["viewers"] == 2
    assert report["customers_viewed"] == 1
    assert report["retailers_viewed"] == 1
    assert report["switched_after_view"] == 0
    # the window is the time the stale role was held: from the grant to the revoke
    assert report["exposure_first"] == iso(granted.occurred_at.timestamp())
    assert report["exposure_last"] == iso(revoked.occurred_at.timestamp())
    assert report["exposure_days_min"] == report["exposure_days_max"] == 0
    assert report["exposure_days_mean"] == 0
    assert report["details"]["viewers"] == sorted(["ido_kimura", retail_user.username])
    assert [r["record_id"] for r in report["details"]["exposed_records"]] == [str(verified.pk)]
    assert report["details"]["accesses_counted"] == 2
    assert str(public.pk) not in {a["record_id"] for a in report["details"]["accesses"]}
    assert [(r["retailer_code"], r["customers_viewed"]) for r in report["by_retailer"]] == [
        (verified.retailer.code, 1)
    ]


def test_a_retailer_change_after_a_counted_view_is_a_switch(
    verified, administrator, retail_user, clerk, supervisor
):
    mover = user_create(
        acting_user=administrator,
        username="ido_kimura",
        password=PASSWORD,
        division="retail",
        roles=["retail"],
    )
    audit_record(
        actor=administrator,
        action=AuditAction.ROLE_GRANTED,
        obj=mover,
        details={"role": "construction", "division": "td"},
    )
    view_on_retail_site(mover, detail(verified.reference))
    other = make_retailer(code="A0099", name="にし新電力")
    app_services.application_change_retailer(
        acting_user=clerk,
        application_id=verified.pk,
        expected_version=verified.version,
        retailer_id=other.pk,
    )
    report = trail_report()
    assert (report["viewers"], report["customers_viewed"], report["switched_after_view"]) == (
        1,
        1,
        1,
    )
    row = report["details"]["switched_after_view"][0]
    assert row["record_id"] == str(verified.pk)
    assert row["to_retailer_code"] is None  # the trail records the change, not the codes


def test_the_product_refuses_a_superuser_in_retail(administrator):
    with pytest.raises(ValidationError) as refused:
        user_create(
            acting_user=administrator,
            username="kouri_super",
            password=PASSWORD,
            division="retail",
            roles=["retail"],
            is_superuser=True,
        )
    assert "is_superuser" in refused.value.message_dict


def test_a_superuser_placed_in_retail_is_reported_as_a_window(verified, administrator):
    # The services refuse it (above); the events of a release that allowed it are written
    # directly to show that the report errs on the side of showing such a window.
    before = len(trail_report()["details"]["exposed_records"])
    boss = user_create(
        acting_user=administrator,
        username="kouri_super",
        password=PASSWORD,
        division="retail",
        roles=["retail"],
    )
    audit_record(
        actor=administrator,
        action=AuditAction.USER_CREATED,
        obj=boss,
        details={"division": "retail", "superuser": True},
    )
    report = trail_report()
    assert before == 0
    assert report["exposed_customers"] == 1
    assert report["viewers"] == 0  # a window, but nobody in retail looked inside it
    assert (
        report["details"]["exposed_records"][0]["windows"][0][1] == report["details"]["data_end"]
    )  # still open: it ends with the data (now)


def test_the_trail_counts_an_exposure_that_ended_before_the_period_and_not_one_after_it(
    verified, administrator, retail_user
):
    # given: a window of the flawed kind (a stale T&D role in retail), opened and closed
    # today, with a retail view inside it
    mover = user_create(
        acting_user=administrator,
        username="ido_kimura",
        password=PASSWORD,
        division="retail",
        roles=["retail"],
    )
    audit_record(
        actor=administrator,
        action=AuditAction.ROLE_GRANTED,
        obj=mover,
        details={"role": "clerk", "division": "td"},
    )
    view_on_retail_site(mover, detail(verified.reference))
    audit_record(
        actor=administrator, action=AuditAction.ROLE_REVOKED, obj=mover, details={"role": "clerk"}
    )
    today = timezone.localdate()

    def report(first: int, last: int) -> dict:
        return report_from_trail(
            period_from=today + timedelta(days=first), period_to=today + timedelta(days=last)
        )

    # when: the period holds today, starts after it (the window closed before the
    # period), or ended before it (the window began after the period)
    during = report(-1, 30)
    later = report(1, 30)
    earlier = report(-30, -1)
    # then: the same exposed customer whatever the period's start, whole
    for counted in (during, later):
        assert counted["exposed_customers"] == 1
        assert [r["record_id"] for r in counted["details"]["exposed_records"]] == [str(verified.pk)]
        assert [(r["retailer_code"], r["exposed_customers"]) for r in counted["by_retailer"]] == [
            (verified.retailer.code, 1)
        ]
    assert later["exposure_first"] == during["exposure_first"]
    assert later["exposure_last"] == during["exposure_last"]
    # only the period holding the window had it in the period, and saw the view
    assert (during["exposed_customers_in_period"], later["exposed_customers_in_period"]) == (1, 0)
    assert [r["exposed_customers_in_period"] for r in later["by_contract_class"]] == [0]
    assert (during["viewers"], during["customers_viewed"]) == (1, 1)
    assert (later["viewers"], later["customers_viewed"]) == (0, 0)
    # and a period that ended before the window began does not count it
    assert headline(earlier) == ZERO
