#!/usr/bin/env python
"""What boundary-safe incremental loads cost, against a full load of the same file in the same run.

The data is the throughput benchmark's customers table (:mod:`ingest_throughput`: ids, e-mails,
names with nulls, countries, decimals, booleans) with ``created_at`` cut to the minute, so
records share cursor values as exports do, written as CSV sorted by ``created_at``. The older
90% is the file of the first run, the whole table the file of the next.

Variants, each in a fresh embedded catalog, alternating within each round, timed in-process
(``run_job``), median of ``--repeats`` rounds:

* **full** (the baseline): a non-incremental append of the whole file;
* **incremental first**: the first incremental run over the whole file (no committed cursor:
  the cost of tracking the cursor and the identifiers of the records at the top);
* **incremental next**: after an untimed first run over the older 90%, the timed run over the
  whole file: select at or beyond the cursor, skip the recorded boundary, load the new 10%;
* **incremental + lookback P30D**: the same with ``lookback: P30D``: the window's records are
  read back from the table and fingerprinted, then compared.

After every run the table's row count is checked (the whole table, once). Usage::

    python benchmarks/incremental_boundary.py [--rows 200000] [--repeats 3] [--markdown]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.csv as pacsv
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest_shapes import CUSTOMERS, release_memory, typed_table
from ingest_throughput import ASSET

VARIANTS = ("full", "incremental first", "incremental next", "incremental + lookback P30D")


def write_inputs(root: Path, rows: int) -> dict[str, Path]:
    table = typed_table(CUSTOMERS, CUSTOMERS.table(rows))
    minutes = pc.floor_temporal(table.column("created_at"), unit="minute")
    table = table.set_column(table.schema.get_field_index("created_at"), "created_at", minutes)
    table = table.sort_by("created_at")
    (root / "assets").mkdir(parents=True)
    (root / "data" / "acme").mkdir(parents=True)
    (root / "assets" / "customers.yaml").write_text(yaml.safe_dump(ASSET, sort_keys=False))
    older = root / "data" / "acme" / "older.csv"
    whole = root / "data" / "acme" / "whole.csv"
    pacsv.write_csv(table.slice(0, rows * 9 // 10), older)
    pacsv.write_csv(table, whole)
    del table, minutes
    release_memory()
    return {"older": older, "whole": whole}


def job_file(root: Path, name: str, data: Path, incremental: dict[str, Any] | None) -> Path:
    source: dict[str, Any] = {"path": f"../../data/acme/{data.name}"}
    if incremental is not None:
        source["incremental"] = incremental
    path = root / "jobs" / "acme" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        yaml.safe_dump(
            {
                "tenant_id": "acme",
                "source_connector": "csv",
                "source": source,
                "target": {"table": "customers"},
                "asset": "customers",
                "validation": {"mode": "strict"},
            }
        )
    )
    return path


def run(path: Path, home: Path, run_id: str) -> tuple[float, int]:
    from airflow_provider_dativo.config.loader import load_job
    from airflow_provider_dativo.engine.events import EventEmitter
    from airflow_provider_dativo.engine.run import run_job

    job = load_job(path)
    emitter = EventEmitter(job_name="bench", tenant_id="acme", run_id=run_id, stream=io.StringIO())
    started = time.perf_counter()
    result = run_job(job, job_name="bench", run_id=run_id, emitter=emitter, dativo_home=str(home))
    elapsed = time.perf_counter() - started
    if result.exit_code != 0:
        raise SystemExit(f"{path.name} failed: {result.error}")
    return elapsed, result.metrics["records_valid"]


def table_rows(home: Path) -> int:
    from pyiceberg.catalog import load_catalog

    catalog = load_catalog(
        "dativo", type="sql", uri=f"sqlite:///{home}/catalog.db", warehouse=f"file://{home}/warehouse"
    )
    return catalog.load_table("acme.customers").scan().to_arrow().num_rows


def measure(root: Path, rows: int, repeats: int) -> dict[str, list[float]]:
    files = write_inputs(root, rows)
    cursor = {"cursor_field": "created_at"}
    jobs = {
        "full": job_file(root, "full", files["whole"], None),
        "first": job_file(root, "first", files["whole"], cursor),
        "older": job_file(root, "older", files["older"], cursor),
        "older_lb": job_file(root, "older_lb", files["older"], {**cursor, "lookback": "P30D"}),
        "next": job_file(root, "next", files["whole"], cursor),
        "next_lb": job_file(root, "next_lb", files["whole"], {**cursor, "lookback": "P30D"}),
    }
    times: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for round_number in range(repeats):
        for variant in VARIANTS:
            home = root / f"home-{round_number}-{VARIANTS.index(variant)}"
            if variant == "full":
                elapsed, _ = run(jobs["full"], home, "r")
            elif variant == "incremental first":
                elapsed, _ = run(jobs["first"], home, "r")
            else:
                lookback = variant.endswith("P30D")
                run(jobs["older_lb" if lookback else "older"], home, "r0")
                elapsed, loaded = run(jobs["next_lb" if lookback else "next"], home, "r1")
                if loaded != rows - rows * 9 // 10:
                    raise SystemExit(f"{variant} loaded {loaded} records")
            if table_rows(home) != rows:
                raise SystemExit(f"{variant}: the table does not hold {rows} rows")
            times[variant].append(elapsed)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="dativo-bench-inc-") as work:
        times = measure(Path(work), args.rows, args.repeats)
    base = statistics.median(times["full"])
    sep = " | " if args.markdown else "  "
    print(sep.join(["variant", "median s", "vs full"]))
    for variant, values in times.items():
        median = statistics.median(values)
        print(sep.join([variant, f"{median:.3f}", f"{median / base:.2f}"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
