"""python -m bench.http_shares [--scale S] [--requests N] [--site td|retail]

Where a request of the pages the HTTP row times (bench/http.py) goes, in process on the
settings gunicorn runs there: `bench.http_settings` (production's) with the environment
`bench.http` gives each unit (`td_env`, `retail_env`: the retail site its database and
secret key only), over the bench's databases (run `python -m bench --only http` at the
same scale first: this reuses its data). Per page, through the test `Client` over HTTPS:
wall and CPU (process time) milliseconds a request, the SQL share (time inside the
database calls of every alias the site has), the render share (time inside the outermost
template render, the SQL it runs included) and the queries a page; then each page's wall
time in minimal pages of the same site, as is and without its render (less the time inside
the outermost template render, the SQL it runs kept): what the page would cost if its
template cost nothing, a bound no template engine gets below. The T&D site's pages
are the minimal signed-in page, the clerk's list, the supervisor queue and the review
page; the retail site's the minimal page and the retail list (signed in as a bench retail
account). Three interleaved rounds of N requests after ten warm-ups; the least disturbed
round (least wall time) is printed, as the machine is shared. Timers, not cProfile, so
the shares are not skewed by profiling. PostgreSQL only, as the HTTP row.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 3
WARM_UP = 10
CLERK, SUPERVISOR, RETAIL = "bench_clerk", "bench_super", "bench_retail000"  # bench/data.py's
SITES = ("td", "retail")


def _parent(scale: str, requests: int, sites: tuple[str, ...]) -> int:
    """Builds each unit's environment on the bench's settings, then measures each site in
    a child process on production's."""
    os.environ["SHADAN_BENCH_SCALE"] = scale
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        print("bench.http_shares: needs PostgreSQL, as the HTTP row")  # noqa: T201
        return 2
    from .http import retail_env, td_env
    from .settings import BENCH_DIR

    for site in sites:
        if site == "td":
            env = td_env(0, BENCH_DIR / "http-static-td", "")
            env.pop("CELERY_BROKER_URL", None)
        else:
            env = retail_env(0, BENCH_DIR / "http-static-retail")
        # The test Client's host, and no redirect to HTTPS (it asks over HTTPS anyway).
        env.update(DJANGO_ALLOWED_HOSTS="testserver", DJANGO_SECURE_SSL_REDIRECT="false")
        for command in (
            ("manage.py", "collectstatic", "--no-input", "-v", "0"),
            ("-m", "bench.http_shares", "--child", site, "--requests", str(requests)),
        ):
            done = subprocess.run(  # noqa: S603
                (sys.executable, *command), cwd=ROOT, env=env, check=False, timeout=600
            )
            if done.returncode:
                return done.returncode
    return 0


def _td_pages() -> list[tuple[str, Any, str]]:
    """The T&D site's pages, each with a client signed in as who opens it."""
    from django.test import Client

    from apps.accounts.models import User

    from .data import first_awaiting_review

    waiting = first_awaiting_review()
    clients = {}
    for name in (CLERK, SUPERVISOR):
        clients[name] = Client()
        clients[name].force_login(User.objects.get(username=name))
    pages = [
        ("minimal signed-in page", clients[SUPERVISOR], "/bench/minimal/"),
        ("clerk's list", clients[CLERK], "/applications/"),
        ("supervisor queue", clients[SUPERVISOR], "/review/"),
    ]
    if waiting is not None:
        pages.append(("review page", clients[SUPERVISOR], f"/review/{waiting}/"))
    return pages


def _retail_pages() -> list[tuple[str, Any, str]]:
    """The retail site's pages, signed in as a bench retail account (the relay provisioned
    it in the retail database), as the HTTP row's retail people are."""
    from django.test import Client

    from apps.publication.models import RetailAccount
    from apps.retail.backends import RetailAccountBackend

    client = Client()
    # Signed in by the backend the sign-in form uses (axes' comes first in the settings).
    backend = f"{RetailAccountBackend.__module__}.{RetailAccountBackend.__qualname__}"
    account = RetailAccount.objects.get(username=RETAIL)
    client.force_login(account, backend=backend)  # type: ignore[arg-type]
    return [
        ("minimal signed-in page", client, "/bench/minimal/"),
        ("retail list", client, "/"),
    ]


def _child(site: str, requests: int) -> int:
    import django

    django.setup()
    from django.db import connections
    from django.template.backends import django as backend

    pages = _td_pages() if site == "td" else _retail_pages()

    clock = {"render": 0.0, "sql": 0.0, "render_sql": 0.0, "queries": 0, "depth": 0}
    original = backend.Template.render

    def render(self: Any, *args: Any, **kwargs: Any) -> Any:
        clock["depth"] += 1
        started = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            clock["depth"] -= 1
            if not clock["depth"]:
                clock["render"] += time.perf_counter() - started

    def timed(execute: Callable[..., Any], *args: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(*args)
        finally:
            spent = time.perf_counter() - started
            clock["sql"] += spent
            if clock["depth"]:
                clock["render_sql"] += spent
            clock["queries"] += 1

    backend.Template.render = render  # type: ignore[method-assign]
    rounds: dict[str, list[tuple[float, ...]]] = {name: [] for name, _c, _u in pages}
    for _ in range(ROUNDS):
        for name, client, url in pages:
            for _ in range(WARM_UP):
                if client.get(url, secure=True).status_code != 200:
                    print(f"bench.http_shares: {name} did not answer 200")  # noqa: T201
                    return 1
            clock.update(render=0.0, sql=0.0, render_sql=0.0, queries=0)
            with ExitStack() as wrapped:
                for connection in connections.all():
                    wrapped.enter_context(connection.execute_wrapper(timed))
                wall, cpu = time.perf_counter(), time.process_time()
                for _ in range(requests):
                    client.get(url, secure=True)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            rounds[name].append(
                (
                    wall * 1000 / requests,
                    cpu * 1000 / requests,
                    clock["sql"] / wall,
                    clock["render"] / wall,
                    clock["queries"] / requests,
                    (wall - clock["render"] + clock["render_sql"]) * 1000 / requests,
                )
            )
    load = "/".join(f"{n:.1f}" for n in os.getloadavg())
    print(  # noqa: T201
        f"{site} site: load {load}; {requests} requests a round, the least disturbed of {ROUNDS}"
    )
    print(  # noqa: T201
        f"{'page':24} {'wall ms':>8} {'CPU ms':>7} {'SQL':>5} {'render':>7} {'queries':>8}"
        f" {'minimal pages':>14} {'without render':>15}"
    )
    minimal_ms = min(rounds[pages[0][0]])[0]
    for name, measured in rounds.items():
        wall_ms, cpu_ms, sql, rendered, queries, unrendered_ms = min(measured)
        print(  # noqa: T201
            f"{name:24} {wall_ms:8.2f} {cpu_ms:7.2f} {sql:5.0%} {rendered:7.0%} {queries:8.0f}"
            f" {wall_ms / minimal_ms:14.2f} {unrendered_ms / minimal_ms:15.2f}"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.http_shares", description=__doc__)
    parser.add_argument("--scale", default="small", choices=["small", "medium", "large"])
    parser.add_argument("--requests", type=int, default=150)
    parser.add_argument("--site", choices=SITES, help="one site only (default: both)")
    parser.add_argument("--child", choices=SITES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(args.child, args.requests)
    return _parent(args.scale, args.requests, (args.site,) if args.site else SITES)


if __name__ == "__main__":
    sys.exit(main())
