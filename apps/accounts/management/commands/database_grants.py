"""Print the PostgreSQL roles, databases and grants of a production deployment (psql script).

    python manage.py database_grants | psql -v ON_ERROR_STOP=1 -h DBHOST -U postgres -d postgres

Who may do what:
- the owner role owns both databases and every table: it runs `migrate` (as ops, at a
  deployment), and nothing else connects as it;
- the application role (DATABASE_URL of gunicorn, the worker and beat) connects to the
  shared database only, with SELECT/INSERT/UPDATE/DELETE on the tables and the sequences'
  USAGE — no DDL, no TRUNCATE — and on the audit tables SELECT and INSERT only, so UPDATE,
  DELETE and TRUNCATE are refused by privilege as well as by the append-only triggers;
- the vault role (VAULT_DATABASE_URL) connects to the vault database only, with the
  same table rights there; the application role cannot connect to it, nor the vault
  role to the shared database.

Default privileges give the two roles their rights on the tables later migrations create.
A migration that adds an audit table is the exception (its table would get UPDATE and
DELETE by default): the script is idempotent, so the deployment procedure runs it again
after every `migrate` (docs/production.md). No password is printed: set them with
psql's `\\password ROLE`, or use certificate or peer authentication.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.audit.db import APPEND_ONLY_TABLES

_IDENTIFIER = re.compile(r"\A[a-z_][a-z0-9_]{0,62}\Z")
ROW_RIGHTS = "SELECT, INSERT, UPDATE, DELETE"


def _create_role(name: str) -> str:
    return (
        f"DO $$ BEGIN\n"
        f"  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}') THEN\n"
        f"    CREATE ROLE {name} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;\n"
        f"  END IF;\n"
        f"END $$;"
    )


def _create_database(name: str, owner: str) -> str:
    # CREATE DATABASE cannot run inside a DO block: psql's \gexec runs it when missing.
    # Names are checked identifiers (grants_sql), never outside input.
    return (
        f"SELECT 'CREATE DATABASE {name} OWNER {owner} ENCODING ''UTF8'' TEMPLATE template0'\n"  # noqa: S608
        f"  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{name}') \\gexec\n"
        f"ALTER DATABASE {name} OWNER TO {owner};\n"
        f"REVOKE ALL ON DATABASE {name} FROM PUBLIC;"
    )


def _schema_rights(database: str, owner: str, role: str) -> str:
    return "\n".join(
        [
            f"\\connect {database}",
            # Only the owner creates objects (PostgreSQL < 15 let everyone create in public).
            f"ALTER SCHEMA public OWNER TO {owner};",
            "REVOKE ALL ON SCHEMA public FROM PUBLIC;",
            f"GRANT USAGE ON SCHEMA public TO {role};",
            f"GRANT {ROW_RIGHTS} ON ALL TABLES IN SCHEMA public TO {role};",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role};",
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public",
            f"  GRANT {ROW_RIGHTS} ON TABLES TO {role};",
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public",
            f"  GRANT USAGE, SELECT ON SEQUENCES TO {role};",
        ]
    )


def _audit_rights(role: str) -> str:
    tables = ", ".join(f"'{table}'" for table in APPEND_ONLY_TABLES)
    # Tables that do not exist yet (before the first migrate) are skipped: the second
    # run, after migrate, reaches them.
    return (
        "DO $$\n"
        "DECLARE t text;\n"
        "BEGIN\n"
        f"  FOREACH t IN ARRAY ARRAY[{tables}] LOOP\n"
        "    IF to_regclass(format('public.%I', t)) IS NOT NULL THEN\n"
        "      EXECUTE format('REVOKE ALL ON public.%I FROM " + role + "', t);\n"
        "      EXECUTE format('GRANT SELECT, INSERT ON public.%I TO " + role + "', t);\n"
        "    END IF;\n"
        "  END LOOP;\n"
        "END $$;"
    )


def grants_sql(
    *, database: str, vault_database: str, owner: str, app_role: str, vault_role: str
) -> str:
    names = {
        "--database": database,
        "--vault-database": vault_database,
        "--owner": owner,
        "--app-role": app_role,
        "--vault-role": vault_role,
    }
    for option, value in names.items():
        if not _IDENTIFIER.match(value):
            raise CommandError(f"{option} {value!r}: use lower-case letters, digits and _")
    if len(set(names.values())) != len(names):
        raise CommandError("Every database and role needs its own name")
    parts = [
        "-- shadan: roles, databases and grants (python manage.py database_grants).",
        "-- Run as a superuser with psql -v ON_ERROR_STOP=1; again after every migrate.",
        "\\set ON_ERROR_STOP on",
        *(_create_role(role) for role in (owner, app_role, vault_role)),
        _create_database(database, owner),
        f"GRANT CONNECT, TEMPORARY ON DATABASE {database} TO {app_role};",
        _create_database(vault_database, owner),
        f"GRANT CONNECT, TEMPORARY ON DATABASE {vault_database} TO {vault_role};",
        _schema_rights(database, owner, app_role),
        _audit_rights(app_role),
        _schema_rights(vault_database, owner, vault_role),
    ]
    return "\n".join(parts) + "\n"


class Command(BaseCommand):
    help = "Print the psql script that creates shadan's database roles, databases and grants."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--database", default="shadan")
        parser.add_argument("--vault-database", default="shadan_vault")
        parser.add_argument("--owner", default="shadan_owner", help="Migrates; owns both.")
        parser.add_argument("--app-role", default="shadan_app", help="DATABASE_URL's role.")
        parser.add_argument(
            "--vault-role", default="shadan_vault_app", help="VAULT_DATABASE_URL's role."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(
            grants_sql(
                database=options["database"],
                vault_database=options["vault_database"],
                owner=options["owner"],
                app_role=options["app_role"],
                vault_role=options["vault_role"],
            ),
            ending="",
        )
