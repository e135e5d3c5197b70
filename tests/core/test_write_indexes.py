"""The rows every transition, relay or new application writes carry no index that
another index already gives: each is one more B-tree insertion a row, paid on every
application (issue 17 goal 3). An index that is the leading part of another serves
nothing the longer one does not; on PostgreSQL Django adds a second, LIKE index to an
indexed or unique text column, which no query on these columns makes."""

from __future__ import annotations

import pytest
from django.db import connections, router

from apps.applications.models import ApplicationContribution, ReviewOpening
from apps.notifications.models import InboxEntry, OutboxMessage
from apps.vault.models import BlindIndexEntry

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])

WRITTEN_EVERY_APPLICATION = [
    ApplicationContribution,
    ReviewOpening,
    InboxEntry,
    OutboxMessage,
    BlindIndexEntry,
]


def _indexes(model) -> dict[str, dict]:
    alias = router.db_for_write(model)
    connection = connections[alias]
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return {name: d for name, d in found.items() if d["index"] or d["unique"]}


@pytest.mark.parametrize("model", WRITTEN_EVERY_APPLICATION, ids=lambda m: m.__name__)
def test_no_index_is_the_leading_part_of_another(model):
    indexes = _indexes(model)
    partial = {index.name for index in model._meta.indexes if index.condition is not None}

    redundant = [
        (name, shorter["columns"], other)
        for name, shorter in indexes.items()
        if not shorter["unique"] and name not in partial
        for other, longer in indexes.items()
        if other != name
        and other not in partial
        and len(longer["columns"]) > len(shorter["columns"])
        and longer["columns"][: len(shorter["columns"])] == shorter["columns"]
    ]

    assert redundant == []


@pytest.mark.parametrize("model", WRITTEN_EVERY_APPLICATION, ids=lambda m: m.__name__)
def test_no_like_index(model):
    if connections[router.db_for_write(model)].vendor != "postgresql":
        pytest.skip("only PostgreSQL has the LIKE indexes Django adds (varchar_pattern_ops)")

    assert [name for name in _indexes(model) if name.endswith("_like")] == []
