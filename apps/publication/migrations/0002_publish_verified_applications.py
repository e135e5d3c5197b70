"""Publish what was already verified when the published table arrived.

Before this table, retail read the applications table through both locks. Every
application verified for its current version whose retail grant is held and whose
projection still has the hash the supervisor verified is published as it is; one whose
projection changed since (a retailer renamed in the admin) is left out, and
`barrier_check` reports it as drifted (its --repair invalidates it, so it goes through
encode → verify again).

The projection is spelled out here as it was when this migration was written (the fields
of RETAIL_FIELDS and the hash of `projection.projection_hash`), so later changes of the
list do not change what this step does.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import migrations

from apps.applications.states import PREFECTURES

_PREFECTURE_NAMES = dict(PREFECTURES)
# (projection field, source on the application) as of this migration; all but state hashed.
_FIELDS = (
    ("reference", "reference"),
    ("pseudonym", "pseudonym"),
    ("supply_point_id", "supply_point_id"),
    ("prefecture", "prefecture"),
    ("municipality", "municipality"),
    ("contract_class", "contract_class"),
    ("contract_capacity_kw", "contract_capacity_kw"),
    ("requested_start_date", "requested_start_date"),
    ("contractor_name", "contractor_name"),
    ("remarks", "remarks"),
    ("retailer_code", "retailer__code"),
    ("retailer_name", "retailer__name"),
    ("state", "state"),
)


def _projection(row: dict[str, Any]) -> dict[str, Any]:
    shown = {name: row[source] for name, source in _FIELDS}
    shown["reference"] = shown["reference"] or ""
    shown["prefecture"] = str(_PREFECTURE_NAMES.get(shown["prefecture"], ""))
    return shown


def _hash(shown: dict[str, Any]) -> str:
    hashable = {k: v for k, v in shown.items() if k != "state"}
    canonical = json.dumps(hashable, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def publish_verified(apps: Any, schema_editor: Any) -> None:
    Application = apps.get_model("applications", "Application")
    Grant = apps.get_model("applications", "ApplicationGroupObjectPermission")
    Role = apps.get_model("accounts", "Role")
    Published = apps.get_model("publication", "PublishedApplication")
    role = Role.objects.filter(code="retail").first()
    if role is None:
        return
    granted = Grant.objects.filter(
        group_id=role.group_id,
        permission__codename="view_application",
        permission__content_type__app_label="applications",
    ).values("content_object_id")
    rows = (
        Application.objects.filter(masking_state="verified", id__in=granted)
        .values(
            "id",
            "version",
            "verified_version",
            "verified_at",
            "projection_hash",
            *(source for _name, source in _FIELDS),
        )
        .iterator()
    )
    batch = []
    for row in rows:
        if row["verified_version"] != row["version"] or row["verified_at"] is None:
            continue
        shown = _projection(row)
        if _hash(shown) != row["projection_hash"]:
            continue
        batch.append(
            Published(
                application_id=row["id"],
                version=row["version"],
                projection_hash=row["projection_hash"],
                verified_at=row["verified_at"],
                **shown,
            )
        )
    Published.objects.bulk_create(batch, batch_size=1000, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [
        ("publication", "0001_published_application"),
        ("applications", "0002_retail_list_and_queue_indexes"),
        ("accounts", "0002_divisions_and_roles"),
    ]

    operations = [migrations.RunPython(publish_verified, migrations.RunPython.noop)]
