"""Settings shared by every environment. Everything comes from the environment.

Values that are secrets have no default here; local.py supplies development values
and production.py refuses to start without real ones.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path

import django_stubs_ext
import environ
from django.core.exceptions import ImproperlyConfigured

from . import retail_site
from .database_options import with_prepared_statements
from .retail_site import site_role

# Lets annotations like ModelAdmin[Application] work at run time.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS: list[str] = env.list("DJANGO_ALLOWED_HOSTS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "guardian",
    "axes",
    "csp",
    "apps.core",
    "apps.accounts",
    "apps.audit",
    "apps.retailers",
    "apps.vault",
    "apps.applications",
    "apps.publication",
    "apps.replication",
    "apps.retail",
    "apps.notifications",
    "apps.access_review",
    "apps.exposure",
    "apps.administration",
    "apps.web",
    "apps.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Outside everything that reads the database: a GET whose connection was lost runs
    # once more, session and user included (apps.web.middleware).
    "apps.web.middleware.LostConnectionRetryMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "apps.web.middleware.IdleSessionRenewalMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "apps.audit.middleware.AuditContextMiddleware",
    # Every page needs a signed-in user unless its view is marked login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # After a reset by administrators, nothing but the password change until it is done.
    "apps.web.middleware.ForcedPasswordChangeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: it turns a lock-out into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

# No "loaders": Django then wraps the filesystem and app loaders in its cached loader,
# so a process compiles each template once (tests/config/test_production_settings.py).
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "apps.web.context_processors.signed_in",
            ],
        },
    },
]

# --- Databases -------------------------------------------------------------
# Three aliases that never share a transaction: "default" holds the workflow and the
# audit trail, "vault" holds the encrypted customer records, "retail" is the retail
# database (apps.publication: what a supervisor verified, the retail accounts, the retail
# site's sessions and view log), written one way by the publication relay. The retail
# site (SHADAN_SITE_ROLE=retail) has the retail database as its only alias and no way to
# reach the other two.
SHADAN_SITE_ROLE = site_role()
# Where apps.publication's tables are: "retail" here, the only alias on the retail site.
SHADAN_RETAIL_DATABASE = "retail"
DATABASE_ROUTERS = ["apps.publication.routers.RetailRouter", "apps.vault.routers.VaultRouter"]
RETAIL_DATABASE_URL = env.str("RETAIL_DATABASE_URL", default="")
VAULT_DATABASE_URL = env.str("VAULT_DATABASE_URL", default="")
if SHADAN_SITE_ROLE == "td":
    DATABASES = {"default": env.db("DATABASE_URL")}
    if VAULT_DATABASE_URL:
        DATABASES["vault"] = env.db_url_config(VAULT_DATABASE_URL)
    if RETAIL_DATABASE_URL:
        DATABASES["retail"] = env.db_url_config(RETAIL_DATABASE_URL)
    for _alias in DATABASES.values():
        _alias.setdefault("ATOMIC_REQUESTS", False)
        with_prepared_statements(_alias)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Vault keys ------------------------------------------------------------
# VAULT_MASTER_KEYS: "id:base64key,id:base64key" (32-byte AES keys).
# VAULT_ACTIVE_KEY_ID: the id new data keys are wrapped with.
# VAULT_INDEX_KEY: base64 HMAC key for the blind index.
VAULT_MASTER_KEYS = env.str("VAULT_MASTER_KEYS", default="")
VAULT_ACTIVE_KEY_ID = env.str("VAULT_ACTIVE_KEY_ID", default="")
VAULT_INDEX_KEY = env.str("VAULT_INDEX_KEY", default="")

# --- Auth ------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses a locked-out user before the password is checked.
    "axes.backends.AxesStandaloneBackend",
    # A person's permissions in one statement; signs nobody in (apps.accounts.backends).
    "apps.accounts.backends.PermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Sessions end after inactivity (every request renews the clock) and with the browser.
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_MINUTES", default=30) * 60
# The idle clock is renewed by apps.web.middleware at most once per SESSION_RENEW_SECONDS
# instead of a session write on every request.
SESSION_SAVE_EVERY_REQUEST = False
SESSION_RENEW_SECONDS = env.int("SESSION_RENEW_SECONDS", default=60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True

# django-axes: lock an account (per user name and address) after repeated failures.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.5)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

# Content Security Policy: nothing inline, nothing from elsewhere.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# django-guardian: direct foreign-key permission models, no anonymous user.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

# --- I18N ------------------------------------------------------------------
LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", "日本語"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Tokyo"
USE_TZ = True
# 2026/12/03 09:24 everywhere (issue 14); Django's own formats for everything else.
FORMAT_MODULE_PATH = ["config.formats"]

STATIC_URL = "static/"
# `manage.py collectstatic` writes here; WhiteNoise serves it (production and `make run`).
STATIC_ROOT = Path(env.str("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "var" / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Celery ----------------------------------------------------------------
# With no broker configured (the embedded default) tasks run eagerly in-process.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=600)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=540)
CELERY_TIMEZONE = TIME_ZONE
# Publishing must not hang while the broker is down: a service's commit asks for a relay
# and must return at once (its outbox rows wait for beat). One quick retry, a short
# connect timeout; the worker's own consumer keeps reconnecting (broker_connection_retry).
# visibility_timeout: seconds after which Redis hands an unacknowledged task (its worker
# died) to another worker; longer than the longest task, or a slow task runs twice.
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    # How often a worker looks for such tasks: every interval × throttle seconds.
    "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_INTERVAL", default=10),
    "unacked_restore_throttle": env.int("CELERY_UNACKED_RESTORE_THROTTLE", default=10),
    "max_retries": env.int("CELERY_PUBLISH_MAX_RETRIES", default=1),
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
    "socket_connect_timeout": env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0),
}
CELERY_TASK_PUBLISH_RETRY = False
# Beat's record of when each periodic task last ran: never in the working tree (Celery's
# default is the current directory). Production defaults to the unit's StateDirectory.
CELERY_BEAT_SCHEDULE_FILENAME = env.str(
    "CELERY_BEAT_SCHEDULE_FILENAME", default=str(BASE_DIR / "var" / "celerybeat-schedule")
)

# --- Domain ----------------------------------------------------------------
# The two leading digits of every supply point ID identify the T&D area
# (01 Hokkaido … 10 Okinawa); a utility only accepts its own.
# True only in config.settings.local (the embedded default on one machine): disposable
# databases and generated keys. It, not DEBUG, allows the demo data and a checkpoint
# directory per chain, so `make run` can serve with DEBUG off.
SHADAN_LOCAL_DEVELOPMENT = False

# The retail site's address, which the T&D sign-in shows a retail person instead of
# signing them in (`make run` serves it on 127.0.0.1:8001).
SHADAN_RETAIL_SITE_URL = env.str("SHADAN_RETAIL_SITE_URL", default="")

SHADAN_AREA_CODE = env.str("SHADAN_AREA_CODE", default="10")
# Service levels: hours an application may wait to be encoded, and to be verified.
SHADAN_SLA_ENCODE_HOURS = env.int("SHADAN_SLA_ENCODE_HOURS", default=48)
SHADAN_SLA_VERIFY_HOURS = env.int("SHADAN_SLA_VERIFY_HOURS", default=24)
# Investigation report: the legacy log directories an auditor may choose on the page, as
# "key=path,key=path" (the page offers keys only, never a path typed by a user). The
# default is the small example committed with the code.
SHADAN_EXPOSURE_LEGACY_DIRS: dict[str, str] = env.dict(
    "SHADAN_EXPOSURE_LEGACY_DIRS",
    default={"example": str(BASE_DIR / "fixtures" / "legacy-example")},
)

# --- Logging ---------------------------------------------------------------
# Personal data never reaches a log: services log ids and reference numbers only.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Paths are user input: logged as the route they matched, never as typed
    # (apps.core.logging).
    "filters": {"redact_paths": {"()": "apps.core.logging.RedactRequestPaths"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "django.request": {"filters": ["redact_paths"]},
        "django.server": {"filters": ["redact_paths"]},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# --- Audit trail -------------------------------------------------------------
# AUDIT_SIGNING_KEY: base64 raw 32-byte Ed25519 private key that signs checkpoints of
# the hash chain. Unset: events are still chained, but no checkpoint is written.
# AUDIT_VERIFY_KEY: base64 raw public key(s), comma-separated, for a verifier that must
# not hold the private key (and for old keys after a rotation); default: derived.
# AUDIT_CHECKPOINT_DIR: where checkpoint files go (outside the database; in production
# storage the database's users cannot rewrite), one subdirectory per chain id.
# AUDIT_CHAIN_ID: the chain this deployment's trail is (printed by the first audit_seal);
# set, a trail replaced by a new chain is checked against the old chain's checkpoints.
# AUDIT_SEAL_GRACE_SECONDS: an event older than this without a seal is a finding.
# AUDIT_TRUST_X_FORWARDED_FOR: record the address our own proxy appended instead of
# REMOTE_ADDR; only behind exactly one trusted reverse proxy.
# AUDIT_MAC_KEYS: "id:base64key,id:base64key" (each at least 32 bytes): HMAC keys that
# authenticate each event when it is written (apps.audit.mac); the sealer chains no
# event without a valid MAC. Keep old ids listed while their events are kept.
# AUDIT_MAC_ACTIVE_KEY_ID: the id new events are authenticated with.
AUDIT_MAC_KEYS = env.str("AUDIT_MAC_KEYS", default="")
AUDIT_MAC_ACTIVE_KEY_ID = env.str("AUDIT_MAC_ACTIVE_KEY_ID", default="")
AUDIT_SIGNING_KEY = env.str("AUDIT_SIGNING_KEY", default="")
AUDIT_VERIFY_KEY = env.str("AUDIT_VERIFY_KEY", default="")
AUDIT_CHECKPOINT_DIR = Path(
    env.str("AUDIT_CHECKPOINT_DIR", default=str(BASE_DIR / "var" / "audit-checkpoints"))
)
AUDIT_CHAIN_ID = env.str("AUDIT_CHAIN_ID", default="")
AUDIT_SEAL_GRACE_SECONDS = env.int("AUDIT_SEAL_GRACE_SECONDS", default=3600)
AUDIT_TRUST_X_FORWARDED_FOR = env.bool("AUDIT_TRUST_X_FORWARDED_FOR", default=False)

# --- Background work ---------------------------------------------------------
# The outbox and inbox (apps.notifications, installed above); the relay delivers them.
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="shadan@localhost")
# Periodic tasks (`celery -A config beat`); every interval in minutes, from the environment.


def _every(task: str, minutes_variable: str, default_minutes: float) -> dict[str, object]:
    """A beat entry whose interval, in minutes, comes from the environment."""
    return {"task": task, "schedule": 60.0 * env.float(minutes_variable, default=default_minutes)}


CELERY_BEAT_SCHEDULE = {
    "notifications-relay": _every("notifications.relay", "SHADAN_BEAT_RELAY_MINUTES", 1),
    # Catches up what the relay run after each commit missed (a broker outage, a failure
    # waiting for its back-off); usually finds nothing due.
    "replication-relay": _every("replication.relay", "SHADAN_BEAT_REPLICATION_RELAY_MINUTES", 0.5),
    "audit-seal": _every("audit.seal", "SHADAN_BEAT_AUDIT_SEAL_MINUTES", 1),
    # Hourly from the last verified checkpoint (cost: the new events); weekly from seq 1.
    "audit-verify": _every("audit.verify", "SHADAN_BEAT_AUDIT_VERIFY_MINUTES", 60),
    "audit-verify-full": _every(
        "audit.verify_full", "SHADAN_BEAT_AUDIT_VERIFY_FULL_MINUTES", 7 * 24 * 60
    ),
    # The retail site's view log into the trail (apps.audit.collector); every minute, so
    # the access review and the exposure report see a retail view within one.
    "audit-collect-retail-views": _every(
        "audit.collect_retail_views", "SHADAN_BEAT_RETAIL_VIEWS_MINUTES", 1
    ),
    "applications-barrier-check": _every(
        "applications.barrier_check", "SHADAN_BEAT_BARRIER_MINUTES", 60
    ),
    "applications-sla-sweep": _every("applications.sla_sweep", "SHADAN_BEAT_SLA_MINUTES", 15),
    # Hourly by default: each run samples the finished days not sampled yet, so a missed
    # run (beat down over midnight) is caught up by the next one; a sampled day is never
    # sampled again.
    "access-review-sample": _every("access_review.sample", "SHADAN_BEAT_ACCESS_SAMPLE_MINUTES", 60),
    # Deletes applied replication messages past SHADAN_REPLICATION_RETENTION_DAYS, a bounded
    # number of short batches a run (apps.replication.retention).
    "replication-purge": _every("replication.purge", "SHADAN_BEAT_REPLICATION_PURGE_MINUTES", 60),
}
# 0 minutes: not scheduled by beat. For the sealer run as its own Unix user by a systemd
# timer (deploy/systemd/shadan-seal.timer), the only one that may write the checkpoints.
CELERY_BEAT_SCHEDULE = {
    name: entry for name, entry in CELERY_BEAT_SCHEDULE.items() if entry["schedule"] != 0
}

# --- Replication outbox (apps.replication) -----------------------------------------
# Days an applied message stays in the outbox before the periodic purge deletes it (a
# window to look back at what was sent to the retail database). Unapplied and failing
# messages are never purged. 0: every applied message goes at the next run; to keep them
# all, unschedule the purge (SHADAN_BEAT_REPLICATION_PURGE_MINUTES=0).
SHADAN_REPLICATION_RETENTION_DAYS = env.float("SHADAN_REPLICATION_RETENTION_DAYS", default=7)
if not 0 <= SHADAN_REPLICATION_RETENTION_DAYS <= 3650:  # NaN and infinity too
    raise ImproperlyConfigured("SHADAN_REPLICATION_RETENTION_DAYS must be between 0 and 3650")

# --- Access sampling (apps.access_review) -------------------------------------------
# Every Japan-time day, a reproducible random sample of that day's personal-data reads and
# retail views goes into the auditors' review queue. SIZE events a day, or, when RATE
# (0 < RATE <= 1) is set, that share of the day's events rounded up (RATE wins over SIZE).
# KEY seeds the ranking (HMAC-SHA256 of day and event id): whoever holds it can re-draw a
# day's sample; staff without it cannot predict which accesses are drawn. Empty: the
# SECRET_KEY is used (rotating that key then changes how a re-draw ranks, not what was
# drawn). GRACE: minutes a day must be over before it is sampled (late commits).
# CATCHUP_DAYS: how many finished days back each run looks for a day not sampled yet.
SHADAN_ACCESS_SAMPLE_SIZE = env.int("SHADAN_ACCESS_SAMPLE_SIZE", default=20)
try:
    SHADAN_ACCESS_SAMPLE_RATE = Decimal(env.str("SHADAN_ACCESS_SAMPLE_RATE", default="0"))
except InvalidOperation:
    raise ImproperlyConfigured("SHADAN_ACCESS_SAMPLE_RATE must be a number") from None
if not (0 <= SHADAN_ACCESS_SAMPLE_RATE <= 1) or SHADAN_ACCESS_SAMPLE_SIZE < 0:
    raise ImproperlyConfigured(
        "SHADAN_ACCESS_SAMPLE_RATE must be between 0 and 1, SHADAN_ACCESS_SAMPLE_SIZE >= 0"
    )
SHADAN_ACCESS_SAMPLE_KEY = env.str("SHADAN_ACCESS_SAMPLE_KEY", default="")
SHADAN_ACCESS_SAMPLE_GRACE_MINUTES = env.int("SHADAN_ACCESS_SAMPLE_GRACE_MINUTES", default=15)
SHADAN_ACCESS_SAMPLE_CATCHUP_DAYS = env.int("SHADAN_ACCESS_SAMPLE_CATCHUP_DAYS", default=7)


# --- The retail site ---------------------------------------------------------
# SHADAN_SITE_ROLE=retail: the whole difference is in config/settings/retail_site.py.
if SHADAN_SITE_ROLE == "retail":
    retail_site.apply(globals())
