#!/usr/bin/env python
"""What table maintenance buys: scans after compaction, commits after snapshot expiry.

Both tables live in a real sqlite SQL catalog on local disk and are fed the events rows of
``tests/support/maintenance.py`` (zone-less and zoned timestamps, dates, decimals, strings,
nulls in every nullable column).

* **(a) compaction**: a table built from ``--appends`` small appends (``--rows`` rows each,
  one small data file each). Measured before and after :func:`compact_table`: the data files
  of the current snapshot, the manifests, and a full scan to Arrow (``table.scan().to_arrow()``,
  median of ``--repeats``, alternating nothing: the same table is scanned each time). The
  compaction's own duration and a row digest check (rows identical) come with it.
* **(b) expiry**: a table after ``--appends`` commits; the next ``--commits`` appends are timed
  one by one (median), then snapshots are expired keeping the newest ``--keep`` (the maintenance
  step of ``dativo maintain``), and the next ``--commits`` appends are timed again; then the
  same after a compaction (which also collapses the manifests). Baseline in the same run: the
  same appends into a fresh table (a handful of commits).

Usage::

    python benchmarks/table_maintenance.py [--appends 300] [--rows 1000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from airflow_provider_dativo.engine.iceberg.compaction import compact_table
from airflow_provider_dativo.engine.iceberg.maintenance import MaintenanceSteps, maintain_table
from tests.support.maintenance import event_rows, events_table, rows_digest, sql_catalog


def manifests(table: Any) -> int:
    snapshot = table.current_snapshot()
    return len(snapshot.manifests(table.io)) if snapshot else 0


def files(table: Any) -> int:
    return sum(1 for _ in table.scan().plan_files())


def scan_seconds(table: Any, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        table.scan().to_arrow()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def build(catalog: Any, name: str, appends: int, rows: int) -> tuple[Any, int]:
    table = events_table(catalog, name)
    start = 0
    for _ in range(appends):
        table.append(event_rows(start, rows))
        start += rows
    return table, start


def commit_seconds(table: Any, start: int, commits: int, rows: int) -> tuple[float, int]:
    times = []
    for _ in range(commits):
        batch = event_rows(start, rows)
        started = time.perf_counter()
        table.append(batch)
        times.append(time.perf_counter() - started)
        start += rows
    return statistics.median(times), start


def compaction(catalog: Any, args: argparse.Namespace) -> dict[str, Any]:
    table, _ = build(catalog, "acme.compaction", args.appends, args.rows)
    before = {"files": files(table), "manifests": manifests(table), "scan": scan_seconds(table, args.repeats)}
    digest = rows_digest(table.scan().to_arrow())
    started = time.perf_counter()
    report = compact_table(table, target_file_size_bytes=128 << 20)
    took = time.perf_counter() - started
    table = catalog.load_table("acme.compaction")
    after = {"files": files(table), "manifests": manifests(table), "scan": scan_seconds(table, args.repeats)}
    assert rows_digest(table.scan().to_arrow()) == digest, "compaction changed the rows"
    return {"before": before, "after": after, "compaction_seconds": took, "rewritten": report.files_rewritten}


def expiry(catalog: Any, args: argparse.Namespace) -> dict[str, Any]:
    fresh = events_table(catalog, "acme.fresh")
    fresh.append(event_rows(0, args.rows))  # one snapshot, one manifest
    baseline, _ = commit_seconds(fresh, args.rows, args.commits, args.rows)
    table, start = build(catalog, "acme.expiry", args.appends, args.rows)
    results: dict[str, Any] = {"fresh table": (baseline, 1, 1)}
    state = (len(table.metadata.snapshots), manifests(table))
    seconds, start = commit_seconds(table, start, args.commits, args.rows)
    results[f"after {args.appends} commits"] = (seconds, *state)
    steps = MaintenanceSteps(
        expire_older_than_hours=0, keep_last_snapshots=args.keep, remove_orphans_older_than_hours=None
    )
    maintain_table(catalog, "acme", "expiry", steps)
    table = catalog.load_table("acme.expiry")
    kept = (len(table.metadata.snapshots), manifests(table))
    seconds, start = commit_seconds(table, start, args.commits, args.rows)
    results[f"after expiry (keep last {args.keep})"] = (seconds, *kept)
    compact_table(table, target_file_size_bytes=128 << 20)
    maintain_table(catalog, "acme", "expiry", steps)
    table = catalog.load_table("acme.expiry")
    kept = (len(table.metadata.snapshots), manifests(table))
    seconds, start = commit_seconds(table, start, args.commits, args.rows)
    results["after compaction + expiry"] = (seconds, *kept)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=300)
    parser.add_argument("--rows", type=int, default=1000, help="rows per small append")
    parser.add_argument("--repeats", type=int, default=5, help="scans per measurement (median)")
    parser.add_argument("--commits", type=int, default=20, help="timed appends per measurement (median)")
    parser.add_argument("--keep", type=int, default=10, help="snapshots expiry keeps")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        catalog = sql_catalog(Path(tmp) / "home")
        a = compaction(catalog, args)
        b = expiry(catalog, args)
    rows = args.appends * args.rows
    print(
        f"(a) {args.appends} appends of {args.rows} rows ({rows} rows), full scan, median of {args.repeats}"
    )
    print("| table | data files | manifests | scan (s) | scan vs before |")
    print("|---|---:|---:|---:|---:|")
    for label, m in (("before compaction", a["before"]), ("after compaction", a["after"])):
        ratio = m["scan"] / a["before"]["scan"]
        print(f"| {label} | {m['files']} | {m['manifests']} | {m['scan']:.3f} | {ratio:.2f}x |")
    print(f"compaction: {a['rewritten']} files rewritten in {a['compaction_seconds']:.2f} s; rows identical")
    print()
    print(f"(b) append of {args.rows} rows, median of {args.commits} commits")
    columns = ["table (before the timed appends)", "snapshots", "manifests", "commit (ms)", "vs fresh table"]
    print("| " + " | ".join([*columns, "vs before expiry"]) + " |")
    print("|---|---:|---:|---:|---:|---:|")
    base = b["fresh table"][0]
    before = b[f"after {args.appends} commits"][0]
    for label, (seconds, snapshots, count) in b.items():
        versus = f"{seconds / before:.2f}x" if label != "fresh table" else ""
        print(
            f"| {label} | {snapshots} | {count} | {seconds * 1000:.1f} | {seconds / base:.2f}x | {versus} |"
        )


if __name__ == "__main__":
    main()
