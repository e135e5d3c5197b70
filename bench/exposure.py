"""The investigation report on 1 and 10 million legacy access events, beside the time
merely to read and parse the same files with the csv module.

python -m bench.exposure [--sizes 1000000,10000000]

The files are generated once, deterministically, into var/bench/exposure/<size>/.
Each measurement runs in a child process of its own, so its peak memory (VmHWM) is
its own and nothing of the generator or an earlier run is counted. Goals (issue 6):
the report within 3x the parse time; under 300 MB at 10 million events.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .stats import Figure

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "var" / "bench" / "exposure"
SIZES = (1_000_000, 10_000_000)
RECORDS = 20_000
USERS = 2_000
SEED = 20230313
START = datetime(2022, 4, 1, tzinfo=UTC) - timedelta(hours=9)  # 2022-04-01 00:00 Tokyo
DAYS = 365
PERIOD = ("2022-04-01", "2023-03-31")
FILES = ("records.csv", "roster.csv", "access_log.csv", "switches.csv")


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)  # noqa: T201 - a command-line tool


def generate(size: int) -> Path:
    """The four files for `size` access events (kept and reused once complete)."""
    directory = DATA / str(size)
    done = directory / ".complete"
    if done.exists():
        return directory
    directory.mkdir(parents=True, exist_ok=True)
    rng = random.Random(SEED)  # noqa: S311 - deterministic test data, not a secret
    _log(f"generating {size:,} access events into {directory}…")
    with (directory / "records.csv").open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(
            [
                "record_id",
                "supply_point_id",
                "contract_class",
                "retailer_code",
                "retailer_name",
                "affiliated",
                "unmasked_from",
                "unmasked_until",
            ]
        )
        for n in range(RECORDS):
            affiliated = n % 3 == 0
            code = "K0001" if affiliated else f"A{n % 40:04d}"
            exposed = not affiliated and n % 50 == 1  # ~1% of records were left unmasked
            start = (START + timedelta(days=rng.randrange(DAYS))).date().isoformat()
            until = (START + timedelta(days=DAYS + rng.randrange(200))).date().isoformat()
            out.writerow(
                [
                    f"R{n:06d}",
                    f"10{n:020d}",
                    "低圧" if n % 10 else "高圧",
                    code,
                    f"事業者{code}",
                    "true" if affiliated else "false",
                    start if exposed else "",
                    until if exposed and n % 7 else "",
                ]
            )
    with (directory / "roster.csv").open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["user_id", "division", "valid_from", "valid_until"])
        for u in range(USERS):
            first = "retail" if u % 5 == 0 else "td"
            if u % 17 == 0:  # transferred half way through
                middle = (START + timedelta(days=DAYS // 2)).date().isoformat()
                second = "td" if first == "retail" else "retail"
                out.writerow([f"u{u:05d}", first, "2020-04-01", middle])
                out.writerow([f"u{u:05d}", second, middle, ""])
            else:
                out.writerow([f"u{u:05d}", first, "2020-04-01", ""])
    with (directory / "switches.csv").open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["record_id", "switched_at", "from_retailer_code", "to_retailer_code"])
        for n in range(1, RECORDS, 20):
            moment = START + timedelta(days=rng.randrange(DAYS))
            out.writerow([f"R{n:06d}", moment.isoformat(), f"A{n % 40:04d}", "B0001"])
    step = DAYS * 86400 / size
    actions = ("view", "search", "print", "edit")
    with (directory / "access_log.csv").open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["timestamp", "user_id", "record_id", "action"])
        batch = []
        base = START.timestamp()
        for i in range(size):
            moment = datetime.fromtimestamp(base + i * step, tz=UTC) + timedelta(hours=9)
            batch.append(
                (
                    moment.strftime("%Y-%m-%dT%H:%M:%S+09:00"),
                    f"u{rng.randrange(USERS):05d}",
                    f"R{rng.randrange(RECORDS):06d}",
                    actions[i % 4],
                )
            )
            if len(batch) == 100_000:
                out.writerows(batch)
                batch.clear()
        out.writerows(batch)
    done.touch()
    return directory


def _parse_only(directory: Path) -> int:
    """The baseline: every row of every file read and split by the csv module."""
    rows = 0
    for name in FILES:
        with (directory / name).open(newline="", encoding="utf-8-sig") as f:
            for _row in csv.reader(f):
                rows += 1
    return rows


def _setup() -> None:
    """Django's settings (for gettext) and the engine's imports: outside the timing, as
    importing the csv module is for the baseline."""
    import django
    from django.conf import settings

    settings.configure(USE_I18N=False)
    django.setup()
    import apps.exposure.legacy  # noqa: F401


def _report(directory: Path) -> int:
    from datetime import date

    from apps.exposure.legacy import report_from_legacy

    report = report_from_legacy(
        directory=directory,
        period_from=date.fromisoformat(PERIOD[0]),
        period_to=date.fromisoformat(PERIOD[1]),
    )
    return int(report["details"]["accesses_counted"])


def _child(kind: str, directory: Path) -> None:
    if kind == "report":
        _setup()
    started = time.perf_counter()
    result = _parse_only(directory) if kind == "parse" else _report(directory)
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "peak_mb": _peak_kb() / 1024, "result": result}))  # noqa: T201


def _peak_kb() -> int:
    """This process's peak resident memory in kB. VmHWM belongs to the address space exec
    created, so it is this program's own; `ru_maxrss` survives exec and would report the
    parent's size at fork when the parent (the whole bench) is bigger."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux


def run_child(kind: str, directory: Path) -> dict[str, Any]:
    completed = subprocess.run(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "bench.exposure", "--child", kind, str(directory)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(completed.stdout.strip().splitlines()[-1]))


def _interleaved(directory: Path, repeat: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """parse, report, parse, report…: the median time and the highest peak of each."""
    parses, reports = [], []
    for _ in range(repeat):
        parses.append(run_child("parse", directory))
        reports.append(run_child("report", directory))

    def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "seconds": statistics.median(r["seconds"] for r in runs),
            "p95": max(r["seconds"] for r in runs),
            "peak_mb": max(r["peak_mb"] for r in runs),
            "result": runs[0]["result"],
        }

    return summary(parses), summary(reports)


def exposure(sizes: tuple[int, ...] = SIZES, repeat: int | None = None) -> list[Figure]:
    """Runs per size: 3 (1M) or 2 (10M), interleaved with the parse. As in bench.measure,
    a time's ratio is comparison ÷ measured: 0.5 means the report takes twice the parse
    time, and the goal (report ≤ 3× parse) is a ratio ≥ 1/3. Memory likewise: parse
    peak ÷ report peak."""
    figures = []
    for size in sizes:
        directory = generate(size)
        runs = repeat or (3 if size <= 1_000_000 else 2)
        parse, report = _interleaved(directory, runs)
        times = report["seconds"] / parse["seconds"]
        label = f"{size // 1_000_000}M" if size >= 1_000_000 else f"{size:,}"
        figures.append(
            Figure(
                f"5. exposure report, {label} legacy events",
                "ms",
                report["seconds"] * 1000,
                report["p95"] * 1000,
                comparison="csv module: read and parse the same four files",
                comparison_median=parse["seconds"] * 1000,
                ratio=parse["seconds"] / report["seconds"],
                goal="≤ 3× parse time",
                met=times <= 3,
                note=f"{times:.2f}× the parse time; {report['result']:,} accesses counted",
                samples=runs,
                extra={"peak_mb": report["peak_mb"], "parse_peak_mb": parse["peak_mb"]},
            )
        )
        figures.append(
            Figure(
                f"5. exposure report peak memory (VmHWM), {label} legacy events",
                "MB",
                report["peak_mb"],
                report["peak_mb"],
                comparison="csv module parse, peak",
                comparison_median=parse["peak_mb"],
                ratio=parse["peak_mb"] / report["peak_mb"],
                goal="< 300 MB at 10M",
                met=report["peak_mb"] < 300,
                samples=runs,
            )
        )
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.exposure", description=__doc__)
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES))
    parser.add_argument("--repeat", type=int, default=None, help="runs per size")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child[0], Path(args.child[1]))
        return 0
    sizes = tuple(int(s) for s in args.sizes.split(","))
    for figure in exposure(sizes, args.repeat):
        print(  # noqa: T201
            f"{figure.measurement}: {figure.median:,.0f} {figure.unit}"
            f" (comparison {figure.comparison_median:,.0f}, ratio {figure.ratio:.2f},"
            f" goal {figure.goal}: {'met' if figure.met else 'NOT met'}) {figure.note}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
