"""The published record: written by verification, deleted by every change that
invalidates it in the same transaction, and followed by progress."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from apps.applications import services
from apps.applications.barrier import Mismatch, PublicationMismatch, barrier_check
from apps.applications.models import Application
from apps.applications.retail_reads import retail_application_detail, retail_application_list
from apps.applications.visibility import withdraw_retail_view
from apps.audit.models import AuditAction, AuditEvent
from apps.core.errors import WrongState
from apps.publication.models import PublishedApplication
from apps.retailers.models import Retailer
from apps.retailers.services import (
    retailer_decide_affiliation,
    retailer_propose_affiliation,
    retailer_rename,
)
from apps.vocabulary.projection import RetailApplication, project, projection_hash
from tests.conftest import _person, advance, replicate
from tests.factories import make_retailer

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


@pytest.fixture
def verified(new_application, clerk, supervisor):
    def make(**overrides):
        app = advance(new_application(**overrides), "verified", clerk=clerk, supervisor=supervisor)
        replicate()
        return app

    return make


def _published(app: Application) -> PublishedApplication | None:
    replicate()
    return PublishedApplication.objects.filter(application_id=app.pk).first()


def _shown(app: Application) -> RetailApplication:
    row = _published(app)
    assert row is not None
    return row.projection()


def _reload(app: Application) -> Application:
    return Application.objects.select_related("retailer").get(pk=app.pk)


def _verify_again(app: Application, *, clerk, supervisor) -> Application:
    app = _reload(app)
    app = services.application_encode(acting_user=clerk, application_id=app.pk)
    services.application_record_review_opened(acting_user=supervisor, application_id=app.pk)
    return services.application_verify(
        acting_user=supervisor, application_id=app.pk, expected_version=app.version
    )


# --- publication ----------------------------------------------------------------------


def test_verification_publishes_exactly_the_projection_the_supervisor_checked(
    new_application, clerk, supervisor
):
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    shown_to_supervisor = project(_reload(app))
    assert _published(app) is None

    advance(app, "verified", clerk=clerk, supervisor=supervisor)

    row = _published(app)
    assert row is not None
    app = _reload(app)
    assert row.projection().replace(state="encoded") == shown_to_supervisor
    assert row.projection_hash == app.projection_hash == projection_hash(shown_to_supervisor)
    assert (row.version, row.verified_at) == (app.version, app.verified_at)
    assert row.projection().state == "verified"


def test_nothing_before_verification_is_published(new_application, clerk, supervisor):
    for state in ("draft", "entered", "encoded"):
        advance(new_application(), state, clerk=clerk, supervisor=supervisor)

    assert PublishedApplication.objects.count() == 0


def test_progress_follows_the_published_row_without_changing_its_hash(
    verified, clerk, supervisor, construction, retail_user
):
    app = verified()
    hash_at_verification = projection_hash(_shown(app))

    for state in ("released", "constructed", "energized"):
        app = advance(app, state, clerk=clerk, supervisor=supervisor, construction=construction)
        assert _shown(app).state == state
        assert projection_hash(_shown(app)) == hash_at_verification
        detail = retail_application_detail(user=retail_user, reference=str(app.reference))
        assert detail.state == state


# --- every invalidation deletes the row, in the same transaction ------------------------


def test_an_edit_withdraws_the_publication(verified, clerk):
    app = verified()

    services.application_update(
        acting_user=clerk,
        application_id=app.pk,
        expected_version=app.version,
        changes={"remarks": "工事日程を再調整"},
    )

    assert _published(app) is None


def test_an_edit_after_release_withdraws_the_publication_and_keeps_progress(
    verified, clerk, supervisor
):
    app = advance(verified(), "released", clerk=clerk, supervisor=supervisor)

    services.application_update(
        acting_user=clerk,
        application_id=app.pk,
        expected_version=app.version,
        changes={"municipality": "浦添市"},
    )
    assert _published(app) is None

    app = _verify_again(app, clerk=clerk, supervisor=supervisor)
    assert (_shown(app).state, _shown(app).municipality) == ("released", "浦添市")


def test_a_change_of_retailer_withdraws_the_publication(verified, clerk):
    app = verified()
    other = make_retailer(code="B0009", name="にし新電力")

    services.application_change_retailer(
        acting_user=clerk,
        application_id=app.pk,
        expected_version=app.version,
        retailer_id=other.pk,
    )

    assert _published(app) is None


def test_a_cancellation_withdraws_the_publication(verified, supervisor):
    app = verified()

    services.application_cancel(
        acting_user=supervisor, application_id=app.pk, reason="お客さま都合で取りやめ"
    )

    assert _published(app) is None


def test_a_return_after_a_post_release_edit_publishes_nothing(verified, clerk, supervisor):
    app = advance(verified(), "released", clerk=clerk, supervisor=supervisor)
    app = services.application_update(
        acting_user=clerk,
        application_id=app.pk,
        expected_version=app.version,
        changes={"remarks": "引込位置変更"},
    )
    services.application_encode(acting_user=clerk, application_id=app.pk)

    services.application_return(acting_user=supervisor, application_id=app.pk, reason="記載漏れ")

    assert _published(app) is None


def test_withdrawing_the_grant_withdraws_the_publication(verified):
    app = verified()

    with transaction.atomic():
        withdraw_retail_view(_reload(app), actor=None)

    assert _published(app) is None


def test_a_failed_change_keeps_the_publication(verified, clerk):
    app = verified()

    with pytest.raises(Exception):  # noqa: B017 - any refusal; the row must survive it
        services.application_update(
            acting_user=clerk,
            application_id=app.pk,
            expected_version=app.version + 1,  # stale
            changes={"remarks": "別の変更"},
        )

    assert _published(app) is not None


# --- a retailer's name or affiliation ---------------------------------------------------


def test_renaming_a_retailer_withdraws_the_publication_and_retail_keeps_nothing_unchecked(
    verified, administrator, retail_user, retailer
):
    app = verified()

    retailer_rename(acting_user=administrator, retailer_id=retailer.pk, name="みなみ新電力株式会社")

    assert _published(app) is None
    assert retail_application_list(user=retail_user) == []
    app = _reload(app)
    assert (app.state, app.masking_state) == ("entered", "unmasked")
    event = AuditEvent.objects.filter(action=AuditAction.MASKING_INVALIDATED).get()
    assert event.details["cause"] == "retailer_renamed"


def test_after_a_rename_the_normal_encode_and_verify_path_works_again(
    new_application, clerk, supervisor, administrator, retail_user, retailer
):
    # given: one application waiting for the second check, one already verified
    waiting = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    shown = advance(new_application(), "verified", clerk=clerk, supervisor=supervisor)

    # when
    retailer_rename(acting_user=administrator, retailer_id=retailer.pk, name="みなみ電力")

    # then: neither is stranded ("encode again" / "already encoded")
    for app in (waiting, shown):
        _verify_again(app, clerk=clerk, supervisor=supervisor)
    replicate()
    names = {r.retailer_name for r in retail_application_list(user=retail_user)}
    assert names == {"みなみ電力"}
    assert barrier_check(repair=False) == []


def test_renaming_a_retailer_in_the_admin_withdraws_the_publication(client, verified, retailer):
    app = verified()
    client.force_login(_person("root", "admin", "administrator", is_superuser=True))

    response = client.post(
        reverse("admin:retailers_retailer_change", args=[retailer.pk]), {"name": "改名電力"}
    )

    assert response.status_code == 302
    assert Retailer.objects.get(pk=retailer.pk).name == "改名電力"
    assert _published(app) is None
    assert _reload(app).masking_state == "unmasked"


def test_an_approved_affiliation_change_withdraws_the_publication(
    verified, administrator, administrator2, retailer
):
    app = verified()
    proposal = retailer_propose_affiliation(
        acting_user=administrator, retailer_id=retailer.pk, make_affiliated=True, reason="統合"
    )
    assert _published(app) is not None  # a proposal alone changes nothing

    retailer_decide_affiliation(acting_user=administrator2, proposal_id=proposal.pk, approve=True)

    assert _published(app) is None
    assert _reload(app).masking_state == "unmasked"


def test_a_rejected_affiliation_change_keeps_the_publication(
    verified, administrator, administrator2, retailer
):
    app = verified()
    proposal = retailer_propose_affiliation(
        acting_user=administrator, retailer_id=retailer.pk, make_affiliated=True, reason="統合"
    )

    retailer_decide_affiliation(acting_user=administrator2, proposal_id=proposal.pk, approve=False)

    assert _published(app) is not None


def test_a_rename_leaves_other_retailers_applications_published(verified, administrator):
    app = verified()
    other = make_retailer(code="B0010", name="きた新電力")

    retailer_rename(acting_user=administrator, retailer_id=other.pk, name="きた電力")

    assert _published(app) is not None


# --- the barrier check compares the published table with the truth ----------------------


def test_the_barrier_check_republishes_a_missing_row(verified, retail_user):
    app = verified()
    PublishedApplication.objects.filter(application_id=app.pk).delete()

    assert barrier_check(repair=True) == [PublicationMismatch(app.pk, Mismatch.UNPUBLISHED)]

    assert [r.reference for r in retail_application_list(user=retail_user)] == [app.reference]
    assert barrier_check(repair=False) == []


def test_the_barrier_check_restores_a_tampered_row_from_the_truth(verified, retail_user):
    app = verified(remarks="北側に引込柱")
    PublishedApplication.objects.filter(application_id=app.pk).update(remarks="書き換え")

    assert barrier_check(repair=True) == [PublicationMismatch(app.pk, Mismatch.DIFFERS)]

    assert retail_application_detail(user=retail_user, reference=app.reference).remarks == (
        "北側に引込柱"
    )


def test_the_barrier_check_deletes_a_row_nothing_verified(new_application, clerk, supervisor):
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    projection = project(_reload(app))
    PublishedApplication.objects.create(
        application_id=app.pk,
        version=app.version,
        projection_hash=projection_hash(projection),
        verified_at=timezone.now(),
        **projection.as_dict(),
    )

    assert barrier_check(repair=True) == [PublicationMismatch(app.pk, Mismatch.NOT_VISIBLE)]

    assert _published(app) is None


def test_the_barrier_check_invalidates_what_changed_behind_the_services(
    new_application, clerk, supervisor
):
    # A rename that bypassed the services: verify would say "encode again", encode
    # "already encoded". The repair invalidates, so encode → verify works again.
    waiting = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    shown = advance(new_application(), "verified", clerk=clerk, supervisor=supervisor)
    replicate()
    Retailer.objects.filter(pk=shown.retailer_id).update(name="裏口で改名")

    assert sorted(barrier_check(repair=True), key=lambda f: getattr(f, "application_id", 0)) == [
        PublicationMismatch(waiting.pk, Mismatch.DRIFTED),
        PublicationMismatch(shown.pk, Mismatch.DRIFTED),
    ]

    assert _published(shown) is None
    for app in (waiting, shown):
        _verify_again(app, clerk=clerk, supervisor=supervisor)
    assert barrier_check(repair=False) == []


def test_verify_refusing_a_changed_projection_leaves_the_application_ready_to_encode(
    new_application, clerk, supervisor
):
    # A rename racing the encoding (here: behind the services) must not strand it.
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    Retailer.objects.filter(pk=app.retailer_id).update(name="競合で改名")
    services.application_record_review_opened(acting_user=supervisor, application_id=app.pk)

    with pytest.raises(WrongState):
        services.application_verify(
            acting_user=supervisor, application_id=app.pk, expected_version=app.version
        )

    assert _reload(app).masking_state == "unmasked"
    assert _published(app) is None
    app = _verify_again(app, clerk=clerk, supervisor=supervisor)
    assert _shown(app).retailer_name == "競合で改名"
