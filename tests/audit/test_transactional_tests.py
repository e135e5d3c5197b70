"""Transactional tests flush every table afterwards, which the audit triggers refuse:
tests/conftest.py lifts them for the flush and puts them back before the next test.
pytest-django runs transactional tests after the others, in file order: these two run
one after the other and prove both halves (the first one's teardown would error if the
flush were refused)."""

from __future__ import annotations

import pytest
from django.db import connection

from apps.audit.db import missing_triggers
from apps.audit.models import AuditEvent, AuditSeal, AuditVerification
from apps.audit.sealing import audit_seal
from apps.audit.verification import audit_verify

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "vault", "retail"])


def test_a_transactional_test_runs_against_append_only_tables_it_may_fill(record_events):
    record_events(3)
    audit_seal()
    audit_verify()

    assert missing_triggers(connection) == []
    assert AuditSeal.objects.count() == 3


def test_the_next_one_finds_the_tables_flushed_and_append_only_again():
    assert missing_triggers(connection) == []
    assert not AuditEvent.objects.exists()
    assert not AuditVerification.objects.exists()
