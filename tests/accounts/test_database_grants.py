"""`manage.py database_grants` on a real PostgreSQL: the owner migrates, the application
role works but cannot rewrite the audit trail, each role reaches only its own database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from apps.accounts.management.commands.database_grants import grants_sql
from apps.audit.db import APPEND_ONLY_TABLES
from tests.conftest import require_postgres

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
ROOT = Path(__file__).resolve().parents[2]

# Runs as the application role (DATABASE_URL) and the vault role (VAULT_DATABASE_URL).
AS_THE_APPLICATION = r"""
import json, shutil, django
django.setup()
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from apps.accounts.services import user_create
from apps.vault.services import vault_read, vault_store
from apps.vault.types import CustomerPII

user_create(acting_user=None, username="grants_probe", password="x" * 20,
            division="admin", roles=["administrator"])
record = vault_store(CustomerPII(name="n", name_kana="ｎ", phone="0000000000"))
assert vault_read(record).name == "n"
call_command("audit_seal", verbosity=0)
shutil.rmtree(settings.AUDIT_CHECKPOINT_DIR, ignore_errors=True)

refused = {}
for statement in (
    "UPDATE audit_auditevent SET action = action",
    "DELETE FROM audit_auditevent",
    "TRUNCATE audit_auditevent",
    "CREATE TABLE grants_probe (id int)",
):
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
        refused[statement] = "allowed"
    except Exception as exc:
        refused[statement] = str(exc).splitlines()[0]
with connection.cursor() as cursor:
    cursor.execute("SELECT count(*) FROM audit_auditevent")
    events = cursor.fetchone()[0]
print(json.dumps({"events": events, "refused": refused}))
"""


def _server() -> dict[str, str]:
    url = urlsplit(os.environ["DATABASE_URL"])
    return {"host": url.hostname or "127.0.0.1", "port": str(url.port or 5432)}


def _url(role: str, database: str) -> str:
    server = _server()
    return f"postgres://{role}@{server['host']}:{server['port']}/{database}"


def _psql(sql: str) -> None:
    server = _server()
    superuser = urlsplit(os.environ["DATABASE_URL"]).username or "postgres"
    result = subprocess.run(  # noqa: S603
        [  # noqa: S607 (psql from the PATH, as the operator runs it)
            "psql",
            "-v",
            "ON_ERROR_STOP=1",
            "-q",
            "-h",
            server["host"],
            "-p",
            server["port"],
            "-U",
            superuser,
            "-d",
            "postgres",
        ],
        input=sql,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def _python(script_or_args: list[str], database_url: str, vault_url: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in {"SHADAN_ENV"}}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=database_url,
        VAULT_DATABASE_URL=vault_url,
    )
    result = subprocess.run(  # noqa: S603 (our own fixed code)
        [sys.executable, *script_or_args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.fixture(scope="module")
def names() -> dict[str, str]:
    suffix = uuid.uuid4().hex[:8]
    return {
        "database": f"grants_{suffix}",
        "vault_database": f"grants_{suffix}_vault",
        "owner": f"grants_{suffix}_owner",
        "app_role": f"grants_{suffix}_app",
        "vault_role": f"grants_{suffix}_vault_app",
    }


@pytest.fixture(scope="module")
def deployed(names: dict[str, str]) -> Iterator[dict[str, object]]:
    """Grants, migrate as the owner, grants again (as the procedure says), then the app."""
    if "postgres" not in os.environ.get("DATABASE_URL", ""):
        yield {}
        return
    sql = grants_sql(**names)
    try:
        _psql(sql)
        owner = names["owner"]
        shared = _url(owner, names["database"])
        vault = _url(owner, names["vault_database"])
        _python(["manage.py", "migrate", "--database", "default", "-v", "0"], shared, vault)
        _python(["manage.py", "migrate", "--database", "vault", "-v", "0"], shared, vault)
        _psql(sql)
        out = _python(
            ["-c", AS_THE_APPLICATION],
            _url(names["app_role"], names["database"]),
            _url(names["vault_role"], names["vault_database"]),
        )
        yield {"app": json.loads(out.strip().splitlines()[-1])}
    finally:
        drops = [
            f"DROP DATABASE IF EXISTS {names[db]} WITH (FORCE);"
            for db in ("database", "vault_database")
        ]
        drops += [
            f"DROP ROLE IF EXISTS {names[role]};" for role in ("app_role", "vault_role", "owner")
        ]
        _psql("\n".join(drops))


def test_the_application_role_writes_the_audit_trail_and_seals_it(deployed):
    require_postgres()
    assert deployed["app"]["events"] >= 1


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditevent SET action = action",
        "DELETE FROM audit_auditevent",
        "TRUNCATE audit_auditevent",
    ],
)
def test_the_application_role_may_not_rewrite_the_audit_trail(deployed, statement):
    require_postgres()
    # Refused by privilege, before the append-only trigger would be asked.
    assert "permission denied for table audit_auditevent" in deployed["app"]["refused"][statement]


def test_the_application_role_cannot_change_the_schema(deployed):
    require_postgres()
    refused = deployed["app"]["refused"]["CREATE TABLE grants_probe (id int)"]
    assert "permission denied for schema public" in refused


@pytest.mark.parametrize(
    ("role", "database"),
    [("app_role", "vault_database"), ("vault_role", "database")],
    ids=["application role to the vault", "vault role to the shared database"],
)
def test_each_role_cannot_connect_to_the_other_database(deployed, names, role, database):
    require_postgres()
    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        psycopg.connect(_url(names[role], names[database])).close()


def test_every_append_only_table_gets_only_select_and_insert():
    sql = grants_sql(database="s", vault_database="v", owner="o", app_role="a", vault_role="va")
    for table in APPEND_ONLY_TABLES:
        assert f"'{table}'" in sql
    assert "GRANT SELECT, INSERT ON public.%I TO a" in sql
