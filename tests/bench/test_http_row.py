"""The HTTP row's plumbing (bench/http.py): its statistics, its request budget, the users'
loop, and the minimal page that exists under the bench's URLconf only. No timing is
asserted: the figures belong to `make bench`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client, override_settings
from django.urls import NoReverseMatch, Resolver404, resolve, reverse

from apps.applications.models import ReviewOpening
from apps.audit.models import AuditAction, AuditEvent
from bench.http import (
    ERROR_LIMIT,
    TWIN,
    Browser,
    Budget,
    Exhausted,
    Page,
    People,
    Sample,
    UnexpectedAnswer,
    run_users,
    summarize,
    twin_env,
    version_on,
)
from bench.http_views import MINIMAL_BODY
from bench.stats import percentile
from tests.config.test_settings import GOOD, RETAIL_SITE
from tests.conftest import advance


def test_summarize_gives_each_page_its_count_errors_rate_and_nearest_rank_percentiles():
    samples = [Sample("list", n / 1000, ok=True) for n in range(1, 101)]
    samples += [Sample("detail", 0.004, ok=True), Sample("detail", 0.002, ok=False)]

    stats = summarize(samples, elapsed=4.0)

    assert stats["list"].requests == 100
    assert stats["list"].errors == 0
    assert stats["list"].per_second == 25.0
    assert stats["list"].p50_ms == pytest.approx(50.0)
    assert stats["list"].p95_ms == pytest.approx(95.0)
    assert (stats["detail"].requests, stats["detail"].errors) == (2, 1)
    assert stats["detail"].p50_ms == pytest.approx(2.0)
    assert stats["detail"].per_second == 0.5


def test_the_budget_hands_out_exactly_its_requests_across_threads():
    budget = Budget(25)
    taken: list[int] = []

    def loop() -> None:
        budget.take()
        taken.append(1)

    _seconds, errors = run_users([loop] * 10)

    assert len(taken) == 25
    assert errors == []


def test_no_budget_never_runs_out():
    budget = Budget(None)
    for _ in range(1000):
        budget.take()


def test_a_user_stops_after_too_many_unexpected_answers_and_says_what_they_were():
    def loop() -> None:
        raise UnexpectedAnswer("clerk's list", 302, "/accounts/login/")

    _seconds, errors = run_users([loop])

    assert errors == ["clerk's list: 302 /accounts/login/"] * ERROR_LIMIT


def test_a_request_past_the_budget_is_not_sent():
    browser = Browser(port=1, csrf_cookie="csrftoken", samples=[], budget=Budget(0))

    with pytest.raises(Exhausted):
        browser.get("minimal", "/bench/minimal/")  # port 1: sending would fail otherwise

    assert browser.samples == []


def test_version_on_reads_the_forms_version_field():
    assert version_on('<input type="hidden" name="version" value="7">') == "7"
    with pytest.raises(UnexpectedAnswer):
        version_on("<p>no form</p>")


def test_the_minimal_page_is_not_in_the_products_urls():
    with pytest.raises(NoReverseMatch):
        reverse("bench-minimal")
    with pytest.raises(Resolver404):
        resolve("/bench/minimal/", urlconf="config.urls_retail")


@override_settings(ROOT_URLCONF="bench.urls")
def test_the_minimal_page_answers_a_signed_in_person_through_the_sites_middleware(clerk):
    anonymous = Client().get("/bench/minimal/")
    signed_in = Client()
    signed_in.force_login(clerk)

    response = signed_in.get("/bench/minimal/")

    assert anonymous.status_code == 302  # LoginRequiredMiddleware, as on every page
    assert response.status_code == 200
    assert response.content == MINIMAL_BODY
    assert response["X-Frame-Options"] == "DENY"


NO_TEMPLATES = [{"BACKEND": "bench.no_templates.NoTemplates"}]


@pytest.mark.django_db(databases=["default", "vault", "retail"])
def test_on_the_twins_a_page_does_all_its_work_but_render(
    new_application, clerk, supervisor, supervisor2
):
    app = advance(new_application(), "encoded", clerk=clerk, supervisor=supervisor)
    browser = Client()
    browser.force_login(supervisor2)

    with override_settings(TEMPLATES=NO_TEMPLATES):
        response = browser.get(f"/review/{app.pk}/")

    assert response.status_code == 200
    assert response.content == b""
    # Opening the review page is still an audited read of the customer, as on the site.
    assert ReviewOpening.objects.filter(application=app, user=supervisor2).exists()
    events = AuditEvent.objects.for_object(app).filter(actor=supervisor2)
    assert set(events.values_list("action", flat=True)) == {
        AuditAction.APPLICATION_REVIEW_OPENED,
        AuditAction.PII_READ,
    }


def test_a_twin_has_its_sites_environment_on_its_own_port_with_templates_off():
    site = {"DJANGO_SECRET_KEY": "k", "DATABASE_URL": "postgres://x", "GUNICORN_BIND": "a:1"}

    twin = twin_env(site, 4321)

    assert twin == {**site, "GUNICORN_BIND": "127.0.0.1:4321", TWIN: "none"}
    assert TWIN not in site


def test_the_people_on_the_twins_keep_their_sessions_and_ask_the_twin_of_their_site():
    def browser(port: int, session: str) -> Browser:
        return Browser(port, "csrftoken", [], cookies={"sessionid": session})

    people = People([browser(1, "c")], [browser(1, "s")], [browser(2, "r")])

    twins = people.on_twins({1: 11, 2: 22})

    moved = [*twins.clerks, *twins.supervisors, *twins.retail]
    assert [(b.port, b.cookies) for b in moved] == [
        (11, {"sessionid": "c"}),
        (11, {"sessionid": "s"}),
        (22, {"sessionid": "r"}),
    ]
    twins.clerks[0].cookies["sessionid"] = "changed"  # a copy: the site's browser keeps its own
    assert people.clerks[0].cookies == {"sessionid": "c"}


def test_a_page_on_the_twin_has_no_goal_and_is_charged_to_the_twin():
    page = Page("review page", "/review/1/", "td", "supervisors", True)

    twin = page.on_twin()

    assert (page.server, twin.server) == ("td", "td-twin")
    assert (twin.path, twin.site, twin.browsers, twin.goal) == (
        "/review/1/",
        "td",
        "supervisors",
        False,
    )
    assert twin.label == "review page, its template left out"


def test_the_percentile_is_the_nearest_rank():
    values = [float(n) for n in range(1, 101)]

    assert [percentile(values, share) for share in (0.5, 0.95, 0.99, 1.0)] == [50, 95, 99, 100]
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert percentile([7.0], 0.95) == 7.0


HTTP_SETTINGS = """
import json, django
django.setup()
from django.conf import settings as s
from django.urls import resolve
print(json.dumps({
    "urls": s.ROOT_URLCONF,
    "debug": s.DEBUG,
    "ssl_redirect": s.SECURE_SSL_REDIRECT,
    "connections": {
        a: [d["CONN_MAX_AGE"], d["CONN_HEALTH_CHECKS"]] for a, d in s.DATABASES.items()
    },
    "minimal": resolve("/bench/minimal/").url_name,
    "templates": [t["BACKEND"] for t in s.TEMPLATES],
}))
"""


@pytest.mark.parametrize(
    ("site", "urls", "aliases", "twin"),
    [
        ("td", "bench.urls", ["default", "retail", "vault"], False),
        ("retail", "bench.urls_retail", ["default"], False),
        ("td", "bench.urls", ["default", "retail", "vault"], True),
        ("retail", "bench.urls_retail", ["default"], True),
    ],
)
def test_gunicorn_runs_on_productions_settings_with_only_the_minimal_page_added(
    site, urls, aliases, twin
):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "VAULT_", "AUDIT_", "SHADAN_", "CELERY_"))
        and k not in {"DATABASE_URL", "RETAIL_DATABASE_URL"}
    }
    env.update(RETAIL_SITE if site == "retail" else GOOD)
    env["DJANGO_SETTINGS_MODULE"] = "bench.http_settings"
    if twin:
        env[TWIN] = "none"
    result = subprocess.run(  # noqa: S603 (our own fixed code)
        [sys.executable, "-c", HTTP_SETTINGS],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["urls"] == urls
    assert (values["debug"], values["ssl_redirect"]) == (False, True)
    assert values["connections"] == {alias: [60, True] for alias in aliases}
    assert values["minimal"] == "bench-minimal"
    # Production's templates; on the twins only, templates that render nothing.
    assert values["templates"] == (
        ["bench.no_templates.NoTemplates"]
        if twin
        else ["django.template.backends.django.DjangoTemplates"]
    )
