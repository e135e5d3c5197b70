"""The retail site (SHADAN_SITE_ROLE=retail): everything that differs from the T&D site.

The retail site is a separate process with one database, the retail database, as its
`default` (RETAIL_DATABASE_URL): published applications, the retail accounts, their
sessions, the view log and the inbox (apps.publication). It holds no credential that
could reach the shared database or the vault: the settings refuse to start when the
environment hands it one (FORBIDDEN below), so a mistaken unit file fails loudly instead
of quietly giving retail a way round the barrier.

base.py calls `apply` last when the role is retail (local.py and production.py then add
their own environment's differences: WhiteNoise, HTTPS cookies, …). `in_process()` gives
the settings a test overrides to serve the retail site's pages inside a T&D test process
(tests/retail/conftest.py). Importing this module changes nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

ROLES = ("td", "retail")


def site_role() -> str:
    """SHADAN_SITE_ROLE, read here only (the settings modules need it before base.py)."""
    role = os.environ.get("SHADAN_SITE_ROLE", "").strip() or "td"
    if role not in ROLES:
        raise ImproperlyConfigured("SHADAN_SITE_ROLE must be td or retail")
    return role


# What a retail site must never be given: the shared and vault databases, the vault's
# keys, the audit trail's keys. Its own view log is copied into the trail by the T&D side.
FORBIDDEN = (
    "DATABASE_URL",
    "VAULT_DATABASE_URL",
    "VAULT_MASTER_KEYS",
    "VAULT_INDEX_KEY",
    "AUDIT_MAC_KEYS",
    "AUDIT_SIGNING_KEY",
)


def refuse_td_credentials() -> None:
    given = [name for name in FORBIDDEN if os.environ.get(name, "").strip()]
    if given:
        raise ImproperlyConfigured(
            f"A retail site (SHADAN_SITE_ROLE=retail) must not be given {', '.join(given)}: "
            "it runs with RETAIL_DATABASE_URL and DJANGO_SECRET_KEY only."
        )


INSTALLED_APPS = [
    # Imported by Django's auth machinery (sign-in, the password forms); their tables are
    # not created here (RetailSiteRouter).
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "csp",
    "apps.core",
    "apps.publication",
    "apps.retail",
]

# As the T&D site's, without its audit context and forced change (apps.web, apps.audit),
# with the retail site's own request context and forced change.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "apps.core.middleware.IdleSessionRenewalMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "apps.retail.middleware.RetailRequestMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "apps.core.middleware.ForcedPasswordChangeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls_retail"

AUTH_USER_MODEL = "publication.RetailAccount"
AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses a locked-out person before the password is checked.
    "axes.backends.AxesStandaloneBackend",
    "apps.retail.backends.RetailAccountBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "retail-list"
LOGOUT_REDIRECT_URL = "login"
# Sessions in the retail database, with the account's id on each row (provisioning ends a
# leaver's sessions by it). Both sites run on 127.0.0.1 in development and cookies ignore
# ports: the retail site's cookies have their own names.
SESSION_ENGINE = "apps.publication.sessions"
SESSION_COOKIE_NAME = "shadan_retail_session"
CSRF_COOKIE_NAME = "shadan_retail_csrftoken"
AXES_LOCKOUT_TEMPLATE = "retail/locked_out.html"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # The shared partials (form fields, the retail fields) are in templates/.
        "DIRS": [Path(__file__).resolve().parent.parent.parent / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "apps.retail.context_processors.reader",
            ],
        },
    },
]

# The retail site runs no background work.
CELERY_BEAT_SCHEDULE: dict[str, object] = {}

IN_PROCESS = (
    "ROOT_URLCONF",
    "MIDDLEWARE",
    "AUTHENTICATION_BACKENDS",
    "LOGIN_REDIRECT_URL",
    "SESSION_ENGINE",
    "SESSION_COOKIE_NAME",
    "CSRF_COOKIE_NAME",
    "AXES_LOCKOUT_TEMPLATE",
    "TEMPLATES",
)


def apply(namespace: dict[str, Any]) -> None:
    """Turn base.py's settings (`namespace`, its globals) into the retail site's: refuse
    the T&D credentials, make the retail database the only one, replace what differs."""
    refuse_td_credentials()
    url = os.environ.get("RETAIL_DATABASE_URL", "").strip()
    if not url:
        raise ImproperlyConfigured(
            "A retail site (SHADAN_SITE_ROLE=retail) needs RETAIL_DATABASE_URL"
        )
    import environ

    from .database_options import with_prepared_statements

    namespace.update(
        DATABASES={
            "default": with_prepared_statements(
                {**environ.Env.db_url_config(url), "ATOMIC_REQUESTS": False}
            )
        },
        # apps.publication's tables are in the only database; nothing else migrates there.
        SHADAN_RETAIL_DATABASE="default",
        DATABASE_ROUTERS=["apps.publication.routers.RetailSiteRouter"],
        RETAIL_DATABASE_URL=url,
        VAULT_DATABASE_URL="",
        VAULT_MASTER_KEYS="",
        VAULT_ACTIVE_KEY_ID="",
        VAULT_INDEX_KEY="",
        AUDIT_MAC_KEYS="",
        AUDIT_MAC_ACTIVE_KEY_ID="",
        AUDIT_SIGNING_KEY="",
        AUDIT_VERIFY_KEY="",
        INSTALLED_APPS=INSTALLED_APPS,
        MIDDLEWARE=MIDDLEWARE,
        ROOT_URLCONF=ROOT_URLCONF,
        AUTH_USER_MODEL=AUTH_USER_MODEL,
        AUTHENTICATION_BACKENDS=AUTHENTICATION_BACKENDS,
        LOGIN_URL=LOGIN_URL,
        LOGIN_REDIRECT_URL=LOGIN_REDIRECT_URL,
        LOGOUT_REDIRECT_URL=LOGOUT_REDIRECT_URL,
        SESSION_ENGINE=SESSION_ENGINE,
        SESSION_COOKIE_NAME=SESSION_COOKIE_NAME,
        CSRF_COOKIE_NAME=CSRF_COOKIE_NAME,
        AXES_LOCKOUT_TEMPLATE=AXES_LOCKOUT_TEMPLATE,
        TEMPLATES=TEMPLATES,
        CELERY_BEAT_SCHEDULE=CELERY_BEAT_SCHEDULE,
    )


def in_process() -> dict[str, Any]:
    """The settings that serve the retail site's pages inside a T&D process (tests): its
    URLs, middleware, sign-in, sessions, cookies and templates; the databases stay."""
    values = globals()
    return {name: values[name] for name in IN_PROCESS}
