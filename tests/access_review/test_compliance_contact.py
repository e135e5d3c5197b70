"""A suspicious verdict reaches only compliance contacts still in their division; a stale
contact is skipped and the skip is recorded."""

from __future__ import annotations

import datetime as dt

import pytest

from apps.access_review.models import ReviewItem
from apps.access_review.services import access_review_mark, access_sample
from apps.accounts.models import Division, DivisionCode
from apps.audit.models import AuditAction, AuditEvent
from apps.notifications.models import DropReason, OutboxMessage
from apps.notifications.services import relay_due
from tests.conftest import _person

from .conftest import DAY, jst

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


@pytest.fixture
def item(access, retail_user) -> ReviewItem:
    access(jst(DAY, 10), action=AuditAction.RETAIL_VIEWED, actor=retail_user)
    access_sample(day=DAY, size=10, now=jst(DAY + dt.timedelta(days=2)))
    return ReviewItem.objects.get()


def test_a_retail_user_named_as_td_contact_is_not_told_of_a_suspicious_access(
    item, auditor, retail_user
):
    # given: T&D's contact set to a retail user by a path that bypassed the checks
    Division.objects.filter(code=DivisionCode.TD).update(compliance_contact=retail_user)

    # when
    access_review_mark(acting_user=auditor, item_id=item.pk, outcome="suspicious", note="要確認")
    relay_due()

    # then: the verdict counts, nothing reaches the retail user, the skip is recorded
    item.refresh_from_db()
    assert item.outcome == "suspicious"
    [withheld] = OutboxMessage.objects.filter(recipient=retail_user)
    assert withheld.dropped_at is not None and withheld.delivered_at is None
    assert withheld.drop_reason == DropReason.DIVISION and withheld.division == "td"
    assert not retail_user.inbox_entries.exists()
    dropped = AuditEvent.objects.get(action=AuditAction.NOTIFICATION_DROPPED)
    assert dropped.details["recipient"] == retail_user.pk
    assert dropped.details["kind"] == "access_review.suspicious"


def test_the_contacts_still_in_their_division_are_told(item, auditor, retail_user):
    td_contact = _person("compliance_kato", "td", "supervisor")
    retail_contact = _person("kouri_compliance", "retail", "retail")
    Division.objects.filter(code=DivisionCode.TD).update(compliance_contact=td_contact)
    Division.objects.filter(code=DivisionCode.RETAIL).update(compliance_contact=retail_contact)

    access_review_mark(acting_user=auditor, item_id=item.pk, outcome="suspicious", note="要確認")
    relay_due()

    assert td_contact.inbox_entries.get().division == "td"
    assert retail_contact.inbox_entries.get().division == "retail"
    assert not OutboxMessage.objects.filter(dropped_at__isnull=False).exists()
