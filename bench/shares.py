"""python -m bench.shares [--scale S] [--repeat N] [--profile PAGE]

Where a T&D page's server time goes: SQL (the driver's execute and fetch), ORM
compilation (building the SQL text), template rendering (less the SQL and compilation
that run inside it) and the rest of the Python (middleware, view, forms, the test
Client). Timers around those three entry points, not cProfile, so the shares are not
skewed by profiling overhead; `--profile PAGE` also prints cProfile's top functions for
one page. Reuses the data of `python -m bench` at the same scale (run that first).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Clock:
    sql: float = 0.0
    compile: float = 0.0
    render: float = 0.0  # wall time inside the outermost template render
    inside_render: float = 0.0  # SQL and compilation that ran inside that render
    queries: int = 0
    statements: list[tuple[str, float]] = field(default_factory=list)
    selects: list[tuple[str, Any]] = field(default_factory=list)
    depth: dict[str, int] = field(default_factory=lambda: {"compile": 0, "render": 0})


CLOCK = Clock()


def _timed(kind: str, wrapped: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        depth = CLOCK.depth.get(kind, 0)
        if depth:  # nested (a subquery's compiler, an included template): counted outside
            return wrapped(*args, **kwargs)
        CLOCK.depth[kind] = 1
        started = time.perf_counter()
        try:
            return wrapped(*args, **kwargs)
        finally:
            spent = time.perf_counter() - started
            CLOCK.depth[kind] = 0
            if kind == "render":
                CLOCK.render += spent
            else:
                if kind == "sql":
                    CLOCK.sql += spent
                    CLOCK.queries += 1
                    CLOCK.statements.append((str(args[1])[:90], spent))
                    if str(args[1]).lstrip().upper().startswith("SELECT"):
                        CLOCK.selects.append((str(args[1]), args[2]))
                else:
                    CLOCK.compile += spent
                if CLOCK.depth["render"]:
                    CLOCK.inside_render += spent

    return wrapper


@contextmanager
def instrumented() -> Iterator[None]:
    from django.db.backends import utils
    from django.db.models.sql import compiler
    from django.template.backends import django as django_backend

    patched: list[tuple[Any, str, Any]] = []

    def patch(owner: Any, name: str, kind: str) -> None:
        original = owner.__dict__[name]
        patched.append((owner, name, original))
        setattr(owner, name, _timed(kind, original))

    patch(utils.CursorWrapper, "_execute", "sql")
    patch(utils.CursorWrapper, "_executemany", "sql")
    for cls in (
        compiler.SQLCompiler,
        compiler.SQLInsertCompiler,
        compiler.SQLDeleteCompiler,
        compiler.SQLUpdateCompiler,
        compiler.SQLAggregateCompiler,
    ):
        patch(cls, "as_sql", "compile")
    patch(django_backend.Template, "render", "render")
    try:
        yield
    finally:
        for owner, name, original in reversed(patched):
            setattr(owner, name, original)


def _pages(cast: Any) -> list[tuple[str, Any, str]]:
    from django.test import Client
    from django.urls import reverse

    from apps.accounts.models import User
    from apps.administration.services import user_create

    construction = User.objects.filter(username="bench_construction").first()
    if construction is None:
        construction = user_create(
            acting_user=None,
            username="bench_construction",
            password="bench-Pass-4821",  # noqa: S106 - benchmark user, test settings
            division="td",
            roles=["construction"],
        )
    clients = {}
    for name, user in (
        ("supervisor", cast.supervisor),
        ("clerk", cast.clerk),
        ("construction", construction),
    ):
        client = Client()
        client.force_login(user)
        clients[name] = client
    return [
        ("supervisor queue", clients["supervisor"], reverse("review-queue")),
        ("supervisor home", clients["supervisor"], reverse("home")),
        ("clerk list", clients["clerk"], reverse("clerk-list")),
        ("clerk list, to encode", clients["clerk"], reverse("clerk-list") + "?state=to_encode"),
        ("clerk home", clients["clerk"], reverse("home")),
        ("construction list", clients["construction"], reverse("construction-list")),
        ("construction home", clients["construction"], reverse("home")),
    ]


def _print_buffers(selects: list[tuple[str, Any]]) -> None:
    import json

    from django.db import connection

    total = 0
    for sql, params in selects:
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", params)
            found = cursor.fetchone()[0]
        plan = (json.loads(found) if isinstance(found, str) else found)[0]
        blocks = plan["Plan"]["Shared Hit Blocks"] + plan["Plan"]["Shared Read Blocks"]
        total += blocks
        print(  # noqa: T201
            f"    {blocks:6d} buffers {plan['Execution Time']:7.2f} ms  {sql[:80]}"
        )
    print(f"    {total:6d} buffers in all")  # noqa: T201


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.shares", description=__doc__)
    parser.add_argument("--scale", default="small", choices=["small", "medium", "large"])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--profile", default=None, help="cProfile this page (its name)")
    parser.add_argument(
        "--statements", action="store_true", help="also print each page's statements, median ms"
    )
    parser.add_argument(
        "--buffers",
        action="store_true",
        help="PostgreSQL: the shared buffers each page's SELECTs touch (EXPLAIN ANALYZE, "
        "BUFFERS), a figure the machine's load does not move",
    )
    args = parser.parse_args(argv)
    os.environ["SHADAN_BENCH_SCALE"] = args.scale
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()
    from .data import SCALES, ensure_data, log

    cast, _ = ensure_data(SCALES[args.scale])
    pages = _pages(cast)
    log(
        f"{'page':24} {'ms median':>9} {'p95':>6} {'q':>3} {'SQL':>5} {'compile':>7} "
        f"{'render':>6} {'python':>6}   load"
    )
    for name, client, url in pages:
        for _ in range(2):  # warm the template and URL caches, the connection
            assert client.get(url).status_code == 200, (name, url)
        totals, sql, comp, render, queries = [], [], [], [], []
        statements: dict[str, list[float]] = {}
        with instrumented():
            for _ in range(args.repeat):
                global CLOCK
                CLOCK = Clock()
                started = time.perf_counter()
                client.get(url)
                total = time.perf_counter() - started
                totals.append(total)
                sql.append(CLOCK.sql / total)
                comp.append(CLOCK.compile / total)
                render.append((CLOCK.render - CLOCK.inside_render) / total)
                queries.append(CLOCK.queries)
                for n, (text, spent) in enumerate(CLOCK.statements):
                    statements.setdefault(f"{n}. {text}", []).append(spent)
        ordered = sorted(totals)
        p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
        share = [statistics.mean(v) for v in (sql, comp, render)]
        load = "/".join(f"{x:.1f}" for x in os.getloadavg())
        log(
            f"{name:24} {statistics.median(totals) * 1000:9.1f} {p95 * 1000:6.1f} "
            f"{max(queries):3d} {share[0]:5.0%} {share[1]:7.0%} {share[2]:6.0%} "
            f"{1 - sum(share):6.0%}   {load}"
        )
        if args.buffers:
            _print_buffers(CLOCK.selects)
        if args.statements:
            for text, times in statements.items():
                log(f"    {statistics.median(times) * 1000:7.2f} ms  {text}")
    if args.profile:
        name, client, url = next(p for p in pages if p[0] == args.profile)
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.repeat):
            client.get(url)
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
        print(out.getvalue())  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
