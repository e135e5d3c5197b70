"""7. The pages over HTTP: gunicorn with production's settings, ten concurrent users.

Every other page row times the test `Client` in this process (one connection kept open,
no WSGI server, no socket). This row starts the two sites as production runs them, on
this machine, over the bench's databases (PostgreSQL only):

- the T&D site and the retail site, each its own gunicorn (deploy/gunicorn.conf.py, sync
  workers, `GUNICORN_WORKERS` or its default) on a free port of 127.0.0.1, on
  bench/http_settings.py: production's settings with one added page, the minimal
  signed-in page (bench/http_views.py), and the test settings' MD5 hasher accepted after
  production's own; each with the environment a production unit gives it (the retail
  site: its database and secret key only); static files collected first, as a
  deployment does; tasks go to the bench's broker (SHADAN_BENCH_BROKER_URL) with no
  worker, and the relay is run here afterwards;
- a load generator in this process: USERS threads, each a browser behind the TLS proxy
  (X-Forwarded-Proto, Origin, cookies, the CSRF token), over the standard library's
  http.client, a new connection per request as gunicorn's sync workers close each one.

Three phases, each a fixed number of requests:

1. sign-in: every browser signs in through the sign-in form (production's PBKDF2);
2. the workflow mix: 4 clerks create, submit and encode (each a new application);
   3 supervisors take what the clerks encoded from the queue, open the review page,
   verify and release; 3 retail people read the list, its next page and a detail page
   on the retail site. Requests/s of the whole mix and p50/p95 per page;
3. each page alone under all USERS users, in ROUNDS interleaved rounds: the minimal
   signed-in page of each site, the clerk's list, the supervisor queue, the review page
   and the retail list. Goal: each product page reaches at least half the requests/s of
   the minimal page on the same server. Beside them, no goal: each of those four pages
   on its site's twin, a second gunicorn with the same environment (secret key,
   databases: the same sessions) whose templates render nothing
   (bench/no_templates.py): what the page costs besides its render, against the same
   minimal page.

Latencies are the client's: connect, request, the whole answer read.
"""

from __future__ import annotations

import html
import http.client
import os
import queue
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from . import cpu
from .data import PASSWORD, Cast, first_awaiting_review, log
from .stats import Figure, percentile

if TYPE_CHECKING:
    from apps.retailers.models import Retailer

ROOT = Path(__file__).resolve().parent.parent
USERS = 10
ROUNDS = 3
# Requests per scale: (the workflow mix, each page alone over all rounds).
REQUESTS = {"small": (600, 450), "medium": (600, 450), "large": (900, 600)}
GOAL = 0.5
HOST = "127.0.0.1"  # the Host header, as the proxy passes it on (DJANGO_ALLOWED_HOSTS)
START_SECONDS = 90.0
ERROR_LIMIT = 20  # a user stops after this many unexpected answers


class Exhausted(Exception):
    """The phase's request budget is spent."""


class Budget:
    """A fixed number of requests shared by the users of one phase."""

    def __init__(self, total: int | None) -> None:
        self._left = total
        self._lock = threading.Lock()

    def take(self) -> None:
        if self._left is None:
            return
        with self._lock:
            if self._left <= 0:
                raise Exhausted
            self._left -= 1


@dataclass(frozen=True)
class Sample:
    label: str
    seconds: float
    ok: bool


@dataclass(frozen=True)
class PageStats:
    """One page's figures in one phase: `per_second` is its requests over the phase's
    wall time (for a page measured alone, the server's throughput on it)."""

    requests: int
    errors: int
    per_second: float
    p50_ms: float
    p95_ms: float


def summarize(samples: list[Sample], elapsed: float) -> dict[str, PageStats]:
    """Per label: requests, unexpected answers, requests/s over `elapsed` seconds, and the
    nearest-rank p50 and p95 latency of all its requests (errors included: a slow error is
    still a slow page)."""
    by_label: dict[str, list[Sample]] = {}
    for sample in samples:
        by_label.setdefault(sample.label, []).append(sample)
    return {
        label: PageStats(
            requests=len(group),
            errors=sum(not s.ok for s in group),
            per_second=len(group) / elapsed if elapsed > 0 else 0.0,
            p50_ms=percentile([s.seconds for s in group], 0.5) * 1000,
            p95_ms=percentile([s.seconds for s in group], 0.95) * 1000,
        )
        for label, group in by_label.items()
    }


class UnexpectedAnswer(Exception):
    def __init__(self, label: str, status: int, location: str) -> None:
        super().__init__(f"{label}: {status} {location}")


@dataclass
class Browser:
    """One person's browser behind the TLS proxy, on one site."""

    port: int
    csrf_cookie: str
    samples: list[Sample]
    budget: Budget = field(default_factory=lambda: Budget(None))
    cookies: dict[str, str] = field(default_factory=dict)

    def request(
        self, method: str, path: str, form: dict[str, str] | None = None
    ) -> tuple[int, str, str]:
        headers = {
            "Host": HOST,
            "X-Forwarded-Proto": "https",
            "Origin": f"https://{HOST}",
            "Referer": f"https://{HOST}{path}",
        }
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            form = {**form, "csrfmiddlewaretoken": self.cookies.get(self.csrf_cookie, "")}
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", errors="replace")
        finally:
            connection.close()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _sep, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        return response.status, response.getheader("Location") or "", text

    def timed(
        self, label: str, method: str, path: str, expect: int, form: dict[str, str] | None = None
    ) -> tuple[str, str]:
        self.budget.take()
        started = time.perf_counter()
        status, location, text = self.request(method, path, form)
        ok = status == expect
        self.samples.append(Sample(label, time.perf_counter() - started, ok))
        if not ok:
            raise UnexpectedAnswer(label, status, location)
        return location, text

    def get(self, label: str, path: str) -> str:
        return self.timed(label, "GET", path, 200)[1]

    def post(self, label: str, path: str, form: dict[str, str]) -> str:
        return self.timed(label, "POST", path, 302, form)[0]

    def sign_in(self, username: str) -> None:
        self.get("sign-in form", "/accounts/login/")
        where = self.post(
            "sign-in (POST)", "/accounts/login/", {"username": username, "password": PASSWORD}
        )
        if "/accounts/login/" in where:
            raise UnexpectedAnswer("sign-in (POST)", 302, where)


def version_on(page: str) -> str:
    found = re.search(r'name="version" value="(\d+)"', page)
    if found is None:
        raise UnexpectedAnswer("no version on the page", 200, "")
    return found.group(1)


def run_users(loops: list[Callable[[], None]]) -> tuple[float, list[str]]:
    """Run each loop in its own thread, all started together; each runs until its budget
    is spent (Exhausted) or ERROR_LIMIT unexpected answers. (wall seconds, the errors)."""
    start = threading.Barrier(len(loops) + 1)
    errors: list[str] = []

    def user(loop: Callable[[], None]) -> None:
        start.wait()
        failures = 0
        while failures < ERROR_LIMIT:
            try:
                loop()
            except Exhausted:
                return
            except (UnexpectedAnswer, OSError) as error:
                failures += 1
                errors.append(str(error))

    threads = [threading.Thread(target=user, args=(loop,)) for loop in loops]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began, errors


# --- the servers -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _base_env() -> dict[str, str]:
    env = {"PATH": os.environ["PATH"], "LANG": "C.UTF-8", "LOG_LEVEL": "WARNING"}
    for name in ("HOME", "GUNICORN_WORKERS"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    return {**env, "DJANGO_SETTINGS_MODULE": "bench.http_settings"}


def td_env(port: int, static_root: Path, broker_url: str) -> dict[str, str]:
    """The T&D unit's environment: the bench's databases and (test) keys, the broker."""
    from django.conf import settings

    env = {
        **_base_env(),
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": HOST,
        "DJANGO_STATIC_ROOT": str(static_root),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "AUDIT_CHECKPOINT_DIR": str(settings.AUDIT_CHECKPOINT_DIR),
        "CELERY_BROKER_URL": broker_url,
    }
    for name in (
        "DATABASE_URL",
        "VAULT_DATABASE_URL",
        "RETAIL_DATABASE_URL",
        "VAULT_MASTER_KEYS",
        "VAULT_ACTIVE_KEY_ID",
        "VAULT_INDEX_KEY",
        "AUDIT_MAC_KEYS",
        "AUDIT_MAC_ACTIVE_KEY_ID",
        "AUDIT_SIGNING_KEY",
    ):
        env[name] = str(os.environ.get(name) or getattr(settings, name))
    return env


def retail_env(port: int, static_root: Path) -> dict[str, str]:
    """The retail unit's environment: its database and its own secret key, nothing else."""
    from django.conf import settings

    return {
        **_base_env(),
        "SHADAN_SITE_ROLE": "retail",
        "RETAIL_DATABASE_URL": os.environ.get("RETAIL_DATABASE_URL")
        or settings.RETAIL_DATABASE_URL,
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": HOST,
        "DJANGO_STATIC_ROOT": str(static_root),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
    }


@dataclass(frozen=True)
class Server:
    workers: int
    group: int  # its process group (the arbiter's pid): whose CPU a request costs


@contextmanager
def gunicorn(name: str, env: dict[str, str], port: int, logs: Path) -> Iterator[Server]:
    """collectstatic, then gunicorn with deploy/gunicorn.conf.py; stopped (its process
    group, by id) on the way out."""
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,
    )
    out = (logs / f"{name}.log").open("wb")
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py")],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        probe = Browser(port, "", [])
        deadline = time.monotonic() + START_SECONDS
        while True:
            if process.poll() is not None:
                raise SystemExit(
                    f"bench: {name} gunicorn exited ({process.returncode}):\n"
                    + (logs / f"{name}.log").read_text(errors="replace")[-3000:]
                )
            try:
                if probe.request("GET", "/accounts/login/")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"bench: {name} gunicorn did not answer in {START_SECONDS} s")
            time.sleep(0.3)
        yield Server(int(env.get("GUNICORN_WORKERS", "3")), process.pid)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        out.close()


# --- the phases --------------------------------------------------------------------------


@dataclass
class Sites:
    td_port: int
    retail_port: int
    workers: int
    # Each gunicorn's process group: "td", "retail", and their twins "td-twin",
    # "retail-twin" (Page.server).
    groups: dict[str, int]


TWIN = "SHADAN_BENCH_TEMPLATES"  # bench/http_settings.py: "none" on the twins


def twin_env(env: dict[str, str], port: int) -> dict[str, str]:
    """A site's twin: the same environment (its secret key and databases, so a browser's
    session is valid on both) on `port`, its templates rendering nothing."""
    return {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", TWIN: "none"}


@dataclass
class People:
    clerks: list[Browser]
    supervisors: list[Browser]
    retail: list[Browser]

    def on_twins(self, ports: dict[int, int]) -> People:
        """The same people, signed in, each browser asking the twin of its site (`ports`:
        a site's port to its twin's) with a copy of its cookies."""

        def moved(browsers: list[Browser]) -> list[Browser]:
            return [
                Browser(ports[b.port], b.csrf_cookie, [], cookies=dict(b.cookies)) for b in browsers
            ]

        return People(moved(self.clerks), moved(self.supervisors), moved(self.retail))


def production_passwords(cast: Cast) -> None:
    """The bench's users were made under the test settings (MD5): their passwords hashed
    as production hashes them (PBKDF2, Django's default), before any sign-in. Re-hashing
    at a sign-in instead would change the hash and so end the sessions already open for
    the same person (Django ties a session to the password's hash)."""
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    from apps.accounts.models import User
    from apps.publication.models import RetailAccount

    hasher = PBKDF2PasswordHasher()
    encoded = hasher.encode(PASSWORD, hasher.salt())
    User.objects.filter(pk__in=[cast.clerk.pk, cast.supervisor.pk]).update(password=encoded)
    names = [person.username for person in cast.retail[:USERS]]
    User.objects.filter(username__in=names).update(password=encoded)
    RetailAccount.objects.filter(username__in=names).update(password=encoded)


def sign_in_everyone(sites: Sites, cast: Cast, samples: list[Sample]) -> tuple[People, float]:
    def browsers(port: int, csrf: str) -> list[Browser]:
        return [Browser(port, csrf, samples) for _ in range(USERS)]

    people = People(
        clerks=browsers(sites.td_port, "csrftoken"),
        supervisors=browsers(sites.td_port, "csrftoken"),
        retail=browsers(sites.retail_port, "shadan_retail_csrftoken"),
    )
    retail_names = [person.username for person in cast.retail[:USERS]]
    done = [False] * USERS

    def loop_for(n: int) -> Callable[[], None]:
        def loop() -> None:
            if done[n]:
                raise Exhausted
            people.clerks[n].sign_in(cast.clerk.username)
            people.supervisors[n].sign_in(cast.supervisor.username)
            people.retail[n].sign_in(retail_names[n % len(retail_names)])
            done[n] = True

        return loop

    elapsed, errors = run_users([loop_for(n) for n in range(USERS)])
    if errors or not all(done):
        raise SystemExit(f"bench: sign-in over HTTP failed: {errors[:3]}")
    return people, elapsed


def workflow_mix(
    people: People, retailer: Retailer, total: int, samples: list[Sample]
) -> tuple[float, list[str]]:
    """4 clerks, 3 supervisors, 3 retail people, `total` requests between them."""
    from tests.factories import application_input

    budget = Budget(total)
    encoded: queue.Queue[str] = queue.Queue()
    clerks, supervisors, retail = people.clerks[:4], people.supervisors[:3], people.retail[:3]
    for browser in (*clerks, *supervisors, *retail):
        browser.budget, browser.samples = budget, samples
    # What the clerks type, made here (factory_boy's sequences are not for threads): more
    # than the budget can use, at seven requests an application.
    forms: queue.Queue[dict[str, str]] = queue.Queue()
    for _ in range(total // 7 + len(clerks)):
        forms.put({k: str(v) for k, v in application_input(retailer).items()})

    def clerk(b: Browser) -> Callable[[], None]:
        def loop() -> None:
            b.get("clerk's list", "/applications/")
            b.get("clerk: new application form", "/applications/new/")
            where = b.post("clerk: create (POST)", "/applications/new/", forms.get_nowait())
            found = re.search(r"/applications/(\d+)/", where)
            if found is None:
                raise UnexpectedAnswer("clerk: create (POST)", 302, where)
            pk = found.group(1)
            page = b.get("application page", f"/applications/{pk}/")
            b.post(
                "clerk: submit (POST)", f"/applications/{pk}/submit/", {"version": version_on(page)}
            )
            page = b.get("clerk: encode page", f"/applications/{pk}/encode/")
            b.post(
                "clerk: encode (POST)", f"/applications/{pk}/encode/", {"version": version_on(page)}
            )
            encoded.put(pk)

        return loop

    def supervisor(b: Browser) -> Callable[[], None]:
        def loop() -> None:
            b.get("supervisor queue", "/review/")
            try:
                pk = encoded.get(timeout=0.2)
            except queue.Empty:
                return
            page = b.get("review page", f"/review/{pk}/")
            checks = {"check_retailer": "on", "check_free_text": "on", "check_preview": "on"}
            b.post(
                "supervisor: verify (POST)",
                f"/review/{pk}/verify/",
                {"version": version_on(page), **checks},
            )
            page = b.get("application page", f"/applications/{pk}/")
            b.post(
                "supervisor: release (POST)",
                f"/review/{pk}/release/",
                {"version": version_on(page)},
            )

        return loop

    def reader(b: Browser) -> Callable[[], None]:
        rng = secrets.SystemRandom()

        def loop() -> None:
            page = b.get("retail list", "/")
            following = re.search(r'<a href="([^"]+)" rel="next">', page)
            if following is not None:
                link = urllib.parse.urljoin("/", html.unescape(following.group(1)))
                page = b.get("retail list, next page", link)
            references = re.findall(r'data-reference="([^"]+)"', page)
            if references:
                reference = urllib.parse.quote(rng.choice(references))
                b.get("retail detail", f"/applications/{reference}/")

        return loop

    return run_users(
        [clerk(b) for b in clerks]
        + [supervisor(b) for b in supervisors]
        + [reader(b) for b in retail]
    )


@dataclass(frozen=True)
class Page:
    label: str
    path: str
    site: str  # "td" or "retail": which server, and whose minimal page it is compared with
    browsers: str  # "clerks", "supervisors" or "retail"
    goal: bool
    twin: bool = False  # on the site's twin, its templates rendering nothing

    @property
    def server(self) -> str:
        """Which gunicorn answers it (a key of Sites.groups)."""
        return f"{self.site}-twin" if self.twin else self.site

    def on_twin(self) -> Page:
        """The same page on the site's twin: no goal."""
        return Page(
            f"{self.label}, its template left out",
            self.path,
            self.site,
            self.browsers,
            goal=False,
            twin=True,
        )


@dataclass(frozen=True)
class Alone:
    """A page measured alone: its figures, the unexpected answers, and CPU per request:
    the load generator's (this process, every thread: what the client took from the two
    cores the servers share), the page's gunicorn's (arbiter and workers) and
    PostgreSQL's (the client backends of the bench's databases); None where it could not
    be read (no /proc)."""

    stats: PageStats
    errors: list[str]
    client_cpu_ms: float
    server_cpu_ms: float | None = None
    database_cpu_ms: float | None = None


class _Meter:
    """CPU used by one site's gunicorn and by PostgreSQL over the bursts of one page."""

    def __init__(self, group: int) -> None:
        self.group = group
        self.server: float | None = 0.0
        self.database: float | None = 0.0

    @contextmanager
    def burst(self) -> Iterator[None]:
        from django.db import connections

        server_before = cpu.group_cpu(self.group)
        database_before = cpu.backends_cpu(connections)
        yield
        server_after = cpu.group_cpu(self.group)
        database_after = cpu.backends_cpu(connections)
        if server_before is None or server_after is None or self.server is None:
            self.server = None
        else:
            self.server += server_after - server_before
        if database_before is None or database_after is None or self.database is None:
            self.database = None
        else:
            self.database += cpu.used_between(database_before, database_after)

    def per_request_ms(self, requests: int) -> tuple[float | None, float | None]:
        def ms(seconds: float | None) -> float | None:
            return None if seconds is None else seconds * 1000 / max(requests, 1)

        return ms(self.server), ms(self.database)


def alone(
    pages: list[Page],
    people: People,
    per_page: int,
    groups: dict[str, int],
    twins: People | None = None,
) -> dict[str, Alone]:
    """Each page under all USERS users, `per_page` requests in ROUNDS interleaved rounds
    (after a warm-up burst that is not counted). `groups`: each gunicorn's process group
    (by Page.server), whose CPU each page's bursts are charged; `twins`: the people on
    the twins, for the pages there."""
    samples: dict[str, list[Sample]] = {page.label: [] for page in pages}
    elapsed = dict.fromkeys(samples, 0.0)
    client = dict.fromkeys(samples, 0.0)
    meters = {page.label: _Meter(groups[page.server]) for page in pages}
    errors: dict[str, list[str]] = {page.label: [] for page in pages}

    def burst(page: Page, total: int, into: list[Sample]) -> tuple[float, list[str]]:
        budget = Budget(total)
        asking = twins if page.twin else people
        if asking is None:
            raise ValueError(f"{page.label}: a page on a twin needs the people there")
        users: list[Browser] = getattr(asking, page.browsers)
        for browser in users:
            browser.budget, browser.samples = budget, into

        def loop_for(b: Browser) -> Callable[[], None]:
            def loop() -> None:
                b.get(page.label, page.path)

            return loop

        return run_users([loop_for(b) for b in users])

    for page in pages:
        burst(page, 3 * USERS, [])
    for _ in range(ROUNDS):
        for page in pages:
            with meters[page.label].burst():
                cpu_before = time.process_time()
                seconds, failed = burst(page, per_page // ROUNDS, samples[page.label])
                client[page.label] += time.process_time() - cpu_before
            elapsed[page.label] += seconds
            errors[page.label] += failed
    results = {}
    for page in pages:
        stats = summarize(samples[page.label], elapsed[page.label])[page.label]
        requests = max(stats.requests, 1)
        results[page.label] = Alone(
            stats,
            errors[page.label],
            client[page.label] * 1000 / requests,
            *meters[page.label].per_request_ms(requests),
        )
    return results


def _relay_and_clear(broker_url: str) -> None:
    """What the missing worker would have done: the relay (verifications reach the retail
    database, so barrier_check agrees), and the task messages dropped from the queue."""
    from apps.replication.services import relay_until_done

    relay_until_done()
    if not broker_url:
        return
    import redis

    try:
        redis.Redis.from_url(broker_url, socket_connect_timeout=2).delete("celery")
    except redis.RedisError as error:  # the figures stand without it
        log(f"  could not clear the bench broker's queue: {error}")


def _broker() -> tuple[str, str]:
    """(the broker URL for gunicorn, a note). Without a reachable Redis, no broker: tasks
    then run in the request (eagerly), which the row says."""
    from .replication import BROKER_URL, _broker_problem

    problem = _broker_problem()
    if problem is None:
        return BROKER_URL, f"tasks to {BROKER_URL} (no worker; relay run afterwards)"
    return "", f"NO BROKER ({problem}): tasks ran inside the requests"


def http_pages(cast: Cast, scale_name: str) -> list[Figure]:
    from django.db import connection

    if connection.vendor != "postgresql":
        return [
            Figure(
                "7. HTTP pages (gunicorn, 10 users)",
                "requests/s",
                None,
                None,
                goal=f"≥ {GOAL} × minimal page",
                note="skipped: needs PostgreSQL (several gunicorn processes writing)",
            )
        ]
    mix_total, per_page = REQUESTS[scale_name]
    waiting = first_awaiting_review()
    broker_url, broker_note = _broker()
    from .settings import BENCH_DIR as bench_dir

    logs = Path(tempfile.mkdtemp(prefix="shadan-bench-http-"))
    ports = {name: free_port() for name in ("td", "retail", "td-twin", "retail-twin")}
    envs = {
        "td": td_env(ports["td"], bench_dir / "http-static-td", broker_url),
        "retail": retail_env(ports["retail"], bench_dir / "http-static-retail"),
    }
    envs["td-twin"] = twin_env(envs["td"], ports["td-twin"])
    envs["retail-twin"] = twin_env(envs["retail"], ports["retail-twin"])
    production_passwords(cast)
    connection.close()  # gunicorn's workers are the database's clients now
    with ExitStack() as stack:
        servers = {
            name: stack.enter_context(gunicorn(name, env, ports[name], logs))
            for name, env in envs.items()
        }
        stack.callback(_relay_and_clear, broker_url)
        workers = servers["td"].workers
        groups = {name: server.group for name, server in servers.items()}
        sites = Sites(ports["td"], ports["retail"], workers, groups)
        log(
            f"  gunicorn up: T&D :{ports['td']}, retail :{ports['retail']}, their twins"
            f" :{ports['td-twin']}, :{ports['retail-twin']}; {workers} workers each"
        )
        sign_in_samples: list[Sample] = []
        people, sign_in_seconds = sign_in_everyone(sites, cast, sign_in_samples)
        figures = [_sign_in_figure(sign_in_samples, sign_in_seconds, workers)]
        log(f"  workflow mix: {mix_total} requests…")
        mix_samples: list[Sample] = []
        mix_seconds, mix_errors = workflow_mix(people, cast.retailer, mix_total, mix_samples)
        figures += _mix_figures(mix_samples, mix_seconds, mix_errors, workers, broker_note)
        pages = [
            Page(
                "minimal signed-in page (T&D site)", "/bench/minimal/", "td", "supervisors", False
            ),
            Page("clerk's list", "/applications/", "td", "clerks", True),
            Page("supervisor queue", "/review/", "td", "supervisors", True),
            Page(
                "minimal signed-in page (retail site)", "/bench/minimal/", "retail", "retail", False
            ),
            Page("retail list", "/", "retail", "retail", True),
        ]
        if waiting is not None:
            pages.insert(3, Page("review page", f"/review/{waiting}/", "td", "supervisors", True))
        pages += [page.on_twin() for page in pages if page.goal]
        twins = people.on_twins(
            {ports["td"]: ports["td-twin"], ports["retail"]: ports["retail-twin"]}
        )
        log(f"  each page alone: {per_page} requests, {ROUNDS} interleaved rounds…")
        figures += _alone_figures(
            alone(pages, people, per_page, sites.groups, twins), pages, workers
        )
    shutil.rmtree(logs, ignore_errors=True)
    return figures


HTTP_NOTE = (
    "HTTP figure: gunicorn, production settings, {workers} sync workers per site, {users} users"
)
TWIN_NOTE = (
    "extra, no goal: the same page on the site's twin gunicorn, whose templates render "
    "nothing (bench/no_templates.py), with the same sessions: what the page costs "
    "besides its render, against the site's minimal page; "
)


def _sign_in_figure(samples: list[Sample], seconds: float, workers: int) -> Figure:
    stats = summarize(samples, seconds)["sign-in (POST)"]
    return Figure(
        f"7. HTTP sign-in ({stats.requests} browsers, {USERS} at a time)",
        "ms",
        stats.p50_ms,
        stats.p95_ms,
        note=HTTP_NOTE.format(workers=workers, users=USERS)
        + "; production's password hasher (PBKDF2)",
        samples=stats.requests,
    )


def _mix_figures(
    samples: list[Sample], seconds: float, errors: list[str], workers: int, broker_note: str
) -> list[Figure]:
    stats = summarize(samples, seconds)
    total = sum(s.requests for s in stats.values())
    failed = sum(s.errors for s in stats.values())
    figures = [
        Figure(
            "7. HTTP workflow mix (4 clerks, 3 supervisors, 3 retail)",
            "requests/s",
            total / seconds,
            None,
            note=HTTP_NOTE.format(workers=workers, users=USERS)
            + f"; {total} requests in {seconds:.1f} s, {failed} unexpected answers"
            + (f" (first: {errors[0]})" if errors else "")
            + f"; {broker_note}",
            samples=total,
            extra={"errors": errors[:20]},
        )
    ]
    for label, page in sorted(stats.items(), key=lambda item: -item[1].requests):
        figures.append(
            Figure(
                f"7. HTTP mix: {label}",
                "ms",
                page.p50_ms,
                page.p95_ms,
                note=f"HTTP figure, in the workflow mix: {page.requests} requests "
                f"({page.per_second:.1f}/s), {page.errors} unexpected; p50 and p95",
                samples=page.requests,
                extra={"per_second": page.per_second, "errors": page.errors},
            )
        )
    return figures


def _alone_figures(results: dict[str, Alone], pages: list[Page], workers: int) -> list[Figure]:
    minimal = {page.site: results[page.label] for page in pages if page.label.startswith("minimal")}
    figures = []
    for page in pages:
        result = results[page.label]
        stats, errors = result.stats, result.errors
        ceiling = minimal[page.site].stats.per_second
        ratio = stats.per_second / ceiling if ceiling else None
        is_minimal = page.label.startswith("minimal")
        met = None
        if page.goal:
            met = ratio is not None and ratio >= GOAL and stats.errors == 0
        figures.append(
            Figure(
                f"7. HTTP {page.label} ({USERS} users)",
                "requests/s",
                stats.per_second,
                None,
                comparison="" if is_minimal else f"minimal signed-in page, same site ({page.site})",
                comparison_median=None if is_minimal else ceiling,
                ratio=None if is_minimal else ratio,
                goal=f"≥ {GOAL} × minimal page" if page.goal else "",
                met=met,
                note=(TWIN_NOTE if page.twin else "")
                + HTTP_NOTE.format(workers=workers, users=USERS)
                + f"; p50 {stats.p50_ms:.1f} ms, p95 {stats.p95_ms:.1f} ms; "
                f"{stats.requests} requests, {stats.errors} unexpected"
                + (f" (first: {errors[0]})" if errors else "")
                + f"; load generator {result.client_cpu_ms:.1f} ms CPU a request"
                + ("" if is_minimal else "; " + cpu_reason(result, minimal[page.site])),
                samples=stats.requests,
                extra={
                    "p50_ms": stats.p50_ms,
                    "p95_ms": stats.p95_ms,
                    "errors": stats.errors,
                    "client_cpu_ms_per_request": result.client_cpu_ms,
                    "server_cpu_ms_per_request": result.server_cpu_ms,
                    "database_cpu_ms_per_request": result.database_cpu_ms,
                },
            )
        )
    return figures


def cpu_reason(page: Alone, minimal: Alone) -> str:
    """Why a page's ratio is what it is: its CPU a request on the servers' side (gunicorn
    and PostgreSQL), against the minimal page's. Both share the machine's cores with the
    load generator, so with the cores busy throughout the ratio of requests/s follows the
    inverse ratio of these costs; half the minimal page's rate needs a page costing at
    most 1 / GOAL of its CPU."""
    if None in (page.server_cpu_ms, page.database_cpu_ms, minimal.server_cpu_ms):
        return "server CPU not read (no /proc)"
    cost = (page.server_cpu_ms or 0.0) + (page.database_cpu_ms or 0.0)
    floor = (minimal.server_cpu_ms or 0.0) + (minimal.database_cpu_ms or 0.0)
    times = cost / floor if floor else float("inf")
    return (
        f"CPU a request: gunicorn {page.server_cpu_ms:.1f} ms + PostgreSQL "
        f"{page.database_cpu_ms:.1f} ms = {cost:.1f} ms, against the minimal page's "
        f"{minimal.server_cpu_ms:.1f} + {minimal.database_cpu_ms or 0.0:.1f} = {floor:.1f} ms: "
        f"{times:.1f} minimal pages of work (the goal needs ≤ {1 / GOAL:.0f})"
    )
