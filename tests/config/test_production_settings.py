"""Production reads its mail relay, beat's schedule file, database connection lifetime and
prepared statements from the environment, and renders through the cached template loader."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.config.test_settings import GOOD, RETAIL_SITE

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import json, django
import config  # chooses the settings from SHADAN_ENV, as every entry point does
django.setup()
from django.conf import settings as s
from django.template import engines
values = {k: getattr(s, k) for k in (
    "EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD",
    "EMAIL_USE_TLS", "EMAIL_USE_SSL", "CELERY_BEAT_SCHEDULE_FILENAME", "SECURE_PROXY_SSL_HEADER",
)}
values["CONNECTIONS"] = {
    alias: [db["CONN_MAX_AGE"], db["CONN_HEALTH_CHECKS"]] for alias, db in s.DATABASES.items()
}
values["PREPARED"] = {
    alias: [db["OPTIONS"].get("server_side_binding"), db["OPTIONS"].get("prepare_threshold")]
    for alias, db in s.DATABASES.items()
}
values["TEMPLATE_LOADERS"] = [
    type(loader).__module__ + "." + type(loader).__name__
    for loader in engines["django"].engine.template_loaders
]
print(json.dumps(values))
"""


def _production(*, site: dict[str, str] = GOOD, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "VAULT_", "AUDIT_", "EMAIL_", "CELERY_", "SHADAN_"))
    }
    clean.pop("DATABASE_URL", None)
    clean.pop("RETAIL_DATABASE_URL", None)
    clean.update(site, SHADAN_ENV="production", **env)
    return subprocess.run(  # noqa: S603 (our own fixed code)
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_sends_mail_through_the_relay_the_environment_names():
    result = _production(
        EMAIL_HOST="smtp.example.jp",
        EMAIL_PORT="587",
        EMAIL_HOST_USER="shadan",
        EMAIL_HOST_PASSWORD="relay-secret",
        EMAIL_USE_TLS="true",
    )

    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (values["EMAIL_HOST"], values["EMAIL_PORT"]) == ("smtp.example.jp", 587)
    assert (values["EMAIL_HOST_USER"], values["EMAIL_HOST_PASSWORD"]) == ("shadan", "relay-secret")
    assert (values["EMAIL_USE_TLS"], values["EMAIL_USE_SSL"]) == (True, False)


def test_production_refuses_starttls_and_implicit_tls_together():
    result = _production(EMAIL_USE_TLS="true", EMAIL_USE_SSL="true")

    assert result.returncode != 0
    assert "EMAIL_USE_TLS and EMAIL_USE_SSL" in result.stderr


def test_beats_schedule_file_is_outside_the_code_and_configurable():
    default = json.loads(_production().stdout.strip().splitlines()[-1])
    chosen = json.loads(
        _production(CELERY_BEAT_SCHEDULE_FILENAME="/srv/beat/schedule").stdout.splitlines()[-1]
    )

    assert not Path(default["CELERY_BEAT_SCHEDULE_FILENAME"]).is_relative_to(ROOT)
    assert chosen["CELERY_BEAT_SCHEDULE_FILENAME"] == "/srv/beat/schedule"


def test_production_trusts_the_proxys_x_forwarded_proto():
    values = json.loads(_production().stdout.strip().splitlines()[-1])
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_production_keeps_database_connections_open_for_a_minute_and_checks_them_first():
    values = json.loads(_production().stdout.strip().splitlines()[-1])

    assert values["CONNECTIONS"] == {
        "default": [60, True],
        "vault": [60, True],
        "retail": [60, True],
    }


def test_production_takes_the_connection_lifetime_from_the_environment():
    chosen = json.loads(_production(DJANGO_CONN_MAX_AGE="300").stdout.strip().splitlines()[-1])
    closed = json.loads(_production(DJANGO_CONN_MAX_AGE="0").stdout.strip().splitlines()[-1])

    assert chosen["CONNECTIONS"] == {
        "default": [300, True],
        "vault": [300, True],
        "retail": [300, True],
    }
    assert closed["CONNECTIONS"] == {"default": [0, True], "vault": [0, True], "retail": [0, True]}


def test_production_refuses_a_negative_connection_lifetime():
    result = _production(DJANGO_CONN_MAX_AGE="-1")

    assert result.returncode != 0
    assert "DJANGO_CONN_MAX_AGE" in result.stderr


def test_production_renders_through_the_cached_template_loader():
    # Django wraps the loaders in the cached one when TEMPLATES sets no "loaders"; a
    # "loaders" option added later must keep it, or every page re-reads its templates.
    values = json.loads(_production().stdout.strip().splitlines()[-1])

    assert values["TEMPLATE_LOADERS"] == ["django.template.loaders.cached.Loader"]


def test_the_production_retail_site_keeps_its_one_connection_and_renders_through_the_cache():
    # config/settings/retail_site.py replaces DATABASES before production.py runs: the
    # retail site's only database gets the same lifetime and health check.
    default = json.loads(_production(site=RETAIL_SITE).stdout.strip().splitlines()[-1])
    chosen = json.loads(
        _production(site=RETAIL_SITE, DJANGO_CONN_MAX_AGE="15").stdout.strip().splitlines()[-1]
    )

    assert default["CONNECTIONS"] == {"default": [60, True]}
    assert chosen["CONNECTIONS"] == {"default": [15, True]}
    assert default["TEMPLATE_LOADERS"] == ["django.template.loaders.cached.Loader"]


def test_every_postgresql_connection_prepares_what_it_repeats():
    def values(**options: object) -> dict[str, object]:
        return json.loads(_production(**options).stdout.strip().splitlines()[-1])  # type: ignore[arg-type]

    td, retail = values(), values(site=RETAIL_SITE)
    chosen, off = values(DJANGO_DB_PREPARE_THRESHOLD="5"), values(DJANGO_DB_PREPARE_THRESHOLD="off")

    assert td["PREPARED"] == {alias: [True, 2] for alias in ("default", "vault", "retail")}
    assert retail["PREPARED"] == {"default": [True, 2]}
    assert chosen["PREPARED"] == {alias: [True, 5] for alias in ("default", "vault", "retail")}
    # Off: Django's own default, client-side binding, nothing prepared.
    assert off["PREPARED"] == {alias: [None, None] for alias in ("default", "vault", "retail")}


def test_a_prepare_threshold_that_is_not_a_count_is_refused():
    for wrong in ("-1", "two", "2.5"):
        result = _production(DJANGO_DB_PREPARE_THRESHOLD=wrong)

        assert result.returncode != 0
        assert "DJANGO_DB_PREPARE_THRESHOLD" in result.stderr
