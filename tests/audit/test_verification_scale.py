"""Verification streams the chain: bounded queries, never the whole table at once."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.audit import chain_reads, stream, verification, walk
from apps.audit.models import AuditEvent
from apps.audit.models import VerificationProblem as P
from apps.audit.sealing import audit_seal
from tests.audit.conftest import triggers_lifted, unguarded

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


def test_the_chain_is_read_in_bounded_chunks(record_events, monkeypatch):
    record_events(10)
    audit_seal()
    monkeypatch.setattr(chain_reads, "CHUNK_SIZE", 3)
    monkeypatch.setattr(walk, "SEGMENT", 4)

    with CaptureQueriesContext(connection) as queries:
        report = verification.audit_verify(record=False)

    assert report.ok, report.summary
    assert report.events_checked == report.events_read == 10
    seal_reads = [q["sql"] for q in queries if 'FROM "audit_auditseal"' in q["sql"]]
    if connection.vendor == "postgresql":
        # An intact chain goes the fast path only: one COPY per segment of 4 seals.
        copies = [sql for sql in seal_reads if sql.startswith("COPY")]
        assert len(copies) == 3
        assert all("LIMIT" in sql for sql in seal_reads if sql not in copies)
        bounds = [re.findall(r"s\.seq > (\d+) AND s\.seq <= (\d+) ", sql) for sql in copies]
        assert bounds == [[("0", "4")], [("4", "8")], [("8", "10")]]
        # The general path's cursor reads what it is given in chunks.
        chunks = stream.streamed_chunks("default", after=0, head_seq=10, size=3)
        assert [len(seals) for seals, _events in chunks] == [3, 3, 3, 1]
    else:
        assert all("LIMIT" in sql for sql in seal_reads)
        chunk_reads = [sql for sql in seal_reads if "LIMIT 3" in sql]
        assert len(chunk_reads) == 4  # 3 + 3 + 3 + 1


def test_a_problem_on_a_chunk_boundary_is_located(record_events, monkeypatch):
    events = record_events(10)
    audit_seal()
    monkeypatch.setattr(chain_reads, "CHUNK_SIZE", 3)
    with triggers_lifted():
        unguarded(AuditEvent).filter(pk=events[3].pk).update(reason="書き換え")

    report = verification.audit_verify(record=False)

    assert [(f.problem, f.seq) for f in report.findings] == [(P.ALTERED, 4)]
