"""Production: every secret and the database URLs must come from the environment.

Missing values stop the process at start-up rather than running with a default.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import (
    AUDIT_MAC_ACTIVE_KEY_ID,
    AUDIT_MAC_KEYS,
    AUDIT_SIGNING_KEY,
    DATABASES,
    MIDDLEWARE,
    SHADAN_SITE_ROLE,
    VAULT_ACTIVE_KEY_ID,
    VAULT_INDEX_KEY,
    VAULT_MASTER_KEYS,
    env,
)

SECRET_KEY = env.str("DJANGO_SECRET_KEY")
if len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be at least 50 characters in production")
DEBUG = False

# The T&D processes need every database (the relay writes the retail one) and every key;
# the retail site (config/settings/retail_site.py, which has already refused the T&D
# credentials) needs only its database and the secret key.
if SHADAN_SITE_ROLE == "td":
    if "vault" not in DATABASES:
        raise ImproperlyConfigured("VAULT_DATABASE_URL is required in production")
    if "retail" not in DATABASES:
        raise ImproperlyConfigured(
            "RETAIL_DATABASE_URL is required in production: the publication relay writes there"
        )
    if not (VAULT_MASTER_KEYS and VAULT_ACTIVE_KEY_ID and VAULT_INDEX_KEY):
        raise ImproperlyConfigured(
            "VAULT_MASTER_KEYS, VAULT_ACTIVE_KEY_ID and VAULT_INDEX_KEY are required in production"
        )
    # Without it the audit chain gets no signed checkpoints, and a wholesale rewrite of
    # the trail would go unnoticed.
    if not AUDIT_SIGNING_KEY:
        raise ImproperlyConfigured("AUDIT_SIGNING_KEY is required in production")
    # Every process that writes audit events authenticates them (apps.audit.mac); without
    # the key the sealer would refuse every event. Malformed values stop the start-up
    # checks.
    if not (AUDIT_MAC_KEYS and AUDIT_MAC_ACTIVE_KEY_ID):
        raise ImproperlyConfigured(
            "AUDIT_MAC_KEYS and AUDIT_MAC_ACTIVE_KEY_ID are required in production"
        )

# Persistent database connections: a sync gunicorn worker keeps its connection for
# DJANGO_CONN_MAX_AGE seconds instead of opening one per request (issue 17 measured
# 1.3-1.9x the requests/s). The health check replaces a connection the database closed
# (restart, idle timeout) before the request uses it. 0 turns persistence off.
CONN_MAX_AGE = env.int("DJANGO_CONN_MAX_AGE", default=60)
if CONN_MAX_AGE < 0:
    raise ImproperlyConfigured("DJANGO_CONN_MAX_AGE must be 0 or more seconds")
for _alias in DATABASES.values():
    _alias["CONN_MAX_AGE"] = CONN_MAX_AGE
    _alias["CONN_HEALTH_CHECKS"] = True

SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# gunicorn serves the collected static files itself (run `manage.py collectstatic`).
MIDDLEWARE = [
    MIDDLEWARE[0],
    "whitenoise.middleware.WhiteNoiseMiddleware",
    *MIDDLEWARE[1:],
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Error pages never show a stack trace or personal data: DEBUG is off and the 404/500
# templates say nothing about the request.
EMAIL_BACKEND = env.str(
    "DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend"
)
# The mail relay, from the environment (Django's own names). Submission with STARTTLS is
# EMAIL_PORT=587 EMAIL_USE_TLS=true; implicit TLS is 465 with EMAIL_USE_SSL=true.
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    # Django would only say so at the first send, in a worker's log.
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL are exclusive: choose one")

# Beat's schedule file: in the beat unit's StateDirectory, outside the code.
CELERY_BEAT_SCHEDULE_FILENAME = env.str(
    "CELERY_BEAT_SCHEDULE_FILENAME", default="/var/lib/shadan/celerybeat-schedule"
)
