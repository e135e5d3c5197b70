"""The retail site's session engine: Django's database sessions, in RetailSession.

Each session row carries the account id (Django's documented way of extending the
database session engine), so provisioning can end every session of a person who leaves
retail with one DELETE, without reading the signed session data.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DBStore


class SessionStore(DBStore):
    @classmethod
    def get_model_class(cls) -> Any:
        # By the registry, not an import: the model names this class as its session store
        # (models.py imports this module), and a module-level import back would be a circle.
        return apps.get_model("publication", "RetailSession")

    def create_model_instance(self, data: dict[str, Any]) -> Any:
        instance = super().create_model_instance(data)
        try:
            account_id: int | None = int(data[SESSION_KEY])
        except (KeyError, TypeError, ValueError):
            account_id = None
        instance.account_id = account_id  # type: ignore[attr-defined]
        return instance
