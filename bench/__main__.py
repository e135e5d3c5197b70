"""python -m bench [--scale small|medium|large] [--json PATH] [--repeat N] [--only ITEM]"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# (workflow runs, page requests, audit writer rounds, verifications). Writer rounds: one
# round's ratio to its floor swings by ±15 % on a shared machine; 15 interleaved rounds
# (about a minute) keep the median's verdict from turning on one round.
REPEATS = {"small": (30, 30, 15, 5), "medium": (20, 20, 15, 3), "large": (15, 20, 15, 3)}


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--scale", choices=sorted(REPEATS), default="small")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument(
        "--repeat", type=int, default=None, help="runs per measurement (default: per scale)"
    )
    parser.add_argument(
        "--only",
        choices=["workflow", "retail", "supervisor", "audit", "replication", "http"],
        default=None,
        help="run only this measurement (1. workflow: create → release through the "
        "services against plain saves; 2. retail: the retail site's pages; "
        "3. supervisor: the approval queue and the review page; "
        "4. audit: writers and verification; 6. replication: lag and rate with a worker; "
        "7. http: the pages through gunicorn under ten users)",
    )
    return parser.parse_args(argv)


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}"


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    os.environ["SHADAN_BENCH_SCALE"] = args.scale
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()
    from django.db import connection

    from .data import SCALES, ensure_data, log
    from .measure import Repeats, audit, measure_all, retail, supervisor

    scale = SCALES[args.scale]
    defaults = REPEATS[args.scale]
    repeats = Repeats(*(args.repeat or n for n in defaults))
    log(f"shadan bench — scale {scale.name}, database {connection.vendor}")
    cast, generated = ensure_data(scale)
    if args.only == "workflow":
        from .measure import workflow

        log("measuring 1. workflow (only)…")
        figures = workflow(cast, repeats.workflow)
    elif args.only == "retail":
        log("measuring 2. retail pages (only)…")
        figures = retail(cast, repeats.pages, scale.name)
    elif args.only == "supervisor":
        log("measuring 3. supervisor pages (only)…")
        figures = supervisor(cast, repeats.pages, scale.name)
    elif args.only == "audit":
        log("measuring 4. audit (only)…")
        figures = audit(cast, repeats)
    elif args.only == "replication":
        from .replication import replication_lag

        log("measuring 6. replication lag (only)…")
        figures = replication_lag(cast, repeats.workflow)
    elif args.only == "http":
        from .http import http_pages

        log("measuring 7. HTTP pages (only)…")
        figures = http_pages(cast, scale.name)
    else:
        figures = measure_all(cast, scale.name, repeats)
    from apps.applications.barrier import barrier_check

    after = barrier_check(repair=False)
    log(f"after the run: barrier_check(repair=False) == {after[:5]}")

    header = (
        "measurement",
        "unit",
        "median",
        "p95",
        "comparison",
        "comp. median",
        "ratio",
        "queries",
        "goal",
        "met?",
        "load 1/5/15 min",
    )
    rows = [header]
    for f in figures:
        met = "—" if f.met is None else ("met" if f.met else "NOT met")
        rows.append(
            (
                f.measurement,
                f.unit,
                _fmt(f.median),
                _fmt(f.p95),
                f.comparison,
                _fmt(f.comparison_median),
                _fmt(f.ratio),
                "—" if f.queries is None else str(f.queries),
                f.goal,
                met,
                "/".join(f"{load:.1f}" for load in f.load_average),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    print()  # noqa: T201
    for n, row in enumerate(rows):
        print(" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))  # noqa: T201
        if n == 0:
            print("-+-".join("-" * width for width in widths))  # noqa: T201
    print()  # noqa: T201
    for f in figures:
        if f.note:
            print(f"* {f.measurement}: {f.note}")  # noqa: T201

    if args.json is not None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT sqlite_version()"
                if connection.vendor == "sqlite"
                else "SHOW server_version"
            )
            db_version = cursor.fetchone()[0]
        result: dict[str, Any] = {
            "when": datetime.now(UTC).isoformat(),
            "machine": {
                "cpu_count": os.cpu_count(),
                "load_average_at_end": os.getloadavg(),
                "platform": platform.platform(),
                "machine": platform.machine(),
                "python": sys.version.split()[0],
            },
            "database": {"vendor": connection.vendor, "version": str(db_version)},
            "scale": {
                "name": scale.name,
                "applications": scale.applications,
                "audit_events": scale.audit_events,
                "retail_users": scale.retail_users,
                "visible_share": scale.visible_share,
                "generated_this_run": generated,
            },
            "repeats": repeats.__dict__,
            "figures": [f.as_dict() for f in figures],
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
