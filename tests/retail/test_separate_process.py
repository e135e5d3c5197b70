"""The retail site as its own process (issue 11): started with SHADAN_SITE_ROLE=retail and
nothing but RETAIL_DATABASE_URL (a SQLite file of its own here), it migrates only its own
tables, serves a retail person's demo path (sign in, list, search, detail), writes its view
log, and answers 404 for every URL of the T&D site."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RegexPattern, RoutePattern

from apps.publication.models import PublishedApplication

pytestmark = pytest.mark.django_db(databases=["default", "vault", "retail"])

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "retail site passphrase 2026"
# Paths both sites have, each its own page: the retail site's list is its home, and each
# site has its own inbox.
SHARED = {"retail-list", "retail-inbox", "retail-inbox-read", "set_language"}
SHARED |= {"login", "logout", "password_change", "password_change_done"}
# Written by the retail site's process from the rows the T&D test process published.
SEED = """
import json, sys, django
import config
django.setup()
from apps.publication.models import PublishedApplication, RetailAccount
data = json.load(sys.stdin)
for row in data["published"]:
    PublishedApplication(**row).save()
account = RetailAccount(id=data["account_id"], username="kouri_sep", display_name="小売 太郎")
account.set_password(data["password"])
account.save()
print("seeded")
"""


def _environment(database: Path) -> dict[str, str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "VAULT_", "AUDIT_", "SHADAN_", "RETAIL_", "CELERY_"))
        and k != "DATABASE_URL"
    }
    clean.update(
        SHADAN_SITE_ROLE="retail",
        SHADAN_ENV="local",
        RETAIL_DATABASE_URL=f"sqlite:///{database}",
        DJANGO_SECRET_KEY="separate-process-test-" + "s" * 40,
    )
    return clean


def _run(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(  # noqa: S603 (our own fixed code)
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def retail_site(tmp_path, verified, retail_user) -> Iterator[tuple[str, list, Path]]:
    apps = [verified(), verified()]
    database = tmp_path / "retail.sqlite3"
    env = _environment(database)
    _run(env, "manage.py", "migrate", "--no-input", "-v", "0")
    published = list(PublishedApplication.objects.order_by("application_id").values())
    seed = {"published": published, "account_id": retail_user.pk, "password": PASSWORD}
    assert "seeded" in _run(env, "-c", SEED, stdin=json.dumps(seed, cls=DjangoJSONEncoder))
    port = _free_port()
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{base}/accounts/login/", timeout=2)  # noqa: S310
                break
            except (urllib.error.URLError, ConnectionError):
                if server.poll() is not None:
                    pytest.fail(server.stderr.read() if server.stderr else "no server")
                time.sleep(0.2)
        yield base, apps, database
    finally:
        server.terminate()
        server.wait(timeout=30)
        if server.stderr:
            server.stderr.close()
    _assert_only_the_retail_tables(database)


def _assert_only_the_retail_tables(database: Path) -> None:
    with sqlite3.connect(database) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    ours = ("publication_", "axes_", "django_migrations", "sqlite_")
    foreign = {table for table in tables if not table.startswith(ours)}
    assert foreign == set()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _opener() -> tuple[urllib.request.OpenerDirector, http.cookiejar.CookieJar]:
    jar = http.cookiejar.CookieJar()
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect), jar


def _get(opener, url: str) -> tuple[int, str]:
    try:
        with opener.open(url, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _sign_in(opener, jar, base: str) -> None:
    status, html = _get(opener, f"{base}/accounts/login/")
    assert status == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert token
    assert "shadan_retail_csrftoken" in {c.name for c in jar}
    body = urllib.parse.urlencode(
        {"username": "kouri_sep", "password": PASSWORD, "csrfmiddlewaretoken": token.group(1)}
    ).encode()
    try:
        opener.open(f"{base}/accounts/login/", data=body, timeout=30)
        pytest.fail("the sign-in did not redirect")
    except urllib.error.HTTPError as redirect:
        assert redirect.code == 302, redirect.read().decode()[:2000]
        assert redirect.headers["Location"] == "/"
    assert "shadan_retail_session" in {c.name for c in jar}


def _fill(route: str) -> str:
    """A concrete path for a route or a regex of the T&D URLconf: any value will do, the
    retail site must answer 404 whatever it is."""
    route = re.sub(r"<(?:(\w+):)?\w+>", lambda m: "1" if m.group(1) == "int" else "x1", route)
    route = re.sub(r"\(\?P<\w+>[^)]*\)", "1", route)
    return route.replace("^", "").replace("$", "").replace("\\Z", "").replace("\\", "")


def _td_paths(patterns=None, prefix: str = "") -> Iterator[tuple[str, str]]:
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        pattern = entry.pattern
        text = str(pattern) if isinstance(pattern, RoutePattern | RegexPattern) else ""
        if isinstance(entry, URLResolver):
            yield from _td_paths(entry.url_patterns, prefix + _fill(text))
        elif isinstance(entry, URLPattern):
            yield "/" + prefix + _fill(text), entry.name or text


def _retail_page(path: str) -> str | None:
    try:
        return resolve(path, urlconf="config.urls_retail").url_name
    except Resolver404:
        return None


def test_the_retail_site_serves_the_demo_path_with_only_its_database(retail_site):
    base, (first, second), database = retail_site
    opener, jar = _opener()
    _sign_in(opener, jar, base)

    status, listing = _get(opener, f"{base}/")
    assert status == 200
    assert f'data-reference="{first.reference}"' in listing
    assert f'data-reference="{second.reference}"' in listing
    assert 'class="badge masking-verified"' in listing

    status, found = _get(opener, f"{base}/?q={second.supply_point_id}")
    assert status == 200
    assert f'data-reference="{second.reference}"' in found
    assert f'data-reference="{first.reference}"' not in found

    status, page = _get(opener, f"{base}/applications/{first.reference}/")
    assert status == 200
    assert first.pseudonym in page and first.supply_point_id in page

    status, _ = _get(opener, f"{base}/applications/SD2099-9999999/")
    assert status == 404

    with sqlite3.connect(database) as db:
        logged = db.execute(
            "SELECT view, reference, request_id, client_ip FROM publication_retailviewlog"
        ).fetchall()
    views = sorted((view, reference) for view, reference, _, _ in logged)
    assert views == sorted(
        [
            ("list", first.reference),
            ("list", second.reference),
            ("list", second.reference),
            ("detail", first.reference),
            ("not_found", "SD2099-9999999"),
        ]
    )
    assert all(request_id and ip == "127.0.0.1" for _, _, request_id, ip in logged)


def test_every_url_of_the_t_and_d_site_is_404_on_the_retail_site(retail_site):
    base, _, _ = retail_site
    opener, jar = _opener()
    _sign_in(opener, jar, base)

    walked, not_404 = [], {}
    for path, name in _td_paths():
        if _retail_page(path) in SHARED:
            continue
        walked.append(path)
        status, _ = _get(opener, base + urllib.parse.quote(path))
        if status != 404:
            not_404[f"{name} {path}"] = status

    assert not_404 == {}
    assert len(walked) >= 50
    assert {"/admin/", "/review/", "/audit/", "/administration/users/"} <= set(walked)
