#!/usr/bin/env python
"""How fast ``dativo run`` loads a CSV into Iceberg on object storage, against bare pyiceberg.

The scale-out set-up: an Iceberg SQL catalog in PostgreSQL and the warehouse in an S3 bucket.
The script starts both on loopback, as the Celery end-to-end tests do: a throwaway PostgreSQL
from Debian's server binaries (``tests/support/postgres.py``) and moto's S3 server
(``tests/support/services.py``). It writes the customers CSV of ``ingest_throughput.py``
(``--rows``, default 1,000,000; the same asset and rules: required fields, an e-mail
pattern, a country enum, ``min: 0``, zoned timestamps, decimals, nulls) and, per run, a job
whose ``target.catalog`` names the PostgreSQL catalog and the bucket, with the catalog
password and the S3 keys in the tenant's secret file (``secrets/acme/lake.env``).

Variants, each a fresh subprocess, alternating, the order rotating every round:

* **dativo run**: ``dativo run --no-retries --config jobs/acme/<job>.yaml`` (strict validation,
  streamed append, one commit);
* **arrow read + pyiceberg append** (the target): ``pyarrow.csv.read_csv`` with the asset's
  column types, then ``create_table`` and ``table.append`` to the same catalog and bucket.

Every run writes a table of its own; afterwards its current snapshot must hold exactly
``--rows`` records. A run's time is the wall-clock time of the whole process (interpreter
start, imports, reading, validation, writing to S3, commit in PostgreSQL).

Usage::

    python benchmarks/object_storage_ingest.py [--rows 1000000] [--repeats 3] [--markdown]

Exits non-zero only on errors (a failed run, a wrong row count), never on the ratio.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# the sibling benchmark's data definitions and measuring helpers
from ingest_shapes import CUSTOMERS, read_exact, write_csv
from ingest_throughput import (
    ARROW_SCHEMA,
    ASSET,
    benchmark_parser,
    checked_args,
    dativo_command,
    environment,
    render_table,
    run_measured,
)

VARIANTS = ("dativo", "iceberg")
LABELS = {"dativo": "dativo run", "iceberg": "arrow read + pyiceberg append"}
BUCKET = "bench-lake"
CATALOG = "lake"


def catalog_properties(lake: dict[str, str]) -> dict[str, str]:
    return {
        "type": "sql",
        "uri": lake["uri"],
        "warehouse": f"s3://{BUCKET}/warehouse",
        "s3.endpoint": lake["endpoint"],
        "s3.region": lake["region"],
        "s3.access-key-id": lake["key"],
        "s3.secret-access-key": lake["secret"],
    }


def write_workspace(root: Path, rows: int, lake: dict[str, str]) -> Path:
    """The CSV, the asset and the tenant's secret file; jobs are written per run."""
    (root / "assets").mkdir(parents=True)
    (root / "jobs" / "acme").mkdir(parents=True)
    (root / "data" / "acme").mkdir(parents=True)
    (root / "secrets" / "acme").mkdir(parents=True)
    csv = root / "data" / "acme" / "customers.csv"
    write_csv(CUSTOMERS, rows, csv)
    (root / "assets" / "customers.yaml").write_text(yaml.safe_dump(ASSET, sort_keys=False))
    (root / "secrets" / "acme" / "lake.env").write_text(
        f"CATALOG_PASSWORD={lake['password']}\nS3_KEY={lake['key']}\nS3_SECRET={lake['secret']}\n"
    )
    return csv


def write_job(root: Path, table: str, lake: dict[str, str]) -> Path:
    """A job like the Celery tests': catalog and bucket in target.catalog, credentials as secrets."""
    catalog = {
        "name": CATALOG,
        "type": "sql",
        "uri": lake["uri"].replace(lake["password"], "${secret:CATALOG_PASSWORD}"),
        "warehouse": f"s3://{BUCKET}/warehouse",
        "s3.endpoint": lake["endpoint"],
        "s3.region": lake["region"],
        "s3.access-key-id": "${secret:S3_KEY}",
        "s3.secret-access-key": "${secret:S3_SECRET}",
    }
    job = {
        "tenant_id": "acme",
        "source_connector": "csv",
        "source": {"path": "../../data/acme/customers.csv"},
        "target_connector": "iceberg",
        "target": {"table": table, "mode": "append", "catalog": catalog},
        "asset": "customers",
        "validation": {"mode": "strict"},
    }
    path = root / "jobs" / "acme" / f"{table}.yaml"
    path.write_text(yaml.safe_dump(job, sort_keys=False))
    return path


def child_iceberg(path: str, table: str, lake_json: str) -> None:
    from pyiceberg.catalog import load_catalog

    data = read_exact(CUSTOMERS, "csv", path)
    catalog = load_catalog(CATALOG, **catalog_properties(json.loads(lake_json)))
    catalog.create_namespace_if_not_exists("acme")
    iceberg = catalog.create_table(f"acme.{table}", schema=ARROW_SCHEMA)
    iceberg.append(data.cast(iceberg.schema().as_arrow()))
    print(json.dumps({"rows": data.num_rows}))


def committed_rows(lake: dict[str, str], table: str) -> int:
    from pyiceberg.catalog import load_catalog

    snapshot = (
        load_catalog(CATALOG, **catalog_properties(lake)).load_table(f"acme.{table}").current_snapshot()
    )
    if snapshot is None or snapshot.summary is None:
        return 0
    return int(snapshot.summary.additional_properties.get("total-records", 0))


def measure(
    root: Path, csv: Path, work: Path, lake: dict[str, str], rows: int, repeats: int
) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = []
    for round_no in range(repeats):
        order = VARIANTS if round_no % 2 == 0 else tuple(reversed(VARIANTS))
        for variant in order:
            table = f"customers_{len(runs):03d}_{variant}"
            if variant == "dativo":
                cmd = [
                    *dativo_command(),
                    "run",
                    "--no-retries",
                    "--config",
                    str(write_job(root, table, lake)),
                ]
            else:
                cmd = [
                    sys.executable,
                    str(Path(__file__).resolve()),
                    "--child",
                    str(csv),
                    table,
                    json.dumps(lake),
                ]
            home = work / "homes" / table
            home.mkdir(parents=True)
            env = {**os.environ, "DATIVO_HOME": str(home), "DATIVO_APP_ROOT": str(root)}
            log = work / "logs" / f"{table}.log"
            code, seconds, rss = run_measured(cmd, env, root, log)
            if code != 0:
                raise RuntimeError(
                    f"{variant} exited with {code}:\n{log.read_text(errors='replace')[-3000:]}"
                )
            committed = committed_rows(lake, table)
            if committed != rows:
                raise RuntimeError(f"{variant} committed {committed} records, expected {rows} (log: {log})")
            runs.append({"variant": variant, "seconds": seconds, "peak_rss": rss, "round": round_no + 1})
            print(
                f"round {round_no + 1}/{repeats}  {variant:<8} {seconds:7.2f} s  {rss / 2**20:6.0f} MiB",
                file=sys.stderr,
            )
    return runs


def report(runs: list[dict[str, Any]], rows: int, markdown: bool) -> str:
    base = statistics.median(r["seconds"] for r in runs if r["variant"] == "iceberg")
    best_base = min(r["seconds"] for r in runs if r["variant"] == "iceberg")
    header = [
        "variant",
        "rounds",
        "median (s)",
        "best (s)",
        "rows/s (median)",
        "peak RSS (MiB)",
        "÷ pyiceberg append",
        "best / best",
    ]
    body = []
    for variant in VARIANTS:
        mine = [r for r in runs if r["variant"] == variant]
        median = statistics.median(r["seconds"] for r in mine)
        best = min(r["seconds"] for r in mine)
        ratio = f"{median / base:.2f}x"
        body.append(
            [
                LABELS[variant],
                str(len(mine)),
                f"{median:.2f}",
                f"{best:.2f}",
                f"{rows / median:,.0f}",
                f"{statistics.median(r['peak_rss'] for r in mine) / 2**20:.0f}",
                f"**{ratio}**" if markdown and variant == "dativo" else ratio,
                f"{best / best_base:.2f}x",
            ]
        )
    return render_table(header, body, markdown=markdown, text_columns=1)


def main(argv: list[str] | None = None) -> int:
    parser = benchmark_parser(__doc__.split("\n\n")[0], child_args=3)
    args = checked_args(parser, argv)
    if args.child:
        child_iceberg(*args.child)
        return 0
    from tests.support.postgres import PASSWORD, start_server
    from tests.support.services import S3_ACCESS_KEY, S3_REGION, S3_SECRET_KEY, start_s3

    work = Path(tempfile.mkdtemp(prefix="dativo-s3-bench-"))
    services = Path(tempfile.mkdtemp(prefix="dativo-s3-bench-services-"))
    services.chmod(0o711)  # PostgreSQL runs as user postgres when this runs as root
    postgres = s3 = None
    try:
        (work / "logs").mkdir()
        postgres = start_server(services / "postgres")
        s3 = start_s3(services / "s3")
        s3.create_bucket(BUCKET)
        postgres.create_database("iceberg")
        lake = {
            "uri": postgres.sqlalchemy_url("iceberg"),
            "password": PASSWORD,
            "endpoint": s3.endpoint,
            "region": S3_REGION,
            "key": S3_ACCESS_KEY,
            "secret": S3_SECRET_KEY,
        }
        from pyiceberg.catalog import load_catalog

        load_catalog(CATALOG, **catalog_properties(lake))  # the catalog's tables, once (a deployment step)
        root = work / "deployment"
        csv = write_workspace(root, args.rows, lake)
        info = environment()
        print(
            f"{info['date']}: {info['cpus']} CPUs, load average {os.getloadavg()[0]:.2f}; "
            f"{csv.stat().st_size / 2**20:.0f} MiB CSV",
            file=sys.stderr,
        )
        runs = measure(root, csv, work, lake, args.rows, args.repeats)
        if args.json:
            Path(args.json).write_text(
                json.dumps({"environment": info, "rows": args.rows, "runs": runs}, indent=2)
            )
        print(
            f"CSV -> Iceberg (SQL catalog on PostgreSQL, warehouse on moto's S3), {args.rows:,} rows, "
            f"median of {args.repeats} rounds ({info['date']}, {info['cpus']} CPUs, Python {info['python']}, "
            f"pyarrow {info['pyarrow']}, pyiceberg {info['pyiceberg']})\n"
        )
        print(report(runs, args.rows, args.markdown))
    finally:
        if s3 is not None:
            s3.stop()
        if postgres is not None:
            postgres.stop()
        shutil.rmtree(services, ignore_errors=True)
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
