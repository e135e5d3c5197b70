"""The retail database's tables go to the retail database, and nothing else does.

On the T&D side the alias is `retail` (settings.SHADAN_RETAIL_DATABASE): the publication
relay writes there and the collector reads the view log there; every other model stays in
`default` or the vault. On the retail site the retail database is the process's only
database, `default`, and RetailSiteRouter migrates nothing else into it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Model

APP_LABEL = "publication"
# What the retail site itself needs besides the publication app: its lock-out records.
RETAIL_SITE_APPS = frozenset({APP_LABEL, "axes"})


def retail_alias() -> str:
    return str(settings.SHADAN_RETAIL_DATABASE)


def _is_retail(model: type[Model] | Model) -> bool:
    return model._meta.app_label == APP_LABEL


class RetailRouter:
    def db_for_read(self, model: type[Model], **hints: Any) -> str | None:
        return retail_alias() if _is_retail(model) else None

    def db_for_write(self, model: type[Model], **hints: Any) -> str | None:
        return retail_alias() if _is_retail(model) else None

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool | None:
        if _is_retail(obj1) or _is_retail(obj2):
            return _is_retail(obj1) and _is_retail(obj2)
        return None

    def allow_migrate(
        self, db: str, app_label: str, model_name: str | None = None, **hints: Any
    ) -> bool | None:
        if app_label == APP_LABEL:
            return db == retail_alias()
        if db == retail_alias():
            # The same tables whichever side migrates the retail database: django-axes'
            # too (the retail site's lock-out records), or a migration recorded as applied
            # here without its tables would leave the retail site without them.
            return app_label in RETAIL_SITE_APPS
        return None


class RetailSiteRouter:
    """The retail site's one database holds the publication app and django-axes' records;
    auth's and contenttypes' tables are not created there (the retail site uses neither:
    its accounts are RetailAccount, it grants no model permissions)."""

    def allow_migrate(
        self, db: str, app_label: str, model_name: str | None = None, **hints: Any
    ) -> bool:
        return app_label in RETAIL_SITE_APPS
