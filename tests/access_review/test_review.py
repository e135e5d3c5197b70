"""Reviewing a sampled access: once, by someone else than the person who accessed, in the
audit trail, and a suspicious access reaches the compliance contacts without personal data."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.access_review.models import Outcome, ReviewItem
from apps.access_review.services import ACCESS_REVIEWED, access_review_mark, access_sample
from apps.accounts.models import Division, DivisionCode
from apps.administration.services import user_grant_role, user_transfer
from apps.applications.reveal import application_reveal_customer
from apps.audit.models import AuditAction, AuditEvent
from apps.core.errors import FourEyesViolation, NotAllowed, StaleVersion, WrongState
from apps.notifications.models import OutboxMessage
from apps.vocabulary.states import RevealPurpose
from tests.browser.steps import Customer
from tests.conftest import _person

from .conftest import DAY, jst

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])

AFTER = jst(DAY + dt.timedelta(days=2))
CANARY = Customer(
    name="鵜飼 審査子",
    name_kana="ウカイ シンサコ",
    phone="090-2468-1357",
    email="shinsako.canary@example.invalid",
)


@pytest.fixture
def canary_application(new_application):
    return new_application(
        customer_name=CANARY.name,
        customer_name_kana=CANARY.name_kana,
        customer_phone=CANARY.phone,
        customer_email=CANARY.email,
    )


@pytest.fixture
def item(access, canary_application) -> ReviewItem:
    access(jst(DAY, 10), obj=canary_application)
    access_sample(day=DAY, size=10, now=AFTER)
    return ReviewItem.objects.get()


def _reviews() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=ACCESS_REVIEWED))


def test_an_auditor_marks_an_access_legitimate(item, auditor):
    done = access_review_mark(
        acting_user=auditor, item_id=item.pk, outcome=Outcome.LEGITIMATE, expected_version=1
    )

    item.refresh_from_db()
    assert (item.outcome, item.reviewed_by, item.version) == ("legitimate", auditor, 2)
    assert item.reviewed_at is not None and done.pk == item.pk
    assert OutboxMessage.objects.count() == 0


def test_each_review_is_an_audit_event(item, auditor):
    access_review_mark(
        acting_user=auditor, item_id=item.pk, outcome=Outcome.SUSPICIOUS, note="業務外の時間帯"
    )

    [event] = _reviews()
    assert event.actor == auditor and event.actor_division == "audit"
    assert (event.object_type, event.object_id) == ("access_review.reviewitem", str(item.pk))
    assert event.details == {
        "outcome": "suspicious",
        "event_id": item.event_id,
        "event_action": "pii.read",
        "day": "2026-03-10",
    }
    assert event.reason == "業務外の時間帯"


def test_suspicious_needs_a_note(item, auditor):
    with pytest.raises(ValidationError) as refused:
        access_review_mark(
            acting_user=auditor, item_id=item.pk, outcome=Outcome.SUSPICIOUS, note=" "
        )

    assert "note" in refused.value.error_dict
    item.refresh_from_db()
    assert item.outcome == "" and _reviews() == []


def test_an_unknown_verdict_is_refused(item, auditor):
    with pytest.raises(ValidationError) as refused:
        access_review_mark(acting_user=auditor, item_id=item.pk, outcome="fine")
    assert "outcome" in refused.value.error_dict


@pytest.mark.parametrize(
    "note",
    [
        "折り返し 03-1234-5678 まで",  # any phone number
        "折り返し 098の765の4321 まで",  # in disguise
        f"本人 {CANARY.phone} に確認",  # the customer's own: refused as a phone number
        "someone@example.invalid に連絡",  # any e-mail address
        "確認\u202e済み",  # a direction control: what is read is not what is shown
    ],
)
def test_a_note_with_the_shape_of_personal_data_is_refused(item, auditor, note):
    with pytest.raises(ValidationError) as refused:
        access_review_mark(
            acting_user=auditor, item_id=item.pk, outcome=Outcome.SUSPICIOUS, note=note
        )

    assert "note" in refused.value.error_dict
    assert note not in str(refused.value)
    item.refresh_from_db()
    assert item.outcome == "" and item.note == ""


@pytest.fixture
def two_items(access, canary_application) -> list[ReviewItem]:
    access(jst(DAY, 10), obj=canary_application)
    access(jst(DAY, 11), obj=canary_application)
    access_sample(day=DAY, size=10, now=AFTER)
    return list(ReviewItem.objects.order_by("event__occurred_at"))


def test_a_note_with_the_real_customers_name_is_accepted_like_any_other_name(two_items, auditor):
    # Refusing the real name (and only it) told the auditor whose record it was:
    # guess, be refused, guess again. The answer must not depend on the customer.
    real, other = two_items
    notes = {
        real.pk: f"{CANARY.name}さん（{CANARY.name_kana}）の記録を閲覧",
        other.pk: "佐藤 花子さん（サトウ ハナコ）の記録を閲覧",
    }

    for item in (real, other):
        access_review_mark(
            acting_user=auditor, item_id=item.pk, outcome=Outcome.SUSPICIOUS, note=notes[item.pk]
        )

    for item in (real, other):
        item.refresh_from_db()
        assert (item.outcome, item.note) == ("suspicious", notes[item.pk])
    assert len(_reviews()) == 2


def test_nobody_reviews_their_own_access(access, auditor):
    # An auditor who read personal data in T&D before a transfer to audit.
    former_clerk = _person("moto_td", "td", "clerk")
    own = access(jst(DAY, 9), actor=former_clerk)
    access_sample(day=DAY, size=10, now=AFTER)
    user_transfer(acting_user=None, user_id=former_clerk.pk, to_division="audit")
    former_clerk = user_grant_role(acting_user=None, user_id=former_clerk.pk, role="auditor")
    item = ReviewItem.objects.get(event=own)

    with pytest.raises(FourEyesViolation):
        access_review_mark(acting_user=former_clerk, item_id=item.pk, outcome=Outcome.LEGITIMATE)

    item.refresh_from_db()
    assert item.outcome == "" and _reviews() == []
    # Anyone else may.
    access_review_mark(acting_user=auditor, item_id=item.pk, outcome=Outcome.LEGITIMATE)


def test_an_item_is_reviewed_once(item, auditor, auditor2):
    access_review_mark(acting_user=auditor, item_id=item.pk, outcome=Outcome.LEGITIMATE)

    with pytest.raises(WrongState) as refused:
        access_review_mark(
            acting_user=auditor2, item_id=item.pk, outcome=Outcome.SUSPICIOUS, note="要確認"
        )

    assert refused.value.code == "already_reviewed"
    item.refresh_from_db()
    assert (item.outcome, item.reviewed_by) == ("legitimate", auditor)
    assert len(_reviews()) == 1


def test_a_form_opened_before_a_change_is_refused(item, auditor):
    with pytest.raises(StaleVersion):
        access_review_mark(
            acting_user=auditor, item_id=item.pk, outcome=Outcome.LEGITIMATE, expected_version=7
        )


@pytest.mark.parametrize("persona", ["clerk", "supervisor", "retail_user", "administrator"])
def test_only_auditors_review(item, persona, request):
    with pytest.raises(NotAllowed):
        access_review_mark(
            acting_user=request.getfixturevalue(persona),
            item_id=item.pk,
            outcome=Outcome.LEGITIMATE,
        )


# --- suspicious: the compliance contacts hear of it ---------------------------------------


def test_a_suspicious_access_notifies_the_compliance_contact_without_personal_data(
    new_application, clerk, auditor, compliance
):
    # given: a real read of a canary customer's data by a clerk, drawn
    application = new_application(
        customer_name=CANARY.name,
        customer_name_kana=CANARY.name_kana,
        customer_phone=CANARY.phone,
        customer_email=CANARY.email,
    )
    application_reveal_customer(
        acting_user=clerk, application_id=application.pk, purpose=RevealPurpose.ENTRY
    )
    today = timezone.localdate()
    access_sample(day=today, size=10, now=timezone.now() + dt.timedelta(days=2))
    item = ReviewItem.objects.get(event__action=AuditAction.PII_READ)

    # when
    access_review_mark(
        acting_user=auditor, item_id=item.pk, outcome=Outcome.SUSPICIOUS, note="受付業務の範囲外"
    )

    # then: one message to the T&D compliance contact, ids and codes only
    [message] = OutboxMessage.objects.all()
    assert message.recipient == compliance
    assert message.kind == "access_review.suspicious"
    text = message.subject + message.body
    assert f"#{item.pk}" in text and str(item.event_id) in text
    found = [c for c in [*CANARY.canaries(), application.street_address] if c in text]
    assert found == []
    assert application.pseudonym not in text  # ids, not even the pseudonym
    # and nothing of the customer in the item or the review's audit event
    [review] = _reviews()
    stored = f"{review.details} {review.reason} {ReviewItem.objects.get().note}"
    assert [c for c in CANARY.canaries() if c in stored] == []


def test_a_retail_view_also_notifies_the_retail_compliance_contact(
    access, retail_user, auditor, compliance
):
    retail_contact = _person("kouri_compliance", "retail", "retail")
    Division.objects.filter(code=DivisionCode.RETAIL).update(compliance_contact=retail_contact)
    access(jst(DAY, 10), action=AuditAction.RETAIL_VIEWED, actor=retail_user)
    access_sample(day=DAY, size=10, now=AFTER)
    item = ReviewItem.objects.get()

    access_review_mark(acting_user=auditor, item_id=item.pk, outcome="suspicious", note="要確認")

    recipients = set(OutboxMessage.objects.values_list("recipient_id", flat=True))
    assert recipients == {compliance.pk, retail_contact.pk}


def test_legitimate_accesses_notify_nobody(item, auditor, compliance):
    access_review_mark(acting_user=auditor, item_id=item.pk, outcome="legitimate", note="受付")
    assert OutboxMessage.objects.count() == 0


def test_without_a_compliance_contact_the_review_still_counts(item, auditor):
    access_review_mark(acting_user=auditor, item_id=item.pk, outcome="suspicious", note="要確認")

    item.refresh_from_db()
    assert item.outcome == "suspicious"
    assert OutboxMessage.objects.count() == 0
