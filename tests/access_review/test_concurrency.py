"""Two auditors review the same item at the same moment: one verdict stands (PostgreSQL,
where the row lock is what decides; SQLite serialises writers anyway)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connections

from apps.access_review.models import ReviewItem
from apps.access_review.services import ACCESS_REVIEWED, access_review_mark, access_sample
from apps.audit.models import AuditEvent
from apps.core.errors import ServiceError
from tests.conftest import _person, require_postgres

from .conftest import DAY, jst

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, databases=["default", "vault", "retail"]),
]


def test_two_auditors_at_once_review_an_item_once(access):
    require_postgres()
    auditors = [_person(f"kansa_{i}", "audit", "auditor") for i in range(2)]
    access(jst(DAY, 10))
    access_sample(day=DAY, size=1, now=jst(DAY + dt.timedelta(days=2)))
    item = ReviewItem.objects.get()

    start = threading.Barrier(2)
    outcomes: list[str] = []

    def review(auditor, verdict: str) -> None:
        try:
            start.wait(timeout=10)
            access_review_mark(
                acting_user=auditor,
                item_id=item.pk,
                outcome=verdict,
                note="要確認",
                expected_version=1,
            )
            outcomes.append("done")
        except ServiceError as refused:
            outcomes.append(refused.code)
        finally:
            for conn in connections.all():
                conn.close()

    threads = [
        threading.Thread(target=review, args=(auditors[0], "legitimate")),
        threading.Thread(target=review, args=(auditors[1], "suspicious")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert sorted(outcomes) == ["already_reviewed", "done"]
    item.refresh_from_db()
    assert item.version == 2 and item.outcome in {"legitimate", "suspicious"}
    assert AuditEvent.objects.filter(action=ACCESS_REVIEWED).count() == 1
