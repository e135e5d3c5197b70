"""Security of the whole web layer: sign-in, CSRF, CSP, lock-out, sessions, production
settings, error pages and the language switch."""

from __future__ import annotations

import datetime
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.contrib.auth.decorators import login_not_required
from django.contrib.sessions.models import Session
from django.http import Http404, HttpRequest, HttpResponse
from django.test import Client, override_settings
from django.urls import include, path, reverse
from django.utils import timezone, translation

from apps.applications.models import Application
from apps.audit.models import AuditAction, AuditEvent
from apps.vault.services import vault_read
from tests.config.test_settings import GOOD as PRODUCTION_SETTINGS
from tests.conftest import PASSWORD, advance
from tests.web.test_role_matrix import (
    EXPECTED,
    PERSONA_FIXTURE,
    ROLES,
    STATE_FOR,
    project_urls,
    url_for,
)

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])

ROOT = Path(__file__).resolve().parents[2]
LOGIN = reverse("login")
HOME = reverse("home")


# --- sign-in required everywhere ------------------------------------------------------


def test_every_page_but_sign_in_requires_a_signed_in_user(client, new_application):
    app = new_application()
    app.reference = "SD2026-0000001"  # only fills the URL; nobody gets that far
    not_redirected = []
    for name in project_urls():
        url = url_for(name, app)
        response = client.get(url)
        if name == "login":
            assert response.status_code == 200
        elif response.status_code != 302 or response["Location"] != f"{LOGIN}?next={url}":
            not_redirected.append((name, response.status_code))

    assert not_redirected == []


def test_sign_in_required_covers_posts_too(client, new_application):
    app = new_application()

    response = client.post(reverse("clerk-submit", args=[app.pk]))

    assert response.status_code == 302
    assert response["Location"].startswith(f"{LOGIN}?next=")
    assert Application.objects.get(pk=app.pk).state == "draft"


def test_the_language_switch_works_without_signing_in(client):
    response = client.post(reverse("set_language"), {"language": "en", "next": LOGIN})

    assert response.status_code == 302
    assert response["Location"] == LOGIN


def test_the_administration_site_has_its_own_sign_in(client):
    response = client.get(reverse("admin:index"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


# --- CSRF -----------------------------------------------------------------------------


@pytest.fixture
def strict(db):
    def client_for(user) -> Client:
        client = Client(enforce_csrf_checks=True)
        client.force_login(user)
        return client

    return client_for


def _csrf_token(client: Client) -> str:
    client.get(HOME)
    return client.cookies["csrftoken"].value


def test_sign_out_without_a_csrf_token_is_refused(strict, clerk):
    client = strict(clerk)

    response = client.post(reverse("logout"))

    assert response.status_code == 403
    assert client.get(HOME).status_code == 200  # still signed in


def test_sign_out_with_the_csrf_token_works(strict, clerk):
    client = strict(clerk)
    token = _csrf_token(client)

    response = client.post(reverse("logout"), {"csrfmiddlewaretoken": token})

    assert response.status_code == 302
    assert client.get(HOME).status_code == 302


def test_sign_in_without_a_csrf_token_is_refused(clerk):
    client = Client(enforce_csrf_checks=True)

    response = client.post(LOGIN, {"username": clerk.username, "password": PASSWORD})

    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_submit_without_a_csrf_token_is_refused(strict, clerk, new_application):
    app = new_application()

    response = strict(clerk).post(reverse("clerk-submit", args=[app.pk]))

    assert response.status_code == 403
    assert Application.objects.get(pk=app.pk).state == "draft"


def test_verify_without_a_csrf_token_is_refused(strict, clerk, supervisor, new_application):
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    client = strict(supervisor)

    response = client.post(reverse("review-verify", args=[app.pk]), {"version": app.version})

    assert response.status_code == 403
    assert Application.objects.get(pk=app.pk).masking_state == "encoded"


def test_reveal_without_a_csrf_token_is_refused_and_reveals_nothing(
    strict, clerk, supervisor, construction, new_application
):
    app = advance(new_application(), "released", clerk=clerk, supervisor=supervisor)
    customer = vault_read(app.customer_ref)
    client = strict(construction)

    response = client.post(reverse("construction-reveal", args=[app.pk]), {"purpose": "scheduling"})

    assert response.status_code == 403
    assert customer.phone not in response.content.decode()
    assert not AuditEvent.objects.filter(action=AuditAction.PII_READ).exists()


# --- Content Security Policy and no inline code ----------------------------------------

INLINE_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.S | re.I)
TAG = re.compile(r"<[a-zA-Z][^>]*>", re.S)
STYLE_ATTR = re.compile(r"\sstyle\s*=", re.I)
HANDLER_ATTR = re.compile(r"\son[a-z]+\s*=", re.I)


def inline_code(html: str) -> list[str]:
    """Everything the Content Security Policy would have to allow with 'unsafe-inline'."""
    found = []
    for attrs, body in INLINE_SCRIPT.findall(html):
        if body.strip() or "src=" not in attrs:
            found.append(f"<script{attrs}>{body[:40]}")
    if re.search(r"<style\b", html, re.I):
        found.append("<style> element")
    for tag in TAG.findall(html):
        if STYLE_ATTR.search(tag) or HANDLER_ATTR.search(tag) or "javascript:" in tag.lower():
            found.append(tag[:80])
    return found


def test_the_inline_code_scanner_finds_what_it_must():
    assert inline_code('<script src="/a.js"></script>') == []
    assert inline_code("<script>alert(1)</script>")
    assert inline_code('<p style="color:red">x</p>')
    assert inline_code('<button onclick="go()">x</button>')
    assert inline_code('<a href="javascript:go()">x</a>')
    assert inline_code("<style>p{}</style>")
    assert inline_code("<p>one style = two, onion = three</p>") == []


def csp_directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def _assert_csp(response, label: str) -> None:
    assert "Content-Security-Policy" in response, label
    directives = csp_directives(response)
    for directive in ("script-src", "style-src"):
        sources = directives.get(directive, directives.get("default-src"))
        assert sources, f"{label}: no {directive}"
        assert "'unsafe-inline'" not in sources, label
        assert "'unsafe-eval'" not in sources, label
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]


def test_the_sign_in_page_has_a_strict_csp_and_no_inline_code(client):
    response = client.get(LOGIN)

    _assert_csp(response, "login")
    assert inline_code(response.content.decode()) == []


@pytest.fixture
def every_persona(request, clerk, supervisor, construction, retail_user, auditor, administrator):
    return {
        role: request.getfixturevalue(PERSONA_FIXTURE.get(role, role))
        for role in ROLES
        if role != "anonymous"
    }


def test_every_page_that_opens_has_a_strict_csp_and_no_inline_code(
    every_persona, new_application, clerk, supervisor, construction
):
    # given: one application in the state each page needs
    apps = {
        state: advance(
            new_application(), state, clerk=clerk, supervisor=supervisor, construction=construction
        )
        for state in sorted(set(STATE_FOR.values()))
    }
    clients = {}
    for role, user in every_persona.items():
        clients[role] = Client()
        clients[role].force_login(user)
    checked, offending = [], {}

    # when: every page each role may open is rendered
    for name, statuses in EXPECTED.items():
        for role, expected in zip(ROLES, statuses, strict=True):
            if expected != 200 or role == "anonymous":
                continue
            response = clients[role].get(url_for(name, apps.get(STATE_FOR.get(name, ""))))
            if response.status_code != 200 or response.streaming:
                continue  # the role matrix reports it; a CSV download is not a page
            label = f"{name} as {role}"
            _assert_csp(response, label)
            checked.append(label)
            if found := inline_code(response.content.decode()):
                offending[label] = found

    # then
    assert offending == {}
    assert "review-page as supervisor" in checked
    assert len(checked) >= 8


def test_refusal_pages_have_a_strict_csp_and_no_inline_code(client, clerk, retail_user):
    client.force_login(clerk)
    forbidden = client.get(reverse("review-queue"))
    client.force_login(retail_user)
    not_found = client.get(reverse("review-queue"))

    for response, status in ((forbidden, 403), (not_found, 404)):
        assert response.status_code == status
        _assert_csp(response, str(status))
        assert inline_code(response.content.decode()) == []


# --- lock-out after repeated failed sign-ins (django-axes) -----------------------------


def _attempt(client: Client, username: str, password: str):
    return client.post(LOGIN, {"username": username, "password": password})


def test_sign_in_is_locked_after_repeated_failures_even_with_the_right_password(
    client, settings, clerk
):
    settings.AXES_ENABLED = True
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _attempt(client, clerk.username, "not the password")

    response = _attempt(client, clerk.username, PASSWORD)

    assert response.status_code == settings.AXES_HTTP_RESPONSE_CODE
    assert "registration/locked_out.html" in [t.name for t in response.templates]
    with translation.override("ja"):
        assert translation.gettext("Account locked") in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert client.get(HOME).status_code == 302


def test_fewer_failures_than_the_limit_do_not_lock(client, settings, clerk):
    settings.AXES_ENABLED = True
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _attempt(client, clerk.username, "not the password").status_code == 200

    response = _attempt(client, clerk.username, PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == HOME


def test_a_lock_out_binds_the_user_name_not_everyone_at_that_address(
    client, settings, clerk, clerk2
):
    settings.AXES_ENABLED = True
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _attempt(client, clerk.username, "not the password")

    response = _attempt(Client(), clerk2.username, PASSWORD)

    assert response.status_code == 302


def test_the_lock_out_limit_is_small():
    from django.conf import settings

    assert 3 <= settings.AXES_FAILURE_LIMIT <= 10
    assert settings.AXES_COOLOFF_TIME


# --- session expiry after inactivity ---------------------------------------------------


def test_sessions_expire_after_a_short_idle_time_renewed_by_activity():
    from django.conf import settings

    assert 5 * 60 <= settings.SESSION_COOKIE_AGE <= 60 * 60
    assert 0 < settings.SESSION_RENEW_SECONDS <= 5 * 60
    assert "apps.web.middleware.IdleSessionRenewalMiddleware" in settings.MIDDLEWARE
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True


def _session_row(client: Client) -> Session:
    return Session.objects.get(session_key=client.session.session_key)


def test_a_request_renews_the_idle_clock(client, settings, clerk):
    client.force_login(clerk)
    almost = timezone.now() + datetime.timedelta(seconds=30)
    Session.objects.filter(session_key=client.session.session_key).update(expire_date=almost)

    assert client.get(HOME).status_code == 200

    renewed = _session_row(client).expire_date
    expected = timezone.now() + datetime.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    assert abs((renewed - expected).total_seconds()) < 30


def _age_last_renewal(client: Client, seconds: int) -> None:
    from apps.web.middleware import RENEWED_AT

    session = client.session
    session[RENEWED_AT] = int(time.time()) - seconds
    session.save()


def test_a_request_soon_after_a_renewal_writes_no_session(client, settings, clerk):
    client.force_login(clerk)
    assert client.get(HOME).status_code == 200  # renews: none recorded since sign-in
    almost = timezone.now() + datetime.timedelta(seconds=30)
    Session.objects.filter(session_key=client.session.session_key).update(expire_date=almost)

    assert client.get(HOME).status_code == 200

    assert _session_row(client).expire_date == almost


def test_a_request_after_the_renewal_interval_renews_the_idle_clock(client, settings, clerk):
    client.force_login(clerk)
    _age_last_renewal(client, settings.SESSION_RENEW_SECONDS)
    almost = timezone.now() + datetime.timedelta(seconds=30)
    Session.objects.filter(session_key=client.session.session_key).update(expire_date=almost)

    assert client.get(HOME).status_code == 200

    renewed = _session_row(client).expire_date
    expected = timezone.now() + datetime.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    assert abs((renewed - expected).total_seconds()) < 30


def test_an_idle_session_ends_and_sends_the_user_to_sign_in(client, clerk):
    client.force_login(clerk)
    past = timezone.now() - datetime.timedelta(seconds=1)
    Session.objects.filter(session_key=client.session.session_key).update(expire_date=past)

    response = client.get(HOME)

    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next={HOME}"


# --- production settings ---------------------------------------------------------------

PRODUCTION_ENV = PRODUCTION_SETTINGS  # the one complete production environment
SECURITY_SETTINGS = (
    "DEBUG",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "CSRF_COOKIE_SECURE",
    "CSRF_COOKIE_HTTPONLY",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "SECURE_PROXY_SSL_HEADER",
    "X_FRAME_OPTIONS",
    "SESSION_COOKIE_AGE",
    "SESSION_RENEW_SECONDS",
)


@pytest.fixture(scope="module")
def production() -> dict[str, object]:
    """The security settings as config.settings.production computes them (own process)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "VAULT_"))}
    env.pop("DATABASE_URL", None)
    env.update(PRODUCTION_ENV, DJANGO_SETTINGS_MODULE="config.settings.production")
    code = (
        "import json, django; from django.conf import settings; django.setup(); "
        f"print(json.dumps({{k: getattr(settings, k) for k in {SECURITY_SETTINGS!r}}}))"
    )
    result = subprocess.run(  # noqa: S603 (our own fixed code, no outside input)
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_uses_secure_cookies_hsts_and_no_debug(production):
    assert production["DEBUG"] is False
    assert production["SESSION_COOKIE_SECURE"] is True
    assert production["SESSION_COOKIE_HTTPONLY"] is True
    assert production["CSRF_COOKIE_SECURE"] is True
    assert production["SECURE_SSL_REDIRECT"] is True
    assert production["SECURE_HSTS_SECONDS"] >= 365 * 24 * 3600
    assert production["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert production["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert production["X_FRAME_OPTIONS"] == "DENY"
    assert 0 < production["SESSION_RENEW_SECONDS"] <= 5 * 60


def _with_production_security(production):
    keys = [k for k in SECURITY_SETTINGS if k != "SECURE_PROXY_SSL_HEADER"]
    return override_settings(**{k: production[k] for k in keys})


def test_production_answers_with_hsts_and_sends_plain_http_to_https(production, clerk):
    with _with_production_security(production):
        client = Client()
        plain = client.get(LOGIN)
        secure = client.get(LOGIN, secure=True)

    assert plain.status_code == 301
    assert plain["Location"].startswith("https://")
    hsts = secure["Strict-Transport-Security"]
    assert f"max-age={production['SECURE_HSTS_SECONDS']}" in hsts
    assert "includeSubDomains" in hsts
    assert secure["X-Content-Type-Options"] == "nosniff"
    assert secure["X-Frame-Options"] == "DENY"


def test_production_session_and_csrf_cookies_are_secure_and_http_only(production, clerk):
    with _with_production_security(production):
        client = Client()
        client.get(LOGIN, secure=True)
        response = client.post(
            LOGIN, {"username": clerk.username, "password": PASSWORD}, secure=True
        )

    assert response.status_code == 302
    session = response.cookies["sessionid"]
    csrf = client.cookies["csrftoken"]
    assert session["secure"] and session["httponly"]
    assert session["samesite"].lower() in {"lax", "strict"}
    assert not session["max-age"]  # ends with the browser too
    assert csrf["secure"]


# --- error pages show no stack trace and no personal data ------------------------------

CANARY_NAME = "見本 漏洩太郎"
CANARY_PHONE = "098-555-0142"


def _explode(request: HttpRequest) -> HttpResponse:
    app = Application.objects.get(pk=request.GET["id"])
    customer = vault_read(app.customer_ref)  # a local a debug page would print
    raise RuntimeError(f"could not handle {customer.name} {customer.phone} {CANARY_NAME}")


def _missing(request: HttpRequest) -> HttpResponse:
    raise Http404(f"no record for {CANARY_NAME} {CANARY_PHONE}")


@login_not_required
def _explode_anonymous(request: HttpRequest) -> HttpResponse:
    raise ValueError(f"{CANARY_NAME} {CANARY_PHONE}")


urlpatterns = [
    path("test-errors/boom/", _explode),
    path("test-errors/gone/", _missing),
    path("test-errors/public-boom/", _explode_anonymous),
    path("", include("config.urls")),
]
ERRORS = override_settings(ROOT_URLCONF=__name__, DEBUG=False)


def _assert_clean(response, *secrets: str) -> None:
    html = response.content.decode()
    for word in ("Traceback", "RuntimeError", "ValueError", 'File "', "/apps/", "vault"):
        assert word not in html
    for secret in (CANARY_NAME, CANARY_PHONE, *secrets):
        assert secret not in html
        assert secret.replace("-", "") not in html.replace("-", "")


@ERRORS
def test_a_server_error_page_shows_no_stack_trace_and_no_personal_data(new_application, clerk):
    app = new_application(customer_name="見本 秘匿花子", customer_phone="098-555-0177")
    client = Client(raise_request_exception=False)
    client.force_login(clerk)

    response = client.post(
        f"/test-errors/boom/?id={app.pk}",
        {"customer_name": CANARY_NAME, "customer_phone": CANARY_PHONE},
    )

    assert response.status_code == 500
    _assert_clean(response, "見本 秘匿花子", "098-555-0177")


@ERRORS
def test_a_server_error_for_an_anonymous_visitor_is_just_as_clean():
    client = Client(raise_request_exception=False)

    response = client.get("/test-errors/public-boom/", HTTP_X_CUSTOMER=CANARY_PHONE)

    assert response.status_code == 500
    _assert_clean(response)


@ERRORS
def test_a_not_found_page_shows_no_stack_trace_and_not_the_exception_text(client, clerk):
    client.force_login(clerk)

    response = client.post("/test-errors/gone/", {"customer_name": CANARY_NAME})

    assert response.status_code == 404
    _assert_clean(response)
    with translation.override("ja"):
        assert translation.gettext("Not found") in response.content.decode()


@ERRORS
def test_the_error_pages_are_the_products_own(client, clerk):
    client.force_login(clerk)

    response = client.get("/test-errors/nothing-here/")

    assert response.status_code == 404
    assert response.templates[0].name == "404.html"
    assert inline_code(response.content.decode()) == []


# --- language switch -------------------------------------------------------------------


def _switch(client: Client, language: str) -> None:
    response = client.post(reverse("set_language"), {"language": language, "next": HOME})
    assert response.status_code == 302
    assert response["Location"] == HOME


def test_the_language_switch_turns_the_pages_english_and_back_to_japanese(client, clerk):
    client.force_login(clerk)
    with translation.override("ja"):
        sign_out_ja = translation.gettext("Sign out")

    _switch(client, "en")
    english = client.get(HOME).content.decode()
    _switch(client, "ja")
    japanese = client.get(HOME).content.decode()

    assert '<html lang="en">' in english
    assert ">Sign out</button>" in english
    assert "Transmission &amp; distribution" in english
    assert '<html lang="ja">' in japanese
    assert f">{sign_out_ja}</button>" in japanese
    assert "送配電部門" in japanese


def test_japanese_is_the_default_language(client, clerk):
    client.force_login(clerk)

    html = client.get(HOME).content.decode()

    assert '<html lang="ja">' in html
    assert "送配電部門" in html


def test_the_language_switch_refuses_to_redirect_off_site(client):
    response = client.post(
        reverse("set_language"), {"language": "en", "next": "https://evil.example/"}
    )

    assert response.status_code == 302
    assert not response["Location"].startswith("https://evil.example")
