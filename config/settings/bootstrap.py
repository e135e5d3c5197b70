"""Settings for the commands that run before a deployment has any environment:
`generate_production_keys` and `database_grants` (manage.py picks this module for them,
config/environment.py). They only print: no database is opened, no secret is needed.
"""

from __future__ import annotations

import os
import secrets

# Never opened: an in-memory SQLite keeps Django's start-up satisfied without a server.
os.environ["DATABASE_URL"] = "sqlite://:memory:"
os.environ.pop("VAULT_DATABASE_URL", None)

from .base import *  # noqa: F403

# A throwaway value for this process only: nothing is signed with it.
SECRET_KEY = secrets.token_urlsafe(50)
