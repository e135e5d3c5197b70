"""The demo data `make run` loads: complete, loaded through the rules, and safe to rerun."""

from __future__ import annotations

import json
import logging
from collections import Counter
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.hashers import check_password
from django.core.management import CommandError, call_command
from django.db.models import F
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.access_review.models import ReviewItem, SampleRun
from apps.access_review.sampling import SAMPLED_ACTIONS, japan_day
from apps.accounts.models import RoleCode, User
from apps.applications.models import Application, ApplicationContribution, ReviewOpening
from apps.applications.retail_reads import retail_application_list
from apps.audit import collector
from apps.audit.models import AuditAction, AuditEvent, AuditSeal, AuditVerification
from apps.demo.management.commands.load_demo import DEFAULT_PASSWORD
from apps.publication.models import RetailView, RetailViewLog
from apps.retailers.models import AffiliationProposal, ProposalStatus, Retailer
from apps.vault.models import CustomerRecord

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])

EXPECTED_STATES = {
    "draft": 3,
    "entered": 5,  # two of them returned for correction
    "encoded": 4,
    "verified": 4,
    "released": 5,  # one of them switched retailer afterwards
    "constructed": 3,
    "energized": 3,
    "cancelled": 3,
}
DEMO_USERS = {
    "admin": ("admin", ["administrator"]),
    "admin2": ("admin", ["administrator"]),
    "clerk1": ("td", ["clerk"]),
    "clerk2": ("td", ["clerk"]),
    "super1": ("td", ["supervisor"]),
    "super2": ("td", ["supervisor"]),
    "koji1": ("td", ["construction"]),
    "kouri1": ("retail", ["retail"]),
    "kansa1": ("audit", ["auditor"]),
}


def _load(*args: str) -> str:
    out = StringIO()
    call_command("load_demo", *args, stdout=out)
    return out.getvalue()


def _fixture() -> dict:
    path = Path(django_settings.BASE_DIR) / "fixtures" / "demo.json"
    return json.loads(path.read_text(encoding="utf-8"))


def _customer_values() -> list[str]:
    values = []
    for entry in _fixture()["applications"]:
        customer = entry["customer"]
        values += [customer["name"], customer["name_kana"], customer["phone"]]
        values += [customer["email"]] if customer["email"] else []
        values += customer["name"].split() + customer["name_kana"].split()
    return values


@pytest.fixture(autouse=True)
def _own_checkpoints(settings, tmp_path):
    # load_demo seals the chain, which writes checkpoint files: each test its own.
    settings.AUDIT_CHECKPOINT_DIR = tmp_path / "checkpoints"


@pytest.fixture(autouse=True)
def _settled(monkeypatch: pytest.MonkeyPatch) -> None:
    # PostgreSQL does not roll its sequences back with a test: the demo's first view-log
    # row follows a gap, which the collector would wait SETTLE_SECONDS to pass.
    monkeypatch.setattr(collector, "SETTLE_SECONDS", 0)


@pytest.fixture
def demo(settings) -> str:
    settings.DEBUG = True
    return _load()


def test_counts_per_state(demo):
    assert dict(Counter(Application.objects.values_list("state", flat=True))) == EXPECTED_STATES

    returned = Application.objects.filter(state="entered").exclude(return_reason="")
    assert returned.count() == 2
    assert all(app.returned_by.username.startswith("super") for app in returned)
    assert all(app.masking_state == "unmasked" for app in returned)

    cancelled = Application.objects.filter(state="cancelled")
    assert all(app.cancel_reason for app in cancelled)


def test_one_released_application_switched_retailer_and_lost_its_masking(demo):
    switched = Application.objects.filter(state="released").exclude(
        masking_state="verified", verified_version=F("version")
    )
    assert switched.count() == 1
    app = switched.get()
    assert app.masking_state == "unmasked"
    assert app.version == 2
    assert app.released_at is not None  # construction progress kept
    assert (
        AuditEvent.objects.for_object(app)
        .filter(action=AuditAction.APPLICATION_RETAILER_CHANGED)
        .exists()
    )
    assert AuditEvent.objects.for_object(app).filter(action=AuditAction.PERMISSION_REVOKED).exists()


def test_one_affiliated_and_three_independent_retailers(demo):
    assert list(Retailer.objects.filter(is_affiliated=True).values_list("code", flat=True)) == [
        "A0001"
    ]
    assert Retailer.objects.filter(is_affiliated=False).count() == 3
    proposal = AffiliationProposal.objects.get()
    assert proposal.status == ProposalStatus.APPROVED
    assert proposal.decided_by is not None
    assert (proposal.proposed_by.username, proposal.decided_by.username) == ("admin", "admin2")
    # Applications use every retailer.
    assert set(Application.objects.values_list("retailer__code", flat=True)) == set(
        Retailer.objects.values_list("code", flat=True)
    )


def test_users_divisions_and_roles(demo):
    users = {user.username: user for user in User.objects.all()}
    assert set(users) == set(DEMO_USERS)
    for name, (division, roles) in DEMO_USERS.items():
        assert users[name].division_at() == division, name
        assert users[name].role_codes() == roles, name
    assert [name for name, user in users.items() if user.is_superuser] == ["admin"]
    for role in RoleCode:
        assert User.objects.filter(groups__role__code=role).exists(), role
    for user in users.values():
        assert user.last_name and user.first_name
        assert check_password(DEFAULT_PASSWORD, user.password)


def test_the_four_eyes_rule_held(demo):
    checked = Application.objects.exclude(verified_by=None)
    assert checked.count() >= 15
    for app in checked:
        shaped_by = set(
            ApplicationContribution.objects.filter(application=app).values_list(
                "user_id", flat=True
            )
        )
        assert app.verified_by_id not in shaped_by, app.reference
        assert app.verified_by_id not in (app.created_by_id, app.encoded_by_id), app.reference
        assert ReviewOpening.objects.filter(
            application=app, version=app.verified_version, user=app.verified_by
        ).exists()
    # The supervisors never created, edited, submitted or encoded anything.
    assert not ApplicationContribution.objects.filter(
        user__username__in=["super1", "super2"]
    ).exists()
    # Construction was recorded by the construction user only.
    for action in (AuditAction.APPLICATION_COMPLETED, AuditAction.APPLICATION_ENERGIZED):
        actors = set(
            AuditEvent.objects.filter(action=action).values_list("actor_username", flat=True)
        )
        assert actors == {"koji1"}


def test_retail_sees_exactly_the_applications_verified_for_their_current_version(demo):
    kouri1 = User.objects.get(username="kouri1")
    seen = [row.reference for row in retail_application_list(user=kouri1)]
    expected = set(
        Application.objects.filter(
            masking_state="verified", verified_version=F("version")
        ).values_list("reference", flat=True)
    )
    assert expected
    assert len(seen) == len(set(seen))
    assert set(seen) == expected
    hidden = Application.objects.exclude(reference__in=expected)
    hidden_states = set(hidden.values_list("state", flat=True))
    assert hidden_states >= {"draft", "entered", "encoded", "released"}


def test_running_it_twice_changes_nothing(demo):
    def snapshot() -> tuple:
        return (
            list(User.objects.order_by("id").values_list("username", "password", "session_stamp")),
            list(Retailer.objects.order_by("id").values_list("code", "is_affiliated")),
            list(
                Application.objects.order_by("id").values_list(
                    "reference", "state", "masking_state", "version", "retailer_id"
                )
            ),
            AuditEvent.objects.count(),
            ApplicationContribution.objects.count(),
            CustomerRecord.objects.count(),
        )

    before = snapshot()
    again = _load()
    assert snapshot() == before
    assert "already loaded" in again
    for name in DEMO_USERS:
        assert name in again


def test_output_lists_every_login_and_no_customer_data(demo):
    lines = demo.splitlines()
    for name, (division, roles) in DEMO_USERS.items():
        row = next(line for line in lines if line.split()[:1] == [name])
        assert DEFAULT_PASSWORD in row
        assert division in row.split()
        assert roles[0] in row
        assert ("retail site" if division == "retail" else "T&D site") in row
    assert "retail site: " in demo
    assert "superuser" in next(line for line in lines if line.split()[:1] == ["admin"])

    for value in _customer_values():
        assert value not in demo


def test_logs_hold_no_customer_data(settings, caplog):
    settings.DEBUG = True
    with caplog.at_level(logging.DEBUG):
        _load()
    assert "demo data loaded" in caplog.text
    for value in _customer_values():
        assert value not in caplog.text


def test_another_password_and_a_rerun_reports_it(settings):
    settings.DEBUG = True
    out = _load("--password", "another-demo-pass-77")
    assert "another-demo-pass-77" in out
    assert check_password("another-demo-pass-77", User.objects.get(username="clerk1").password)
    # A rerun with a password that is not theirs does not pretend it works.
    again = _load()
    assert DEFAULT_PASSWORD not in again
    assert "not this password" in again


def test_a_weak_password_loads_nothing(settings):
    settings.DEBUG = True
    with pytest.raises(CommandError, match="password"):
        _load("--password", "12345678")
    assert not User.objects.exists()
    assert not Application.objects.exists()


def test_the_local_settings_load_the_demo_with_debug_off(settings):
    # `make run` serves with DEBUG off; the embedded default is still a development setup.
    settings.DEBUG = False
    settings.SHADAN_LOCAL_DEVELOPMENT = True

    _load()

    assert Application.objects.count() == sum(EXPECTED_STATES.values())


def test_refuses_without_debug_unless_forced(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        _load()
    assert not User.objects.exists()

    out = _load("--force")
    assert Application.objects.count() == sum(EXPECTED_STATES.values())
    assert "kansa1" in out


def test_refuses_when_only_some_demo_users_exist(settings, administrator):
    settings.DEBUG = True
    User.objects.filter(pk=administrator.pk).update(username="admin")
    with pytest.raises(CommandError, match="already taken"):
        _load()
    assert not Application.objects.exists()


def test_the_access_review_queue_has_todays_sample_waiting(demo):
    # Without the demo's accesses and draw, the queue stays empty until a day has ended.
    today = japan_day(timezone.now())
    run = SampleRun.objects.get(day=today)
    items = ReviewItem.objects.filter(run=run)
    assert run.sampled == items.count() > 0
    assert items.filter(outcome="").count() == items.count()
    drawn = set(AuditEvent.objects.filter(pk__in=items.values("event_id")).values_list("action"))
    assert drawn <= {(action.value,) for action in SAMPLED_ACTIONS}
    # Both kinds of access were made: retail pages and contact details read.
    accesses = AuditEvent.objects.filter(action__in=SAMPLED_ACTIONS)
    retail = accesses.filter(action=AuditAction.RETAIL_VIEWED, actor__username="kouri1")
    assert retail.filter(details__view="list").exists()
    assert retail.filter(details__view="detail").exists()
    assert accesses.filter(action=AuditAction.PII_READ, actor__username="koji1").exists()
    assert run.population == accesses.count()
    assert "drawn into the review queue" in demo


def test_the_demo_retail_views_reach_the_trail_from_the_retail_sites_log(demo):
    # given: what the retail site logged for kouri1 on the demo day
    kouri1 = User.objects.get(username="kouri1")
    logged = {row.pk: row for row in RetailViewLog.objects.filter(account_id=kouri1.pk)}
    assert {row.view for row in logged.values()} == {RetailView.LIST, RetailView.DETAIL}
    # then: every retail view in the trail is one of those rows, copied by the collector
    # with its time, and every row is in the trail once
    events = AuditEvent.objects.filter(
        action__in=[AuditAction.RETAIL_VIEWED, AuditAction.RETAIL_NOT_FOUND]
    )
    assert sorted(event.details["retail_log_id"] for event in events) == sorted(logged)
    for event in events:
        row = logged[event.details["retail_log_id"]]
        assert (event.actor_id, event.occurred_at, event.details["view"]) == (
            kouri1.pk,
            row.occurred_at,
            row.view,
        )
        assert event.object_id == str(row.application_id)


def test_kansa1_sees_kouri1s_two_list_views_of_the_day_as_one_row(demo):
    # kouri1 opened the list twice: on an application's timeline the auditor sees one row ×2
    shown = RetailViewLog.objects.filter(view=RetailView.LIST).values_list(
        "application_id", flat=True
    )
    application = Application.objects.get(pk=shown.first())
    auditor = Client()
    auditor.force_login(User.objects.get(username="kansa1"))

    html = auditor.get(reverse("audit-application", args=[application.pk])).content.decode()

    first_list_view = (
        AuditEvent.objects.for_object(application)
        .filter(action=AuditAction.RETAIL_VIEWED, details__view="list")
        .order_by("occurred_at", "id")
        .first()
    )
    assert first_list_view is not None
    assert f'data-event="{first_list_view.pk}" data-count="2"' in html


def test_the_audit_chain_is_sealed_and_verified(demo):
    verification = AuditVerification.objects.latest("finished_at")
    assert verification.ok, verification.summary
    assert verification.head_seq == AuditSeal.objects.count() > 0
    assert not AuditEvent.objects.filter(seal__isnull=True).exists()
    assert "Audit chain: sealed" in demo and "intact" in demo


def test_a_rerun_seals_and_verifies_again(demo, settings):
    verifications = AuditVerification.objects.count()
    _load()
    assert AuditVerification.objects.count() == verifications + 1
    assert SampleRun.objects.count() == 1


def test_a_demo_that_fails_to_load_leaves_no_retail_views(settings, tmp_path):
    # given: the demo whose last access is refused, after kouri1's retail pages
    settings.DEBUG = True
    demo = _fixture()
    demo["accesses"].append({"user": "koji1", "reveal": "scheduling", "application": 999})
    (tmp_path / "fixtures").mkdir()
    (tmp_path / "fixtures" / "demo.json").write_text(json.dumps(demo), encoding="utf-8")
    settings.BASE_DIR = tmp_path
    # when
    with pytest.raises(CommandError, match="Nothing loaded"):
        _load()
    # then: the retail view log (append-only) names none of the people never created
    assert not User.objects.exists()
    assert not RetailViewLog.objects.exists()
