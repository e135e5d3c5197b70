"""`manage.py database_grants` on a real PostgreSQL: the owner migrates, the application
role works but cannot rewrite the audit trail, each role reaches only its own database;
the retail site's role reaches only the retail database, and there may only add to the
view log."""

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

from apps.administration.management.commands.database_grants import grants_sql
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
from apps.administration.services import user_create
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


def _python(script_or_args: list[str], database_url: str, vault_url: str, retail_url: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in {"SHADAN_ENV"}}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=database_url,
        VAULT_DATABASE_URL=vault_url,
        RETAIL_DATABASE_URL=retail_url,
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
    # Named after the configured database (shadan_<name>_g…): on a shared server each
    # engineer's runs stay inside the names they were given.
    configured = urlsplit(os.environ.get("DATABASE_URL", "")).path.lstrip("/") or "shadan"
    prefix = f"{configured[:30]}_g{uuid.uuid4().hex[:8]}"
    return {
        "database": prefix,
        "vault_database": f"{prefix}_vault",
        "owner": f"{prefix}_owner",
        "app_role": f"{prefix}_app",
        "vault_role": f"{prefix}_vault_app",
        "retail_database": f"{prefix}_retail",
        "retail_owner": f"{prefix}_retail_owner",
        "publisher_role": f"{prefix}_publisher",
        "retail_role": f"{prefix}_retail_app",
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
        retail = _url(names["retail_owner"], names["retail_database"])
        for alias in ("default", "vault", "retail"):
            _python(["manage.py", "migrate", "--database", alias, "-v", "0"], shared, vault, retail)
        _psql(sql)
        out = _python(
            ["-c", AS_THE_APPLICATION],
            _url(names["app_role"], names["database"]),
            _url(names["vault_role"], names["vault_database"]),
            _url(names["publisher_role"], names["retail_database"]),
        )
        yield {"app": json.loads(out.strip().splitlines()[-1])}
    finally:
        drops = [
            f"DROP DATABASE IF EXISTS {names[db]} WITH (FORCE);"
            for db in ("database", "vault_database", "retail_database")
        ]
        drops += [
            f"DROP ROLE IF EXISTS {names[role]};"
            for role in (
                "app_role",
                "vault_role",
                "publisher_role",
                "retail_role",
                "owner",
                "retail_owner",
            )
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


@pytest.mark.parametrize(
    ("role", "database"),
    [
        ("retail_role", "database"),
        ("retail_role", "vault_database"),
        ("publisher_role", "database"),
        ("publisher_role", "vault_database"),
        ("app_role", "retail_database"),
        ("vault_role", "retail_database"),
    ],
)
def test_the_retail_roles_and_the_shared_roles_cannot_reach_each_others_database(
    deployed, names, role, database
):
    require_postgres()
    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        psycopg.connect(_url(names[role], names[database])).close()


VIEW = (
    "INSERT INTO publication_retailviewlog (occurred_at, account_id, username, view,"
    " application_id, reference, pseudonym, details, request_id, client_ip, user_agent)"
    " VALUES (now(), 7, 'kouri', 'detail', 41, 'SD2026-0000041', 'P-41', '{}', 'r', NULL, 'ua')"
)


def _attempt(url: str, statement: str) -> str:
    """'allowed', or the first line of the database's refusal."""
    with psycopg.connect(url) as connection:
        try:
            connection.execute(statement)
        except psycopg.Error as exc:
            return str(exc).splitlines()[0]
        return "allowed"


def test_the_retail_site_may_add_to_the_view_log_and_read_it(deployed, names):
    require_postgres()
    url = _url(names["retail_role"], names["retail_database"])
    assert _attempt(url, VIEW) == "allowed"
    assert _attempt(url, "SELECT count(*) FROM publication_retailviewlog") == "allowed"
    assert _attempt(url, "SELECT count(*) FROM publication_publishedapplication") == "allowed"
    assert _attempt(url, "UPDATE publication_retailaccount SET password = 'x'") == "allowed"
    assert _attempt(url, "UPDATE publication_retailinboxentry SET read_at = now()") == "allowed"


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE publication_retailviewlog SET username = 'x'",
        "DELETE FROM publication_retailviewlog",
        "TRUNCATE publication_retailviewlog",
        "UPDATE publication_retailaccount SET username = 'x'",
        "DELETE FROM publication_retailaccount",
        "INSERT INTO publication_appliedmessage (subject, subject_id, sequence, applied_at)"
        " VALUES ('account', 1, 1, now())",
        "DELETE FROM publication_publishedapplication",
        "UPDATE publication_retailinboxentry SET subject = 'x'",
        "CREATE TABLE grants_probe (id int)",
    ],
)
def test_the_retail_site_may_not_change_what_it_was_given_or_what_it_logged(
    deployed, names, statement
):
    require_postgres()
    refused = _attempt(_url(names["retail_role"], names["retail_database"]), statement)
    assert "permission denied" in refused


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE publication_retailviewlog SET username = 'x'",
        "DELETE FROM publication_retailviewlog",
    ],
)
def test_the_publisher_only_reads_the_view_log(deployed, names, statement):
    require_postgres()
    url = _url(names["publisher_role"], names["retail_database"])
    assert _attempt(url, "SELECT count(*) FROM publication_retailviewlog") == "allowed"
    assert _attempt(url, "DELETE FROM publication_appliedmessage") == "allowed"
    assert "permission denied for table publication_retailviewlog" in _attempt(url, statement)


def test_even_the_retail_owner_cannot_change_the_view_log(deployed, names):
    require_postgres()
    url = _url(names["retail_owner"], names["retail_database"])
    assert _attempt(url, VIEW) == "allowed"  # a row for the row trigger to refuse
    refused = _attempt(url, "UPDATE publication_retailviewlog SET username = 'x'")
    assert "append-only" in refused


PRINTED = {
    "database": "s",
    "vault_database": "v",
    "owner": "o",
    "app_role": "a",
    "vault_role": "va",
    "retail_database": "r",
    "retail_owner": "ro",
    "publisher_role": "rp",
    "retail_role": "ra",
}


def test_the_retail_site_gets_no_update_or_delete_on_the_view_log():
    sql = grants_sql(**PRINTED)
    assert "GRANT SELECT, INSERT ON public.publication_retailviewlog TO ra;" in sql
    assert "GRANT SELECT ON public.publication_retailviewlog TO rp;" in sql
    assert "GRANT CONNECT ON DATABASE r TO rp, ra;" in sql
    assert "ON DATABASE s TO ra" not in sql and "ON DATABASE v TO ra" not in sql


def test_every_append_only_table_gets_only_select_and_insert():
    sql = grants_sql(**PRINTED)
    for table in APPEND_ONLY_TABLES:
        assert f"'{table}'" in sql
    assert "GRANT SELECT, INSERT ON public.%I TO a" in sql
