"""Benchmark settings: the test settings, but on *file* databases that survive the run.

SQLite files under var/bench/ named per scale by default; PostgreSQL when DATABASE_URL
VAULT_DATABASE_URL and RETAIL_DATABASE_URL are set. The scale comes from SHADAN_BENCH_SCALE (set by
`python -m bench --scale ...` before Django starts).
"""

from __future__ import annotations

import os
from pathlib import Path

BENCH_SCALE = os.environ.get("SHADAN_BENCH_SCALE", "small")
BENCH_DIR = Path(__file__).resolve().parent.parent / "var" / "bench"
BENCH_DIR.mkdir(parents=True, exist_ok=True)

os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{BENCH_DIR / f'{BENCH_SCALE}.sqlite3'}")
os.environ.setdefault(
    "VAULT_DATABASE_URL", f"sqlite:///{BENCH_DIR / f'{BENCH_SCALE}-vault.sqlite3'}"
)
os.environ.setdefault(
    "RETAIL_DATABASE_URL", f"sqlite:///{BENCH_DIR / f'{BENCH_SCALE}-retail.sqlite3'}"
)

from config.settings.test import *  # noqa: E402, F403
from config.settings.test import DATABASES  # noqa: E402

DEBUG = False
# The test client's host. The bench does not call setup_test_environment(): its template
# instrumentation copies the context at every template and include the test client
# renders (for response.context), which is test-harness time, not server time.
ALLOWED_HOSTS = ["testserver"]
_VENDOR = "postgresql" if "postgres" in DATABASES["default"]["ENGINE"] else "sqlite"
AUDIT_CHECKPOINT_DIR = BENCH_DIR / f"checkpoints-{BENCH_SCALE}-{_VENDOR}"
for _alias in DATABASES.values():
    if "sqlite" in _alias["ENGINE"]:
        # Writers from several threads wait for the file lock instead of failing at once.
        _alias.setdefault("OPTIONS", {})["timeout"] = 30
        # Write-ahead log, as a SQLite deployment would run (durability unchanged:
        # synchronous stays FULL); with the default rollback journal every commit
        # rewrites and syncs the journal and the database file.
        _alias["OPTIONS"]["init_command"] = "PRAGMA journal_mode=WAL;"
