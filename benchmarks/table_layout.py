#!/usr/bin/env python
"""What partitioning buys a scan of one day: files read and scan time, unpartitioned vs ``day(ts)``.

The table holds ~30 days of events (ids, zoned and zone-less timestamps, dates, decimals,
strings and nulls), loaded by the engine (``run_job``, CSV input) as production loads arrive:
``--loads`` appends, each carrying the next few days plus late records (10%) of any earlier
day, in arrival order (not sorted by time). The same files are loaded into two tables, each in
a fresh embedded catalog:

* **unpartitioned** (the baseline): the table as every version before issue 12 wrote it;
* **day(ts)**: ``partition_by: [day(ts)]``, ``sort_by: [ts]``.

Then one day is scanned (``ts`` within that day, pyiceberg ``scan(row_filter=...).to_arrow()``),
timed ``--repeats`` times, alternating tables; reported: the time the loads took (once, after
an untimed warm-up load of each variant, so imports are not counted), the table's data
files, the data files planned for the scan and the rows they hold (what a reader must read),
the median scan time, and its ratio to the baseline. Both tables must return the
same rows for the day, or the benchmark fails. ``--loads 1`` is a backfill: one load of all
30 days. Usage::

    python benchmarks/table_layout.py [--rows-per-day 20000] [--loads 6] [--repeats 7] [--markdown]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml

DAYS = 30
START = datetime(2024, 3, 1, tzinfo=timezone.utc)
ASSET = {
    "name": "events",
    "fields": [
        {"name": "id", "type": "long", "required": True},
        {"name": "ts", "type": "timestamp", "required": True},
        {"name": "user_email", "type": "string"},
        {"name": "country", "type": "string"},
        {"name": "amount", "type": "decimal(12,2)"},
        {"name": "ship_date", "type": "date"},
        {"name": "note", "type": "string"},
    ],
}
COUNTRIES = ("DE", "FR", "US", "GB", "NL", "ES", "IT", "PL")
VARIANTS = {"unpartitioned": {}, "day(ts)": {"partition_by": ["day(ts)"], "sort_by": ["ts"]}}


def _record(rng: random.Random, record_id: int, day: int) -> str:
    moment = START + timedelta(days=day, seconds=rng.randrange(86_400), microseconds=rng.randrange(10**6))
    # zoned (UTC or +02:00) and zone-less (read as UTC) timestamps, as exports mix them
    style = record_id % 3
    if style == 0:
        stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    elif style == 1:
        stamp = moment.astimezone(timezone(timedelta(hours=2))).isoformat()
    else:
        stamp = moment.strftime("%Y-%m-%d %H:%M:%S")
    email = "" if record_id % 17 == 0 else f"user{rng.randrange(50_000)}@example.com"
    amount = "" if record_id % 23 == 0 else f"{rng.randrange(1, 10**7) / 100:.2f}"
    ship = "" if record_id % 5 == 0 else (moment + timedelta(days=rng.randrange(1, 8))).date().isoformat()
    note = "" if record_id % 3 else f'"free text, with a comma {rng.randrange(1000)}"'
    return f"{record_id},{stamp},{email},{rng.choice(COUNTRIES)},{amount},{ship},{note}"


def write_loads(root: Path, rows_per_day: int, loads: int, seed: int = 12) -> list[Path]:
    """``loads`` CSV files covering ``DAYS`` days; 10% of each file's records are late ones."""
    rng = random.Random(seed)
    per_load = -(-DAYS // loads)
    files, next_id = [], 0
    header = ",".join(f["name"] for f in ASSET["fields"])
    for n in range(loads):
        days = range(n * per_load, min(DAYS, (n + 1) * per_load))
        lines = []
        for day in days:
            for _ in range(rows_per_day):
                late = n > 0 and rng.random() < 0.1
                lines.append(_record(rng, next_id, rng.randrange(0, days.start) if late else day))
                next_id += 1
        rng.shuffle(lines)  # arrival order, not time order
        path = root / "data" / "acme" / f"load-{n:02d}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(header + "\n" + "\n".join(lines) + "\n")
        files.append(path)
    return files


def build_table(root: Path, name: str, layout: dict[str, Any], files: list[Path]):
    """Load ``files`` into a fresh table through the engine; returns it."""
    from airflow_provider_dativo.config.loader import load_job
    from airflow_provider_dativo.engine.run import run_job

    home = root / ("home-" + "".join(c if c.isalnum() else "_" for c in name))
    for n, data in enumerate(files):
        job_path = root / "jobs" / "acme" / f"{home.name}-{n}.yaml"
        job_path.parent.mkdir(parents=True, exist_ok=True)
        job_path.write_text(
            yaml.safe_dump(
                {
                    "source_connector": "csv",
                    "source": {"path": f"../../data/acme/{data.name}"},
                    "target": {"table": "events", **layout},
                    "asset": "events",
                }
            )
        )
        result = run_job(load_job(job_path), job_name="events", run_id=f"load-{n}", dativo_home=str(home))
        if result.exit_code != 0:
            raise SystemExit(f"{name}: load {n} failed: {result.error}")
    from pyiceberg.catalog import load_catalog

    catalog = load_catalog(
        "dativo", type="sql", uri=f"sqlite:///{home}/catalog.db", warehouse=f"file://{home}/warehouse"
    )
    return catalog.load_table("acme.events")


def one_day_filter(day: int) -> str:
    low = START + timedelta(days=day)
    return f"ts >= '{low.isoformat()}' and ts < '{(low + timedelta(days=1)).isoformat()}'"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows-per-day", type=int, default=20_000)
    parser.add_argument("--loads", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--day", type=int, default=17, help="day scanned (0-based, default 17)")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="dativo-layout-") as tmp:
        root = Path(tmp)
        (root / "assets").mkdir()
        (root / "assets" / "events.yaml").write_text(yaml.safe_dump(ASSET, sort_keys=False))
        files = write_loads(root, args.rows_per_day, args.loads)
        warm = root / "data" / "acme" / "warm-up.csv"
        warm.write_text("\n".join(files[0].read_text().splitlines()[:2001]) + "\n")
        for name, layout in VARIANTS.items():  # imports and first calls are not the loads' cost
            build_table(root, f"warm-up {name}", layout, [warm])
        tables, load_seconds = {}, {}
        for name, layout in VARIANTS.items():
            began = time.perf_counter()
            tables[name] = build_table(root, name, layout, files)
            load_seconds[name] = time.perf_counter() - began
        row_filter = one_day_filter(args.day)
        timings: dict[str, list[float]] = {name: [] for name in tables}
        facts: dict[str, dict[str, int]] = {}
        for _ in range(args.repeats):
            for name, table in tables.items():
                began = time.perf_counter()
                rows = table.scan(row_filter=row_filter).to_arrow().num_rows
                timings[name].append(time.perf_counter() - began)
                planned = list(table.scan(row_filter=row_filter).plan_files())
                facts[name] = {
                    "rows": rows,
                    "planned": len(planned),
                    "rows_read": sum(t.file.record_count for t in planned),
                    "files": len(list(table.scan().plan_files())),
                    "total_rows": sum(t.file.record_count for t in table.scan().plan_files()),
                }
        base = statistics.median(timings["unpartitioned"])
        counts = {f["rows"] for f in facts.values()}
        if len(counts) != 1:
            raise SystemExit(f"the tables disagree on the day's rows: {facts}")
        lines = [
            f"{args.loads} loads, {DAYS} days x {args.rows_per_day} rows "
            f"({facts['unpartitioned']['total_rows']} rows), scan of day {args.day} "
            f"({counts.pop()} rows), median of {args.repeats}",
            "",
            "| table | loads took | data files | files scanned for one day | rows in those files "
            "| scan time (median) | vs unpartitioned |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for name in tables:
            median = statistics.median(timings[name])
            lines.append(
                f"| {name} | {load_seconds[name]:.1f} s | {facts[name]['files']} | {facts[name]['planned']} "
                f"| {facts[name]['rows_read']} | {median * 1000:.0f} ms | {median / base:.2f}x |"
            )
        print("\n".join(lines) if args.markdown else "\n".join(lines).replace("|", " "))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
