"""What can be checked of deploy/ without a production host: the units parse and name
existing programs, the proxy configuration passes `nginx -t`, and two gunicorn instances
on one host each get their own control socket."""

from __future__ import annotations

import datetime
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.config.test_settings import GOOD
from tests.conftest import require_tool

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
VENV_BIN = Path(sys.executable).parent


def _installed_here(text: str) -> str:
    """A unit as if the code were installed where this checkout is."""
    text = text.replace("/opt/shadan/.venv/bin/", f"{VENV_BIN}/")
    return text.replace("/opt/shadan", str(ROOT))


def test_every_process_has_a_unit_in_production_settings():
    units = {path.name: path.read_text() for path in (DEPLOY / "systemd").glob("*.service")}

    retail = units.pop("shadan-retail.service")
    assert set(units) == {
        "shadan-td.service",
        "shadan-worker.service",
        "shadan-beat.service",
        "shadan-seal.service",
    }
    for text in units.values():
        assert "Environment=SHADAN_ENV=production" in text
        assert "EnvironmentFile=/etc/shadan/keys.env" in text
    assert "gunicorn -c /opt/shadan/deploy/gunicorn.conf.py" in units["shadan-td.service"]
    assert "celery -A config worker" in units["shadan-worker.service"]
    assert "celery -A config beat" in units["shadan-beat.service"]
    assert "manage.py audit_seal" in units["shadan-seal.service"]
    assert "Environment=SHADAN_ENV=production" in retail


def test_the_retail_site_runs_as_its_own_gunicorn_with_the_retail_environment_alone():
    unit = (DEPLOY / "systemd" / "shadan-retail.service").read_text()
    settings = [line for line in unit.splitlines() if not line.startswith("#")]

    assert "Environment=SHADAN_SITE_ROLE=retail" in settings
    assert "Environment=GUNICORN_BIND=127.0.0.1:8001" in settings
    assert [line for line in settings if line.startswith("EnvironmentFile=")] == [
        "EnvironmentFile=/etc/shadan/retail.env"
    ]
    assert "RuntimeDirectory=shadan-retail" in settings
    assert "ExecStart=/opt/shadan/.venv/bin/gunicorn -c /opt/shadan/deploy/gunicorn.conf.py" in (
        settings
    )
    assert "User=shadan-retail" in settings


def test_the_proxy_serves_the_retail_site_under_its_own_host_name():
    site = (DEPLOY / "nginx" / "shadan.conf").read_text()
    retail = site[site.index("upstream shadan_retail") :]

    assert "server 127.0.0.1:8001;" in retail
    assert "server_name retail.shadan.example.jp;" in retail
    assert "proxy_pass http://shadan_retail;" in retail
    assert "shadan_td" not in retail
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in retail


def test_the_systemd_units_verify(tmp_path):
    require_tool("systemd-analyze", package="systemd")
    for path in (DEPLOY / "systemd").glob("shadan-*"):
        (tmp_path / path.name).write_text(_installed_here(path.read_text()))

    result = subprocess.run(  # noqa: S603
        ["systemd-analyze", "verify", *sorted(str(p) for p in tmp_path.iterdir())],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert "Unknown" not in result.stderr
    assert "ignoring" not in result.stderr


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "shadan.example.jp")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_the_nginx_proxy_configuration_passes_nginx_t(tmp_path):
    require_tool("nginx", package="nginx-light")
    cert, key = _self_signed(tmp_path)
    site = (DEPLOY / "nginx" / "shadan.conf").read_text()
    site = site.replace("/etc/ssl/certs/shadan.example.jp.pem", str(cert))
    site = site.replace("/etc/ssl/private/shadan.example.jp.key", str(key))
    site = site.replace("/etc/ssl/certs/retail.shadan.example.jp.pem", str(cert))
    site = site.replace("/etc/ssl/private/retail.shadan.example.jp.key", str(key))
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nevents {{}}\nhttp {{ include {tmp_path}/site.conf; }}\n"
    )

    result = subprocess.run(  # noqa: S603
        [  # noqa: S607 (nginx from the PATH, as the operator runs it)
            "nginx",
            "-t",
            "-p",
            str(tmp_path),
            "-e",
            str(tmp_path / "error.log"),
            "-c",
            str(tmp_path / "nginx.conf"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in site


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_two_gunicorn_sites_on_one_host_each_keep_their_own_control_socket(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "XDG_"))}
    env.update(GOOD, SHADAN_ENV="production", HOME=str(tmp_path / "home"))
    sites = []
    for name in ("td", "retail"):
        runtime = tmp_path / name
        runtime.mkdir()
        sites.append(
            (
                runtime / "gunicorn.ctl",
                subprocess.Popen(  # noqa: S603
                    [str(VENV_BIN / "gunicorn"), "-c", str(DEPLOY / "gunicorn.conf.py")],
                    cwd=ROOT,
                    env={
                        **env,
                        "RUNTIME_DIRECTORY": str(runtime),
                        "GUNICORN_BIND": f"127.0.0.1:{_free_port()}",
                        "GUNICORN_WORKERS": "1",
                    },
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                ),
            )
        )
    try:
        for control_socket, process in sites:
            # Bounded wait for the master to come up (not a timing assertion).
            for _ in range(300):
                if control_socket.exists() or process.poll() is not None:
                    break
                time.sleep(0.1)
            assert process.poll() is None
            assert control_socket.is_socket()
        assert not (tmp_path / "home" / ".gunicorn").exists()
    finally:
        for _, process in sites:
            process.send_signal(signal.SIGTERM)
        for _, process in sites:
            process.communicate(timeout=60)


def _shadan_manage(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    keys = subprocess.run(
        [sys.executable, "manage.py", "generate_production_keys"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    (tmp_path / "keys.env").write_text(keys)
    (tmp_path / "shadan.env").write_text(
        "DATABASE_URL=postgres://shadan_app@db/shadan\n"
        "VAULT_DATABASE_URL=postgres://shadan_vault_app@db/shadan_vault\n"
        "DJANGO_ALLOWED_HOSTS=shadan.example.jp\n"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "VAULT_"))}
    clean.pop("DATABASE_URL", None)
    clean.update(SHADAN_HOME=str(ROOT), SHADAN_ETC=str(tmp_path), **env)
    return subprocess.run(  # noqa: S603
        [str(DEPLOY / "shadan-manage"), *args],
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


SHOW = (
    "from django.conf import settings as s; "
    "print(s.SETTINGS_MODULE, s.DATABASES['default']['USER'], s.ALLOWED_HOSTS[0])"
)


def test_shadan_manage_runs_manage_py_in_the_units_environment(tmp_path):
    result = _shadan_manage(
        tmp_path, "shell", "-v", "0", "-c", SHOW, DJANGO_SETTINGS_MODULE="x.local"
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "config.settings.production",
        "shadan_app",
        "shadan.example.jp",
    ]


def test_shadan_manage_lets_the_owner_role_migrate(tmp_path):
    result = _shadan_manage(
        tmp_path, "shell", "-v", "0", "-c", SHOW, DATABASE_URL="postgres://shadan_owner@db/shadan"
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[1] == "shadan_owner"


def test_a_beat_interval_of_zero_leaves_the_task_to_the_sealer_unit():
    # The sealer run as its own user (shadan-seal.timer) replaces beat's audit.seal.
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_SETTINGS")}
    env.update(SHADAN_ENV="test", SHADAN_BEAT_AUDIT_SEAL_MINUTES="0")
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(sorted(settings.CELERY_BEAT_SCHEDULE))",
        ],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings.test"},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert shown.returncode == 0, shown.stderr
    assert "audit-seal" not in shown.stdout
    assert "audit-verify" in shown.stdout
