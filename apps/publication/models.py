"""The published record: what retail may read, frozen when a supervisor verified it.

One row per application that is verified for its current version and holds the retail
group's object permission; the T&D services write it in the transaction that verifies and
delete it in the transaction that invalidates (apps/applications/publishing.py). The row
holds every field of the retail projection as it was shown (columns derived from
apps.applications.projection.RETAIL_FIELDS), the supervisor's hash, and the progress
state, which follows the workflow without a new check.

This app imports no T&D model and nothing of the vault, and its table references no other
table (no foreign key): a later move to its own `retail` database alias needs only a
router.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.applications.projection import RETAIL_FIELDS, RetailApplication, projection_from_values


class PublishedApplication(models.Model):
    # The application's id on the T&D side; deliberately not a foreign key.
    application_id = models.BigIntegerField(primary_key=True)
    version = models.PositiveIntegerField(_("version"))
    projection_hash = models.CharField(max_length=64)
    verified_at = models.DateTimeField(_("verified at"))
    published_at = models.DateTimeField(_("published at"), auto_now=True)

    class Meta:
        verbose_name = _("published application")
        verbose_name_plural = _("published applications")
        indexes = [
            # The retail list: newest verification first, paged by (verified_at, id).
            models.Index(fields=["-verified_at", "-application_id"], name="published_list_idx"),
            # Search by reference or supply point (columns added from RETAIL_FIELDS below).
            models.Index(fields=["reference"], name="published_reference_idx"),
            models.Index(fields=["supply_point_id"], name="published_spid_idx"),
        ]

    def __str__(self) -> str:
        return f"published {self.application_id} v{self.version}"

    def projection(self) -> RetailApplication:
        return projection_from_values(self.__dict__)


# The retail projection's columns, one per RETAIL_FIELDS entry: the list is the definition.
for _field in RETAIL_FIELDS:
    PublishedApplication.add_to_class(_field.name, _field.column())
del _field
