"""Route the vault app to the "vault" database and everything else to "default"."""

from __future__ import annotations

from typing import Any

from django.db.models import Model

VAULT_APP_LABEL = "vault"
VAULT_DB_ALIAS = "vault"
DEFAULT_DB_ALIAS = "default"


def _is_vault(model: type[Model] | Model) -> bool:
    return model._meta.app_label == VAULT_APP_LABEL


class VaultRouter:
    """Two databases that never share a transaction or a foreign key."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        return VAULT_DB_ALIAS if _is_vault(model) else DEFAULT_DB_ALIAS

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        return VAULT_DB_ALIAS if _is_vault(model) else DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool:
        return _is_vault(obj1) == _is_vault(obj2)

    def allow_migrate(
        self, db: str, app_label: str, model_name: str | None = None, **hints: Any
    ) -> bool:
        if app_label == VAULT_APP_LABEL:
            return db == VAULT_DB_ALIAS
        return db == DEFAULT_DB_ALIAS
