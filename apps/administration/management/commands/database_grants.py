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

The retail database (apps.publication; docs/retail-split.md) has roles of its own, with
rights table by table rather than by default:
- the retail owner owns it and migrates it (the retail site's `migrate`);
- the publisher role (RETAIL_DATABASE_URL of the T&D worker: the publication relay and
  the retail-view collector) writes the published rows, watermarks, accounts, sessions
  and inbox, and only reads the view log;
- the retail site's role (RETAIL_DATABASE_URL of the retail site) reads the published
  rows, changes an account's password, last sign-in and forced-change flag and nothing
  else of it, keeps its sessions and django-axes' records, marks inbox entries read,
  and may only insert into (and read) the view log: no UPDATE, no DELETE, no TRUNCATE.
Neither retail role can connect to the shared or the vault database, nor the shared
database's roles to the retail database. A table the map below does not name (a new
one, django_migrations) gives the two retail roles nothing until it is added here.

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
from apps.publication.models import (
    AppliedMessage,
    PublishedApplication,
    RetailAccount,
    RetailInboxEntry,
    RetailSession,
    RetailViewLog,
)

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


def _retail_rights() -> tuple[dict[str, str], dict[str, str]]:
    """(publisher's rights, retail site's rights) per retail table."""
    published = PublishedApplication._meta.db_table
    applied = AppliedMessage._meta.db_table
    accounts = RetailAccount._meta.db_table
    sessions = RetailSession._meta.db_table
    view_log = RetailViewLog._meta.db_table
    inbox = RetailInboxEntry._meta.db_table
    publisher = {
        published: ROW_RIGHTS,
        applied: ROW_RIGHTS,
        accounts: ROW_RIGHTS,
        sessions: ROW_RIGHTS,
        inbox: ROW_RIGHTS,
        # The collector reads; nobody on the T&D side changes what retail was shown.
        view_log: "SELECT",
        # With django-axes' tables (below): shadan-backup dumps the database as this role.
        "django_migrations": "SELECT",
    }
    site = {
        published: "SELECT",
        # As apps.retail saves them (update_fields): its own password change and sign-in.
        accounts: "SELECT, UPDATE (password, last_login, must_change_password)",
        sessions: ROW_RIGHTS,
        # SELECT as well: INSERT … RETURNING id reads the id it inserted.
        view_log: "SELECT, INSERT",
        inbox: "SELECT, UPDATE (read_at)",
    }
    return publisher, site


def _table_rights(role: str, rights: dict[str, str], *, prefixes: dict[str, str]) -> str:
    """Exactly `rights` per table for `role` (REVOKE ALL first, so a run also takes back
    what an earlier version granted), and the rights of `prefixes` on every table whose
    name starts with that prefix. Tables that do not exist yet (before the first migrate)
    are skipped: the run after migrate reaches them."""
    lines = ["DO $$", "DECLARE t text;", "BEGIN"]
    for table, granted in rights.items():
        lines += [
            f"  IF to_regclass('public.{table}') IS NOT NULL THEN",
            f"    REVOKE ALL ON public.{table} FROM {role};",
            f"    GRANT {granted} ON public.{table} TO {role};",
            "  END IF;",
        ]
    for prefix, granted in prefixes.items():
        lines += [
            "  FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
            f"    AND starts_with(tablename, '{prefix}') LOOP",
            f"    EXECUTE format('REVOKE ALL ON public.%I FROM {role}', t);",
            f"    EXECUTE format('GRANT {granted} ON public.%I TO {role}', t);",
            "  END LOOP;",
        ]
    lines.append("END $$;")
    return "\n".join(lines)


def _retail_schema(database: str, owner: str, roles: tuple[str, ...]) -> str:
    users = ", ".join(roles)
    return "\n".join(
        [
            f"\\connect {database}",
            f"ALTER SCHEMA public OWNER TO {owner};",
            "REVOKE ALL ON SCHEMA public FROM PUBLIC;",
            f"GRANT USAGE ON SCHEMA public TO {users};",
            # Ids of the view log, the inbox, the watermarks and django-axes' records.
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {users};",
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public",
            f"  GRANT USAGE, SELECT ON SEQUENCES TO {users};",
        ]
    )


def grants_sql(
    *,
    database: str,
    vault_database: str,
    owner: str,
    app_role: str,
    vault_role: str,
    retail_database: str,
    retail_owner: str,
    publisher_role: str,
    retail_role: str,
) -> str:
    names = {
        "--database": database,
        "--vault-database": vault_database,
        "--owner": owner,
        "--app-role": app_role,
        "--vault-role": vault_role,
        "--retail-database": retail_database,
        "--retail-owner": retail_owner,
        "--publisher-role": publisher_role,
        "--retail-role": retail_role,
    }
    for option, value in names.items():
        if not _IDENTIFIER.match(value):
            raise CommandError(f"{option} {value!r}: use lower-case letters, digits and _")
    if len(set(names.values())) != len(names):
        raise CommandError("Every database and role needs its own name")
    publisher_rights, site_rights = _retail_rights()
    parts = [
        "-- shadan: roles, databases and grants (python manage.py database_grants).",
        "-- Run as a superuser with psql -v ON_ERROR_STOP=1; again after every migrate.",
        "\\set ON_ERROR_STOP on",
        *(
            _create_role(role)
            for role in (owner, app_role, vault_role, retail_owner, publisher_role, retail_role)
        ),
        _create_database(database, owner),
        f"GRANT CONNECT, TEMPORARY ON DATABASE {database} TO {app_role};",
        _create_database(vault_database, owner),
        f"GRANT CONNECT, TEMPORARY ON DATABASE {vault_database} TO {vault_role};",
        _create_database(retail_database, retail_owner),
        f"GRANT CONNECT ON DATABASE {retail_database} TO {publisher_role}, {retail_role};",
        _schema_rights(database, owner, app_role),
        _audit_rights(app_role),
        _schema_rights(vault_database, owner, vault_role),
        _retail_schema(retail_database, retail_owner, (publisher_role, retail_role)),
        # django-axes' lock-out records: the retail site's sign-in keeps them.
        _table_rights(publisher_role, publisher_rights, prefixes={"axes_": "SELECT"}),
        _table_rights(retail_role, site_rights, prefixes={"axes_": ROW_RIGHTS}),
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
        parser.add_argument("--retail-database", default="shadan_retail")
        parser.add_argument(
            "--retail-owner", default="shadan_retail_owner", help="Migrates the retail database."
        )
        parser.add_argument(
            "--publisher-role",
            default="shadan_retail_publisher",
            help="RETAIL_DATABASE_URL's role on the T&D side (relay, collector).",
        )
        parser.add_argument(
            "--retail-role",
            default="shadan_retail_app",
            help="RETAIL_DATABASE_URL's role on the retail site.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(
            grants_sql(
                database=options["database"],
                vault_database=options["vault_database"],
                owner=options["owner"],
                app_role=options["app_role"],
                vault_role=options["vault_role"],
                retail_database=options["retail_database"],
                retail_owner=options["retail_owner"],
                publisher_role=options["publisher_role"],
                retail_role=options["retail_role"],
            ),
            ending="",
        )
