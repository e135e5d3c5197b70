"""deploy/shadan-backup and deploy/shadan-restore on a real PostgreSQL: a backup of a
live deployment restores into new databases and a new checkpoint directory, where the
audit chain verifies against the checkpoints written before it and the vault opens with
the same keys; a restore never writes over a live directory or database. A restored copy
started by mistake with the live checkpoint directory branches off there: the live
chain still verifies, the copy's verification shows the restore. A verifier holding only
the public key verifies the live chain."""

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
from tests.administration.test_database_grants import VIEW, _psql, _url
from tests.conftest import require_postgres

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"

WRITE = r"""
import json
from django.core.management import call_command
from apps.administration.services import user_create
from apps.vault.services import vault_store
from apps.vault.types import CustomerPII
user_create(acting_user=None, username="USERNAME", password="x" * 20,
            division="admin", roles=["administrator"])
record = vault_store(CustomerPII(name="n", name_kana="ｎ", phone="0000000000"))
call_command("audit_seal", verbosity=0)
print(json.dumps({"record": str(record)}))
"""
READ = r"""
import json, uuid
from apps.vault.services import vault_read
print(json.dumps({"name": vault_read(uuid.UUID("RECORD")).name}))
"""


def _names(suffix: str) -> dict[str, str]:
    # Named after the configured database, as in tests/administration/test_database_grants.py.
    configured = urlsplit(os.environ.get("DATABASE_URL", "")).path.lstrip("/") or "shadan"
    prefix = f"{configured[:24]}_r{suffix}"
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


def _etc(directory: Path, names: dict[str, str], checkpoints: Path, keys: str) -> Path:
    directory.mkdir()
    (directory / "keys.env").write_text(keys)
    (directory / "shadan.env").write_text(
        f"DATABASE_URL={_url(names['app_role'], names['database'])}\n"
        f"VAULT_DATABASE_URL={_url(names['vault_role'], names['vault_database'])}\n"
        f"RETAIL_DATABASE_URL={_url(names['publisher_role'], names['retail_database'])}\n"
        f"AUDIT_CHECKPOINT_DIR={checkpoints}\n"
        "DJANGO_ALLOWED_HOSTS=shadan.example.jp\n"
    )
    return directory


def _script(name: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "VAULT_", "AUDIT_")) and k != "DATABASE_URL"
    }
    clean.update(SHADAN_HOME=str(ROOT), **env)
    return subprocess.run(  # noqa: S603 (our own scripts)
        [str(DEPLOY / name), *args], env=clean, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def restored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    if "postgres" not in os.environ.get("DATABASE_URL", ""):
        yield {}
        return
    tmp = tmp_path_factory.mktemp("restore")
    suffix = uuid.uuid4().hex[:8]
    live, copy = _names(f"{suffix}_live"), _names(f"{suffix}_copy")
    auditor = f"{live['owner']}_auditor"
    keys = subprocess.run(
        [sys.executable, "manage.py", "generate_production_keys"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    live_etc = _etc(tmp / "live-etc", live, tmp / "live-checkpoints", keys)
    copy_etc = _etc(tmp / "copy-etc", copy, tmp / "copy-checkpoints", keys)
    try:
        for names in (live, copy):
            _psql(grants_sql(**names))
        owner_urls = {
            "DATABASE_URL": _url(live["owner"], live["database"]),
            "VAULT_DATABASE_URL": _url(live["owner"], live["vault_database"]),
            "RETAIL_DATABASE_URL": _url(live["retail_owner"], live["retail_database"]),
        }
        for alias in ("default", "vault", "retail"):
            migrated = _script(
                "shadan-manage",
                "migrate",
                "--database",
                alias,
                "-v",
                "0",
                SHADAN_ETC=str(live_etc),
                **owner_urls,
            )
            assert migrated.returncode == 0, migrated.stderr[-3000:]
        _psql(grants_sql(**live))
        write = WRITE.replace("USERNAME", "backup_probe")
        wrote = _script("shadan-manage", "shell", "-v", "0", "-c", write, SHADAN_ETC=str(live_etc))
        assert wrote.returncode == 0, wrote.stderr[-3000:]
        record = json.loads(wrote.stdout.strip().splitlines()[-1])["record"]
        # What the retail site logged (as its role may: insert only).
        with psycopg.connect(_url(live["retail_role"], live["retail_database"])) as retail:
            retail.execute(VIEW)

        backup = _script("shadan-backup", str(tmp / "backups"), SHADAN_ETC=str(live_etc))
        assert backup.returncode == 0, backup.stderr
        backup_dir = backup.stdout.strip().splitlines()[-1]

        restore_env = {
            "DATABASE_URL": _url(copy["owner"], copy["database"]),
            "VAULT_DATABASE_URL": _url(copy["owner"], copy["vault_database"]),
            "RETAIL_DATABASE_URL": _url(copy["retail_owner"], copy["retail_database"]),
            "AUDIT_CHECKPOINT_DIR": str(tmp / "copy-checkpoints"),
        }
        restore = _script("shadan-restore", backup_dir, **restore_env)
        assert restore.returncode == 0, restore.stderr
        _psql(grants_sql(**copy))
        again = _script("shadan-restore", backup_dir, **restore_env)
        over_live = _script(
            "shadan-restore",
            backup_dir,
            **{**restore_env, "AUDIT_CHECKPOINT_DIR": str(tmp / "live-checkpoints")},
        )
        verify = _script("shadan-manage", "audit_verify", SHADAN_ETC=str(copy_etc))
        read = _script(
            "shadan-manage",
            "shell",
            "-v",
            "0",
            "-c",
            READ.replace("RECORD", record),
            SHADAN_ETC=str(copy_etc),
        )
        copied_retail = _url(copy["retail_owner"], copy["retail_database"])
        result = {
            "views": _attempt(copied_retail, "SELECT username FROM publication_retailviewlog"),
            "view_log_update": _attempt(
                copied_retail, "UPDATE publication_retailviewlog SET username = 'x'"
            ),
            "verify": verify,
            "read": read,
            "again": again,
            "over_live": over_live,
            "checkpoints": sorted(p.name for p in (tmp / "copy-checkpoints").rglob("*.json")),
            "live_checkpoints": sorted(p.name for p in (tmp / "live-checkpoints").rglob("*.json")),
        }
        # The mistake of issue 15: the restored copy started with the live environment's
        # checkpoint directory writes and seals; then the live one goes on.
        mistaken_etc = _etc(tmp / "mistaken-etc", copy, tmp / "live-checkpoints", keys)
        live_before = {
            str(p.relative_to(tmp)): p.read_bytes()
            for p in (tmp / "live-checkpoints").rglob("*")
            if p.is_file()
        }
        for etc, username in ((mistaken_etc, "copy_probe"), (live_etc, "live_probe")):
            wrote = _script(
                "shadan-manage",
                "shell",
                "-v",
                "0",
                "-c",
                WRITE.replace("USERNAME", username),
                SHADAN_ETC=str(etc),
            )
            assert wrote.returncode == 0, wrote.stderr[-3000:]
        result["live_before"] = live_before
        result["live_after"] = {
            str(p.relative_to(tmp)): p.read_bytes()
            for p in (tmp / "live-checkpoints").rglob("*")
            if p.is_file()
        }
        result["live_verify"] = _script("shadan-manage", "audit_verify", SHADAN_ETC=str(live_etc))
        result["mistaken_verify"] = _script(
            "shadan-manage", "audit_verify", "--no-record", SHADAN_ETC=str(mistaken_etc)
        )
        # An outside verifier: the live database, read by a role that may only SELECT the
        # audit tables (docs/production.md), and the checkpoint directory, with the public
        # key alone.
        _psql(
            f"CREATE ROLE {auditor} LOGIN;\n"
            f"GRANT CONNECT ON DATABASE {live['database']} TO {auditor};\n"
            f"\\connect {live['database']}\n"
            f"GRANT USAGE ON SCHEMA public TO {auditor};\n"
            "GRANT SELECT ON audit_auditevent, audit_auditseal, audit_auditcheckpoint "
            f"TO {auditor};\n"
        )
        public = next(
            line.split("=", 1)[1]
            for line in keys.splitlines()
            if line.startswith("AUDIT_VERIFY_KEY=")
        )
        result["outside_verify"] = subprocess.run(
            [sys.executable, "manage.py", "audit_verify", "--no-record"],
            cwd=ROOT,
            env={
                "PATH": os.environ["PATH"],
                "SHADAN_ENV": "verifier",
                "DATABASE_URL": _url(auditor, live["database"]),
                "AUDIT_VERIFY_KEY": public,
                "AUDIT_CHECKPOINT_DIR": str(tmp / "live-checkpoints"),
            },
            capture_output=True,
            text=True,
            timeout=300,
        )
        yield result
    finally:
        drops = [
            f"DROP DATABASE IF EXISTS {names[db]} WITH (FORCE);"
            for names in (live, copy)
            for db in ("database", "vault_database", "retail_database")
        ]
        drops += [
            f"DROP ROLE IF EXISTS {names[role]};"
            for names in (live, copy)
            for role in (
                "app_role",
                "vault_role",
                "publisher_role",
                "retail_role",
                "owner",
                "retail_owner",
            )
        ]
        drops.append(f"DROP ROLE IF EXISTS {auditor};")
        _psql("\n".join(drops))


def test_the_restored_chain_verifies_against_the_checkpoints_written_before_the_backup(restored):
    require_postgres()
    assert restored["live_checkpoints"]
    assert restored["checkpoints"] == restored["live_checkpoints"]
    verify = restored["verify"]
    assert verify.returncode == 0, verify.stderr


def test_the_restored_vault_opens_with_the_same_keys(restored):
    require_postgres()
    read = restored["read"]
    assert read.returncode == 0, read.stderr
    assert json.loads(read.stdout.strip().splitlines()[-1]) == {"name": "n"}


def test_a_restore_never_writes_over_a_database_or_checkpoint_directory_in_use(restored):
    require_postgres()
    assert restored["again"].returncode != 0
    assert "not empty" in restored["again"].stderr
    assert restored["over_live"].returncode != 0
    assert "not empty" in restored["over_live"].stderr


def test_a_copy_started_with_the_live_checkpoint_directory_never_disturbs_the_live_chain(
    restored,
):
    require_postgres()
    before, after = restored["live_before"], restored["live_after"]
    # nothing the live database had written changed
    assert {name: after[name] for name in before} == before
    new = sorted(set(after) - set(before))
    # the copy wrote into a branch of the chain's directory, the live one into the chain's
    assert any("/branch-" in name for name in new), new
    assert any(name.count("/") == 2 for name in new), new
    live = restored["live_verify"]
    assert live.returncode == 0, live.stderr
    assert live.stdout.startswith("audit chain OK")


def test_the_copy_started_with_the_live_checkpoint_directory_shows_the_restore(restored):
    require_postgres()
    mistaken = restored["mistaken_verify"]
    assert mistaken.returncode == 1
    assert "audit chain FAILED: restored: checkpoint beyond the restored trail" in (mistaken.stderr)


def test_a_verifier_holding_only_the_public_key_verifies_the_live_chain(restored):
    require_postgres()
    outside = restored["outside_verify"]
    assert outside.returncode == 0, outside.stderr
    assert outside.stdout.startswith("audit chain OK")
    assert "event MACs not checked" in outside.stdout


def _attempt(url: str, statement: str) -> object:
    """The rows (or "allowed"), or the first line of the database's refusal."""
    with psycopg.connect(url) as connection:
        try:
            cursor = connection.execute(statement)
        except psycopg.Error as exc:
            return str(exc).splitlines()[0]
        return cursor.fetchall() if cursor.description else "allowed"


def test_the_retail_database_is_restored_with_its_view_log_still_append_only(restored):
    require_postgres()
    assert restored["views"] == [("kouri",)]
    assert "append-only" in restored["view_log_update"]
