from __future__ import annotations

import io
import stat
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings

from apps.audit.mac import parse_mac_keys
from apps.audit.signing import signing_key
from apps.vault.keyring import parse_keyring
from apps.vault.services import vault_read, vault_store

KEYS = (
    "DJANGO_SECRET_KEY",
    "VAULT_MASTER_KEYS",
    "VAULT_ACTIVE_KEY_ID",
    "VAULT_INDEX_KEY",
    "AUDIT_SIGNING_KEY",
    "AUDIT_MAC_KEYS",
    "AUDIT_MAC_ACTIVE_KEY_ID",
)


def _run(base_dir: Path, *args: str) -> str:
    out = io.StringIO()
    with override_settings(BASE_DIR=base_dir):
        call_command("init_local_keys", *args, stdout=out)
    return out.getvalue()


def _values(base_dir: Path) -> dict[str, str]:
    values = {}
    for line in (base_dir / ".local-keys.env").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name] = value
    return values


def _key_material(values: dict[str, str]) -> list[str]:
    material = [values["DJANGO_SECRET_KEY"], values["VAULT_INDEX_KEY"], values["AUDIT_SIGNING_KEY"]]
    material += [e.partition(":")[2] for e in values["VAULT_MASTER_KEYS"].split(",")]
    material += [e.partition(":")[2] for e in values["AUDIT_MAC_KEYS"].split(",")]
    return material


def test_init_local_keys_creates_a_private_file_with_usable_keys(tmp_path):
    out = _run(tmp_path)

    values = _values(tmp_path)
    assert set(values) == set(KEYS)
    assert values["VAULT_ACTIVE_KEY_ID"] == "dev-1"
    assert len(values["DJANGO_SECRET_KEY"]) >= 50
    ring = parse_keyring(
        master_keys=values["VAULT_MASTER_KEYS"],
        active_key_id=values["VAULT_ACTIVE_KEY_ID"],
        index_key=values["VAULT_INDEX_KEY"],
    )
    assert ring is not None
    assert ring.key_ids == {"dev-1"}
    with override_settings(AUDIT_SIGNING_KEY=values["AUDIT_SIGNING_KEY"], AUDIT_VERIFY_KEY=""):
        assert signing_key() is not None
    mac = parse_mac_keys(
        keys=values["AUDIT_MAC_KEYS"], active_key_id=values["AUDIT_MAC_ACTIVE_KEY_ID"]
    )
    assert mac is not None
    assert mac.active_key_id == "dev-1"
    assert stat.S_IMODE((tmp_path / ".local-keys.env").stat().st_mode) == 0o600
    assert "Created" in out
    for secret in _key_material(values):
        assert secret not in out


def test_init_local_keys_is_idempotent(tmp_path):
    _run(tmp_path)
    first = (tmp_path / ".local-keys.env").read_text()

    out = _run(tmp_path)

    assert (tmp_path / ".local-keys.env").read_text() == first
    assert "nothing changed" in out


def test_init_local_keys_adds_only_missing_values_and_keeps_the_rest(tmp_path):
    path = tmp_path / ".local-keys.env"
    path.write_text("# mine\nDJANGO_SECRET_KEY=my-own-secret\nOTHER=kept\n")

    out = _run(tmp_path)

    values = _values(tmp_path)
    assert values["DJANGO_SECRET_KEY"] == "my-own-secret"
    assert values["OTHER"] == "kept"
    assert set(KEYS) <= set(values)
    assert path.read_text().startswith("# mine\nDJANGO_SECRET_KEY=my-own-secret\nOTHER=kept\n")
    assert "VAULT_MASTER_KEYS" in out
    assert "DJANGO_SECRET_KEY" not in out


def test_init_local_keys_adds_an_audit_signing_key_to_an_older_file(tmp_path):
    # given: a file written before the audit trail had a signing key
    _run(tmp_path)
    path = tmp_path / ".local-keys.env"
    before = _values(tmp_path)
    path.write_text(
        "\n".join(line for line in path.read_text().splitlines() if "AUDIT_SIGNING" not in line)
        + "\n"
    )

    out = _run(tmp_path)

    after = _values(tmp_path)
    assert "AUDIT_SIGNING_KEY" in out
    assert after["AUDIT_SIGNING_KEY"] != before["AUDIT_SIGNING_KEY"]
    assert {k: v for k, v in after.items() if k != "AUDIT_SIGNING_KEY"} == {
        k: v for k, v in before.items() if k != "AUDIT_SIGNING_KEY"
    }
    assert after["AUDIT_SIGNING_KEY"] not in out


def test_init_local_keys_adds_an_audit_mac_key_to_an_older_file(tmp_path):
    # given: a file written before audit events were authenticated
    _run(tmp_path)
    path = tmp_path / ".local-keys.env"
    before = _values(tmp_path)
    path.write_text(
        "\n".join(line for line in path.read_text().splitlines() if "AUDIT_MAC" not in line) + "\n"
    )

    out = _run(tmp_path)

    after = _values(tmp_path)
    assert "AUDIT_MAC_KEYS" in out
    assert after["AUDIT_MAC_ACTIVE_KEY_ID"] == "dev-1"
    assert after["AUDIT_MAC_KEYS"] != before["AUDIT_MAC_KEYS"]
    assert after["AUDIT_SIGNING_KEY"] == before["AUDIT_SIGNING_KEY"]
    assert after["AUDIT_MAC_KEYS"].partition(":")[2] not in out


def test_init_local_keys_rotate_adds_a_new_active_key_and_keeps_the_old(tmp_path):
    _run(tmp_path)
    before = _values(tmp_path)

    out = _run(tmp_path, "--rotate")

    after = _values(tmp_path)
    assert after["VAULT_ACTIVE_KEY_ID"] == "dev-2"
    assert after["VAULT_MASTER_KEYS"].startswith(before["VAULT_MASTER_KEYS"] + ",dev-2:")
    assert after["DJANGO_SECRET_KEY"] == before["DJANGO_SECRET_KEY"]
    assert after["VAULT_INDEX_KEY"] == before["VAULT_INDEX_KEY"]
    assert "dev-2" in out
    assert "vault_rewrap" in out
    for secret in _key_material(after):
        assert secret not in out

    _run(tmp_path, "--rotate")
    assert _values(tmp_path)["VAULT_ACTIVE_KEY_ID"] == "dev-3"


@pytest.mark.django_db(databases=["default", "vault", "retail"])
def test_records_stay_readable_after_rotate_and_rewrap(tmp_path, make_pii, capsys):
    # given: a record stored under the generated dev-1 key
    _run(tmp_path)
    vault_settings = {k: v for k, v in _values(tmp_path).items() if k.startswith("VAULT_")}
    pii = make_pii()
    with override_settings(**vault_settings):
        record_id = vault_store(pii)
    # when
    _run(tmp_path, "--rotate")
    rotated = {k: v for k, v in _values(tmp_path).items() if k.startswith("VAULT_")}
    with override_settings(**rotated):
        call_command("vault_rewrap")
        # then
        assert vault_read(record_id) == pii
    assert "Rewrapped 1 data key(s) under master key dev-2" in capsys.readouterr().out


def test_init_local_keys_gives_the_retail_site_its_own_secret_key_and_nothing_else(tmp_path):
    _run(tmp_path)
    retail = (tmp_path / ".local-keys-retail.env").read_text()

    names = [line.partition("=")[0] for line in retail.splitlines() if not line.startswith("#")]
    assert names == ["DJANGO_SECRET_KEY"]
    assert _values(tmp_path)["DJANGO_SECRET_KEY"] not in retail
    assert stat.S_IMODE((tmp_path / ".local-keys-retail.env").stat().st_mode) == 0o600
    _run(tmp_path)
    assert (tmp_path / ".local-keys-retail.env").read_text() == retail
