"""Retail sees verified applications, masked, and nothing else."""

from __future__ import annotations

import pytest
from guardian.shortcuts import assign_perm

from apps.applications.barrier import Mismatch, PublicationMismatch, barrier_check
from apps.applications.models import Application
from apps.applications.retail_reads import (
    retail_application_detail,
    retail_application_list,
    retail_application_page,
)
from apps.applications.visibility import retail_group, withdraw_retail_view
from apps.audit.models import AuditAction, AuditEvent
from apps.core.errors import NotFound
from apps.vault.services import vault_read
from tests.conftest import _superuser_outside_admin, advance, replicate

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


def test_retail_sees_only_verified_applications(new_application, clerk, supervisor, retail_user):
    states = ["draft", "entered", "encoded", "verified", "released"]
    apps = {s: advance(new_application(), s, clerk=clerk, supervisor=supervisor) for s in states}

    seen = {r.reference for r in retail_application_list(user=retail_user)}

    assert seen == {apps["verified"].reference, apps["released"].reference}
    with pytest.raises(NotFound):
        retail_application_detail(user=retail_user, reference=str(apps["encoded"]))


def test_reading_from_the_td_side_puts_no_retail_view_into_the_trail(
    new_application, clerk, supervisor, retail_user
):
    # The only way a retail view enters the trail is the retail site's log and the
    # collector: the T&D-side reader must not make views nobody had on the retail site.
    app = advance(new_application(), "verified", clerk=clerk, supervisor=supervisor)
    before = AuditEvent.objects.count()

    listed = retail_application_list(user=retail_user)
    page = retail_application_page(user=retail_user)
    shown = retail_application_detail(user=retail_user, reference=str(app))

    assert (
        [row.reference for row in listed] == [app.reference] == [r["reference"] for r in page.rows]
    )
    assert shown.reference == app.reference
    assert AuditEvent.objects.count() == before
    assert not AuditEvent.objects.filter(
        action__in=[AuditAction.RETAIL_VIEWED, AuditAction.RETAIL_NOT_FOUND]
    ).exists()


def test_retail_projection_carries_no_personal_data(
    new_application, clerk, supervisor, retail_user
):
    app = advance(new_application(), "verified", clerk=clerk, supervisor=supervisor)
    pii = vault_read(app.customer_ref)

    detail = retail_application_detail(user=retail_user, reference=str(app))

    text = repr(detail.as_dict())
    for value in (pii.name, pii.name_kana, pii.phone, pii.email, app.street_address):
        assert value not in text
    assert detail.pseudonym == app.pseudonym


def test_the_permission_alone_does_not_open_an_unverified_application(
    new_application, clerk, supervisor, retail_user
):
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    assign_perm("view_application", retail_group(), app)  # one lock open, the other shut

    assert retail_application_list(user=retail_user) == []


def test_verified_masking_alone_does_not_open_it_either(
    new_application, clerk, supervisor, retail_user
):
    app = advance(new_application(), "verified", clerk=clerk, supervisor=supervisor)

    withdraw_retail_view(app, actor=None)  # the grant goes: the publication goes with it
    replicate()

    assert retail_application_list(user=retail_user) == []


def test_a_grant_removed_behind_the_services_is_found_and_its_publication_withdrawn(
    new_application, clerk, supervisor, retail_user
):
    from guardian.shortcuts import remove_perm

    app = advance(new_application(), "verified", clerk=clerk, supervisor=supervisor)
    remove_perm("view_application", retail_group(), app)

    found = barrier_check(repair=True)

    assert PublicationMismatch(app.pk, Mismatch.NOT_VISIBLE) in found
    assert retail_application_list(user=retail_user) == []


def test_model_level_view_permission_is_ignored_for_retail(
    new_application, clerk, supervisor, retail_user
):
    from django.contrib.auth.models import Permission

    advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    retail_user.user_permissions.add(Permission.objects.get(codename="view_application"))

    assert retail_application_list(user=retail_user) == []


@pytest.mark.parametrize("persona", ["clerk", "supervisor", "auditor", "administrator"])
def test_people_outside_retail_get_nothing_from_retail_selectors(
    request, new_application, clerk, supervisor, persona
):
    advance(new_application(), "verified", clerk=clerk, supervisor=supervisor)
    user = request.getfixturevalue(persona)

    assert retail_application_list(user=user) == []


def test_a_retail_superuser_still_sees_only_verified_applications(
    new_application, clerk, supervisor
):
    boss = _superuser_outside_admin("kouri_boss", "retail", "retail")
    advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)

    assert retail_application_list(user=boss) == []


def test_search_by_reference_or_supply_point(new_application, clerk, supervisor, retail_user):
    a = advance(new_application(), "verified", clerk=clerk, supervisor=supervisor)
    b = advance(new_application(), "verified", clerk=clerk, supervisor=supervisor)

    by_ref = retail_application_list(user=retail_user, search=str(a).lower())
    by_spid = retail_application_list(user=retail_user, search=b.supply_point_id)

    assert [r.reference for r in by_ref] == [a.reference]
    assert [r.reference for r in by_spid] == [b.reference]
    assert Application.objects.count() == 2


def test_a_per_person_grant_does_not_open_anything_for_retail(
    new_application, clerk, supervisor, retail_user
):
    from guardian.shortcuts import remove_perm

    app = advance(new_application(), "verified", clerk=clerk, supervisor=supervisor)
    remove_perm("view_application", retail_group(), app)
    assign_perm("view_application", retail_user, app)  # only the group's grant counts
    barrier_check(repair=True)

    assert retail_application_list(user=retail_user) == []
