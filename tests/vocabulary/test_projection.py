"""One definition of what retail sees (projection.RETAIL_FIELDS), and everything derived
from it agrees with it."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import models

from apps.applications.models import Application
from apps.publication.models import PublishedApplication
from apps.vocabulary.projection import (
    FIELD_NAMES,
    HASHED_FIELDS,
    RETAIL_COLUMNS,
    RETAIL_FIELDS,
    SCANNED_FIELDS,
    RetailApplication,
    project,
    projection_from_row,
    scanned_texts,
)


def _source_field(source: str) -> models.Field[Any, Any]:
    model: Any = Application
    *relations, name = source.split("__")
    for relation in relations:
        model = model._meta.get_field(relation).related_model
    return model._meta.get_field(name)


@pytest.mark.parametrize("spec", RETAIL_FIELDS, ids=lambda spec: spec.name)
def test_every_retail_visible_text_field_is_scanned_or_says_why_it_cannot_hold_free_text(spec):
    source = _source_field(spec.source)

    if isinstance(source, models.CharField | models.TextField):
        assert spec.scanned or len(spec.not_free_text) >= 10, (
            f"{spec.name} is retail-visible text: scan it (scanned=True) or give the reason "
            "it cannot hold free text (not_free_text)"
        )
    assert not (spec.scanned and spec.not_free_text), spec.name
    if spec.scanned:
        # A leak names the field; the clerk's form and the encode page mark it by that name.
        assert spec.name == spec.source, f"{spec.name}: a scanned field is named as its source"


@pytest.mark.django_db(databases=["default", "vault", "retail"])
def test_the_scanner_reads_every_scanned_field_and_only_those(new_application):
    app = new_application(remarks="南側")

    texts = scanned_texts(app)

    assert tuple(texts) == SCANNED_FIELDS == ("municipality", "contractor_name", "remarks")
    assert texts["remarks"] == "南側"


def test_the_published_row_has_one_column_per_retail_field():
    columns = {f.name for f in PublishedApplication._meta.concrete_fields}

    assert set(FIELD_NAMES) <= columns
    assert columns - set(FIELD_NAMES) == {
        "application_id",
        "version",
        "projection_hash",
        "verified_at",
        "published_at",
        "sequence",
    }


def test_the_columns_a_retail_query_loads_come_from_the_list():
    assert ("id", *(spec.source for spec in RETAIL_FIELDS), "verified_at") == RETAIL_COLUMNS


def test_only_progress_is_left_out_of_the_hash():
    assert set(FIELD_NAMES) - set(HASHED_FIELDS) == {"state"}


@pytest.mark.django_db(databases=["default", "vault", "retail"])
def test_a_projection_from_the_row_equals_one_from_the_object(new_application):
    app = new_application()
    row = Application.objects.filter(pk=app.pk).values(*RETAIL_COLUMNS).get()

    assert projection_from_row(row) == project(Application.objects.get(pk=app.pk))


def test_a_projection_refuses_missing_or_unknown_fields_and_cannot_be_changed():
    values = dict.fromkeys(FIELD_NAMES, "x")
    projection = RetailApplication(**values)

    with pytest.raises(TypeError):
        RetailApplication(**{**values, "customer_name": "x"})
    with pytest.raises(TypeError):
        RetailApplication(**{k: v for k, v in values.items() if k != "remarks"})
    with pytest.raises(AttributeError):
        projection.remarks = "changed"
    with pytest.raises(AttributeError):
        _ = projection.street_address
