from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReplicationConfig(AppConfig):
    name = "apps.replication"
    label = "replication"
    verbose_name = _("Replication to the retail database")
