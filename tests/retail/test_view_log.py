"""The retail view log's writer (apps.retail.services.retail_views_record): one INSERT
for a page's rows; more rows than one statement may carry go in several INSERTs in one
transaction, all written or none."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import connections

from apps.publication.models import RetailAccount, RetailView, RetailViewLog
from apps.retail import services
from apps.retail.services import RequestMeta, retail_views_record

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])


def _account() -> RetailAccount:
    return RetailAccount.objects.using("retail").create(id=4242, username="kouri-log")


def _rows(count: int) -> list[dict[str, object]]:
    return [
        {"id": n, "reference": f"SD2026-{n:07d}", "pseudonym": f"P-{n:04d}"}
        for n in range(1, count + 1)
    ]


def test_more_rows_than_a_statement_carries_go_in_several_inserts_all_written():
    account = _account()
    retail = connections["retail"]

    with mock.patch.object(retail.ops, "bulk_batch_size", return_value=2):
        written = retail_views_record(
            account=account, view=RetailView.LIST, rows=_rows(5), meta=RequestMeta("r-1")
        )

    logged = list(RetailViewLog.objects.order_by("application_id"))
    assert written == 5
    assert [row.application_id for row in logged] == [1, 2, 3, 4, 5]
    assert {(row.account_id, row.view, row.request_id) for row in logged} == {
        (account.pk, RetailView.LIST, "r-1")
    }


def test_a_failing_part_writes_none_of_the_rows():
    account = _account()
    retail = connections["retail"]
    build = services._view_log_insert
    calls = []

    def failing(alias: str, count: int):
        calls.append(count)
        if len(calls) == 2:
            raise RuntimeError("the second INSERT fails")
        return build(alias, count)

    with (
        mock.patch.object(retail.ops, "bulk_batch_size", return_value=2),
        mock.patch.object(services, "_view_log_insert", side_effect=failing),
        pytest.raises(RuntimeError),
    ):
        retail_views_record(
            account=account, view=RetailView.LIST, rows=_rows(5), meta=RequestMeta()
        )

    assert calls == [2, 2]
    assert not RetailViewLog.objects.exists()
