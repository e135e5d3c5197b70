"""Writers and sealers running at the same moment (PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection, connections, transaction

from apps.audit.models import AuditAction, AuditEvent, AuditSeal
from apps.audit.sealing import SEALER_LOCK_KEY, audit_seal
from apps.audit.services import audit_record
from apps.audit.verification import audit_verify
from tests.conftest import require_postgres

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, databases=["default", "vault", "retail"]),
]


def _write(count: int, tag: str) -> None:
    for i in range(count):
        with transaction.atomic():
            audit_record(actor=None, action=AuditAction.EXPORT, details={"writer": tag, "n": i})


def _in_threads(*targets: Callable[[], None], timeout: float = 60) -> list[BaseException]:
    errors: list[BaseException] = []

    def run(target: Callable[[], None]) -> None:
        try:
            target()
        except BaseException as exc:
            errors.append(exc)
        finally:
            for conn in connections.all():
                conn.close()

    threads = [threading.Thread(target=run, args=(t,)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return errors


def test_four_writers_and_two_sealers_at_once_give_one_intact_gapless_chain():
    require_postgres()
    stop = threading.Event()

    def sealer() -> None:
        while not stop.is_set():
            audit_seal(batch_size=50)

    sealers = [threading.Thread(target=lambda: _in_threads(sealer)) for _ in range(2)]
    for s in sealers:
        s.start()
    errors = _in_threads(*(lambda tag=tag: _write(100, tag) for tag in "abcd"))
    stop.set()
    for s in sealers:
        s.join(timeout=60)
    audit_seal()

    assert errors == []
    assert AuditEvent.objects.count() == 400
    seqs = list(AuditSeal.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, 401))
    report = audit_verify()
    assert report.ok, report.summary


def test_writing_an_event_does_not_wait_for_a_running_sealer():
    require_postgres()
    written = threading.Event()

    def writer() -> None:
        _write(1, "w")
        written.set()

    # given: a sealer holding its lock in the middle of a long run
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEALER_LOCK_KEY])
        # when
        errors = _in_threads(writer, timeout=10)
        # then: the writer committed while the sealer still held the lock
        assert written.is_set()
    assert errors == []
    assert AuditEvent.objects.count() == 1


def test_an_event_committed_after_a_later_one_is_sealed_after_it():
    require_postgres()
    inserted = threading.Event()
    go_on = threading.Event()
    ids: dict[str, int] = {}

    def slow_writer() -> None:
        with transaction.atomic():
            ids["slow"] = audit_record(actor=None, action=AuditAction.EXPORT).pk
            inserted.set()
            go_on.wait(timeout=10)

    slow = threading.Thread(target=lambda: _in_threads(slow_writer))
    slow.start()
    assert inserted.wait(timeout=10)
    fast = audit_record(actor=None, action=AuditAction.EXPORT)
    audit_seal()  # the slow event is not committed yet: not visible, not sealed
    go_on.set()
    slow.join(timeout=10)
    audit_seal()

    assert ids["slow"] < fast.pk
    order = list(AuditSeal.objects.order_by("seq").values_list("event_id", flat=True))
    assert order == [fast.pk, ids["slow"]]
    assert audit_verify().ok
