#!/usr/bin/env python
"""How fast ``dativo run`` ingests a file into Iceberg, compared with plain pyarrow + pyiceberg.

The script generates one realistic table of customers (``--rows``, default 1,000,000) with
pyarrow (vectorised, seeded, no per-row Python) and writes it as CSV and as Parquet into a
temporary workspace laid out like a deployment: ``assets/customers.yaml``,
``jobs/acme/customers_csv.yaml``, ``jobs/acme/customers_parquet.yaml`` and ``data/``.
The asset declares the usual rules: ``id`` long (required), ``email`` string (required, with a
pattern), ``name`` string, ``country`` string (enum), ``created_at`` timestamp (required),
``balance`` decimal(12,2) (min 0) and ``active`` boolean. Every record is valid.

For each format it measures four variants, each in a fresh subprocess with its own temporary
``DATIVO_HOME`` (embedded sqlite catalog):

* **dativo**: ``dativo run --no-retries --config jobs/acme/customers_<fmt>.yaml`` (strict
  validation: the CSV is read as text, parsed and checked rule by rule; Parquet is cast and
  checked), committing one append to ``acme.customers``;
* **arrow read+write** (baseline 1): ``pyarrow.csv.read_csv`` with the asset's column types /
  ``pyarrow.parquet.read_table``, then ``pyarrow.parquet.write_table`` of the same data;
* **arrow + pyiceberg** (baseline 2, the target): the same read, then
  ``load_catalog(type="sql", sqlite)``, ``create_table`` and ``table.append`` of the data cast
  to the table's schema: what a hand-written loader without validation costs.

The time of a run is the wall-clock time of the whole subprocess (interpreter start, imports,
reading, writing, commit), and its peak RSS is the child's own ``ru_maxrss``
(``os.wait4``, the per-child form of ``getrusage(RUSAGE_CHILDREN)``). Variants alternate within
each round. After every dativo and pyiceberg run the table is read back: its current snapshot
must report exactly ``--rows`` ``total-records``, or the script fails.

Usage::

    python benchmarks/ingest_throughput.py [--rows 1000000] [--repeats 3] [--markdown]
    python benchmarks/ingest_throughput.py --profile      # cProfile one dativo CSV run

Exits non-zero only on errors (a failed run, a wrong row count), never on the ratio.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

FORMATS = ("csv", "parquet")
VARIANTS = ("dativo", "arrow", "iceberg")
VARIANT_LABELS = {
    "dativo": "dativo run",
    "arrow": "arrow read + parquet write",
    "iceberg": "arrow read + pyiceberg append",
}
TARGET_RATIO = 1.5
SEED = 20261122
COUNTRIES = ["US", "GB", "DE", "FR", "NL", "ES", "IT", "SE", "CA", "AU", "JP", "BR"]
FIRST_NAMES = [
    "Ada", "Alan", "Grace", "Linus", "Barbara", "Ken", "Margaret", "Dennis", "Frances", "Edsger",
    "Radia", "Donald", "Hedy", "John", "Katherine", "Tim", "Sophie", "Guido", "Anita", "Bjarne",
]  # fmt: skip
LAST_NAMES = [
    "Lovelace", "Turing", "Hopper", "Torvalds", "Liskov", "Thompson", "Hamilton", "Ritchie",
    "Allen", "Dijkstra", "Perlman", "Knuth", "Lamarr", "McCarthy", "Johnson", "Berners-Lee",
    "Wilson", "van Rossum", "Borg", "Stroustrup",
]  # fmt: skip
DOMAINS = ["example.com", "mail.example.org", "acme.test", "corp.example.net"]
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[a-z]+$"

ASSET: dict[str, Any] = {
    "name": "customers",
    "version": "1.0",
    "description": "Customers of the acme shop (ingest throughput benchmark).",
    "fields": [
        {"name": "id", "type": "long", "required": True},
        {"name": "email", "type": "string", "required": True, "pattern": EMAIL_PATTERN},
        {"name": "name", "type": "string"},
        {"name": "country", "type": "string", "enum": COUNTRIES},
        {"name": "created_at", "type": "timestamp", "required": True},
        {"name": "balance", "type": "decimal(12,2)", "min": 0},
        {"name": "active", "type": "boolean"},
    ],
}
REQUIRED = [f["name"] for f in ASSET["fields"] if f.get("required")]
ARROW_SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        pa.field("email", pa.string(), nullable=False),
        pa.field("name", pa.string()),
        pa.field("country", pa.string()),
        pa.field("created_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("balance", pa.decimal128(12, 2)),
        pa.field("active", pa.bool_()),
    ]
)


# --------------------------------------------------------------------------- data and files


def _uniform_ints(n: int, high: int, seed: int) -> pa.Array:
    """``n`` pseudo-random integers in ``[0, high)``, vectorised."""
    return pc.cast(pc.floor(pc.multiply(pc.random(n, initializer=seed), high)), pa.int64())


def _pick(values: list[str], n: int, seed: int) -> pa.Array:
    return pc.take(pa.array(values), _uniform_ints(n, len(values), seed))


def generate(rows: int) -> pa.Table:
    """The customers table: deterministic for a given ``rows``, every record valid."""
    ids = pc.cumulative_sum(pa.nulls(rows, pa.int64()).fill_null(1))  # 1, 2, ..., rows
    first = _pick(FIRST_NAMES, rows, SEED + 1)
    last = _pick(LAST_NAMES, rows, SEED + 2)
    local = pc.utf8_lower(pc.replace_substring(pc.binary_join_element_wise(first, last, "."), " ", ""))
    email = pc.binary_join_element_wise(
        local, pc.binary_join_element_wise(pc.cast(ids, pa.string()), _pick(DOMAINS, rows, SEED + 3), "@"), ""
    )
    name = pc.binary_join_element_wise(first, last, " ")
    # About 2% of names are unknown (null): nullable columns carry nulls in real data.
    name = pc.if_else(pc.less(_uniform_ints(rows, 100, SEED + 4), 2), pa.scalar(None, pa.string()), name)
    country = _pick(COUNTRIES, rows, SEED + 5)
    start = int(dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc).timestamp() * 1_000_000)
    span = 6 * 365 * 24 * 3600 * 1_000_000
    micros = pc.add(_uniform_ints(rows, span, SEED + 6), start)
    created_at = pc.cast(micros, pa.timestamp("us", tz="UTC"))
    cents = _uniform_ints(rows, 10_000_000, SEED + 7)  # 0.00 .. 99,999.99
    balance_text = pc.binary_join_element_wise(
        pc.cast(pc.divide(cents, 100), pa.string()),
        pc.utf8_lpad(
            pc.cast(pc.subtract(cents, pc.multiply(pc.divide(cents, 100), 100)), pa.string()), 2, "0"
        ),
        ".",
    )
    balance = pc.cast(balance_text, pa.decimal128(12, 2))
    active = pc.less(_uniform_ints(rows, 100, SEED + 8), 85)
    columns = [ids, email, name, country, created_at, balance, active]
    return pa.Table.from_arrays(columns, schema=ARROW_SCHEMA)


def write_workspace(root: Path, rows: int) -> dict[str, Path]:
    """Data files, the asset and one job per format, in the tenant folder layout."""
    import yaml

    (root / "assets").mkdir(parents=True)
    (root / "jobs" / "acme").mkdir(parents=True)
    (root / "data" / "acme").mkdir(parents=True)
    table = generate(rows)
    paths = {
        "csv": root / "data" / "acme" / "customers.csv",
        "parquet": root / "data" / "acme" / "customers.parquet",
    }
    pacsv.write_csv(table, paths["csv"], write_options=pacsv.WriteOptions(quoting_style="needed"))
    pq.write_table(table, paths["parquet"])
    (root / "assets" / "customers.yaml").write_text(yaml.safe_dump(ASSET, sort_keys=False))
    jobs = {}
    for fmt in FORMATS:
        job = {
            "tenant_id": "acme",
            "source_connector": fmt,
            "source": {"path": f"../../data/acme/{paths[fmt].name}"},
            "target_connector": "iceberg",
            "target": {"table": "customers", "mode": "append"},
            "asset": "customers",
            "validation": {"mode": "strict"},
        }
        jobs[fmt] = root / "jobs" / "acme" / f"customers_{fmt}.yaml"
        jobs[fmt].write_text(yaml.safe_dump(job, sort_keys=False))
    return {**{f"data_{k}": v for k, v in paths.items()}, **{f"job_{k}": v for k, v in jobs.items()}}


# --------------------------------------------------------------------------- children


def _read(fmt: str, path: str) -> pa.Table:
    if fmt == "csv":
        convert = pacsv.ConvertOptions(
            column_types={f.name: f.type for f in ARROW_SCHEMA},
            strings_can_be_null=True,
            null_values=[""],
        )
        return pacsv.read_csv(path, convert_options=convert)
    return pq.read_table(path)


def child_arrow(fmt: str, path: str, home: str) -> None:
    table = _read(fmt, path)
    pq.write_table(table, os.path.join(home, "out.parquet"))
    print(json.dumps({"rows": table.num_rows}))


def _catalog(home: str):
    from pyiceberg.catalog import load_catalog

    warehouse = Path(home) / "warehouse"
    warehouse.mkdir(parents=True, exist_ok=True)
    return load_catalog(
        "bench", type="sql", uri=f"sqlite:///{home}/catalog.db", warehouse=f"file://{warehouse}"
    )


def child_iceberg(fmt: str, path: str, home: str) -> None:
    table = _read(fmt, path)
    catalog = _catalog(home)
    catalog.create_namespace_if_not_exists("acme")
    iceberg = catalog.create_table("acme.customers", schema=ARROW_SCHEMA)
    iceberg.append(table.cast(iceberg.schema().as_arrow()))
    print(json.dumps({"rows": table.num_rows}))


def committed_rows(home: Path, catalog_name: str) -> int:
    """``total-records`` of the current snapshot of ``acme.customers`` in ``home``'s catalog."""
    from pyiceberg.catalog import load_catalog

    catalog = load_catalog(
        catalog_name, type="sql", uri=f"sqlite:///{home}/catalog.db", warehouse=f"file://{home}/warehouse"
    )
    snapshot = catalog.load_table("acme.customers").current_snapshot()
    if snapshot is None or snapshot.summary is None:
        return 0
    return int(snapshot.summary.additional_properties.get("total-records", 0))


# --------------------------------------------------------------------------- measuring


def dativo_command() -> list[str]:
    script = Path(sys.executable).parent / "dativo"
    if script.exists():
        return [str(script)]
    found = shutil.which("dativo")
    if found:
        return [found]
    return [
        sys.executable,
        "-c",
        "from airflow_provider_dativo.cli.main import main; raise SystemExit(main())",
    ]


def command(variant: str, fmt: str, files: dict[str, Path], home: Path) -> list[str]:
    if variant == "dativo":
        return [*dativo_command(), "run", "--no-retries", "--config", str(files[f"job_{fmt}"])]
    return [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        variant,
        fmt,
        str(files[f"data_{fmt}"]),
        str(home),
    ]


def run_measured(cmd: list[str], env: dict[str, str], cwd: Path, log: Path) -> tuple[int, float, int]:
    """Run ``cmd``; returns (exit code, wall seconds, peak RSS in bytes) of that child alone."""
    with open(log, "wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss is KiB on Linux, bytes on macOS
    return proc.returncode, elapsed, usage.ru_maxrss * scale


def measure_one(
    variant: str, fmt: str, files: dict[str, Path], work: Path, rows: int, index: int
) -> dict[str, Any]:
    home = work / "homes" / f"{index:03d}-{variant}-{fmt}"
    home.mkdir(parents=True)
    env = {**os.environ, "DATIVO_HOME": str(home), "DATIVO_APP_ROOT": str(files["root"])}
    env.pop("DATIVO_PARSE_CACHE_DIR", None)
    log = work / "logs" / f"{index:03d}-{variant}-{fmt}.log"
    code, seconds, rss = run_measured(command(variant, fmt, files, home), env, files["root"], log)
    if code != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{variant} ({fmt}) exited with {code}; output:\n{tail}")
    if variant in ("dativo", "iceberg"):
        committed = committed_rows(home, "dativo" if variant == "dativo" else "bench")
        if committed != rows:
            raise RuntimeError(
                f"{variant} ({fmt}) committed {committed} records, expected {rows} (log: {log})"
            )
    shutil.rmtree(home, ignore_errors=True)
    return {"variant": variant, "format": fmt, "seconds": seconds, "peak_rss": rss}


def measure(files: dict[str, Path], work: Path, rows: int, repeats: int, quiet: bool) -> list[dict[str, Any]]:
    runs = []
    plan = [(v, f) for f in FORMATS for v in VARIANTS]
    for round_no in range(repeats):
        # Rotate the order each round so no variant always runs first (or after the same one).
        shift = round_no % len(plan)
        for variant, fmt in plan[shift:] + plan[:shift]:
            run = measure_one(variant, fmt, files, work, rows, len(runs))
            run["round"] = round_no + 1
            runs.append(run)
            if not quiet:
                print(
                    f"round {round_no + 1}/{repeats}  {fmt:<7} {variant:<8} {run['seconds']:7.2f} s  "
                    f"{run['peak_rss'] / 2**20:7.0f} MiB",
                    file=sys.stderr,
                )
    return runs


def profile_dativo(files: dict[str, Path], work: Path, fmt: str, top: int) -> str:
    """cProfile one dativo run; returns the top functions by own time and by cumulative time."""
    import pstats
    from io import StringIO

    home = work / "homes" / f"profile-{fmt}"
    home.mkdir(parents=True)
    out = work / f"dativo-{fmt}.prof"
    env = {**os.environ, "DATIVO_HOME": str(home), "DATIVO_APP_ROOT": str(files["root"])}
    cmd = [sys.executable, "-m", "cProfile", "-o", str(out), *dativo_command()]
    if cmd[-1] == "-c":  # no console script: profiling needs a file
        raise RuntimeError("--profile needs the dativo console script (pip install -e .)")
    cmd += ["run", "--no-retries", "--config", str(files[f"job_{fmt}"])]
    code, seconds, _ = run_measured(cmd, env, files["root"], work / "logs" / f"profile-{fmt}.log")
    if code != 0:
        raise RuntimeError(f"profiled dativo run exited with {code}")
    buffer = StringIO()
    stats = pstats.Stats(str(out), stream=buffer)
    buffer.write(f"profiled dativo run ({fmt}): {seconds:.2f} s wall under cProfile\n")
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return buffer.getvalue()


# --------------------------------------------------------------------------- report


def summarize(runs: list[dict[str, Any]], rows: int) -> list[dict[str, Any]]:
    table = []
    for fmt in FORMATS:
        base = [r["seconds"] for r in runs if r["format"] == fmt and r["variant"] == "iceberg"]
        for variant in VARIANTS:
            mine = [r for r in runs if r["format"] == fmt and r["variant"] == variant]
            seconds = [r["seconds"] for r in mine]
            median = statistics.median(seconds)
            table.append(
                {
                    "format": fmt,
                    "variant": variant,
                    "rounds": len(mine),
                    "median_s": median,
                    "best_s": min(seconds),
                    "rows_per_s": rows / median,
                    "peak_rss_mib": statistics.median(r["peak_rss"] for r in mine) / 2**20,
                    "vs_iceberg": median / statistics.median(base),
                    "best_vs_best": min(seconds) / min(base),
                }
            )
    return table


def format_table(summary: list[dict[str, Any]], markdown: bool) -> str:
    header = [
        "format",
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
    for row in summary:
        ratio = f"{row['vs_iceberg']:.2f}x"
        if markdown and row["variant"] == "dativo":
            ratio = f"**{ratio}**"
        body.append(
            [
                row["format"],
                VARIANT_LABELS[row["variant"]],
                str(row["rounds"]),
                f"{row['median_s']:.2f}",
                f"{row['best_s']:.2f}",
                f"{row['rows_per_s']:,.0f}",
                f"{row['peak_rss_mib']:.0f}",
                ratio,
                f"{row['best_vs_best']:.2f}x",
            ]
        )
    return render_table(header, body, markdown=markdown, text_columns=2)


def render_table(header: list[str], body: list[list[str]], *, markdown: bool, text_columns: int) -> str:
    """``body`` under ``header`` as markdown, or as aligned text; the first ``text_columns``
    columns are left-aligned, the numbers after them right-aligned."""
    if markdown:
        align = ["---"] * text_columns + ["---:"] * (len(header) - text_columns)
        return "\n".join("| " + " | ".join(cells) + " |" for cells in [header, align, *body])
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = [header, ["-" * w for w in widths], *body]
    return "\n".join(
        "  ".join(
            c.ljust(w) if i < text_columns else c.rjust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        )
        for line in lines
    )


def environment() -> dict[str, str]:
    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": str(os.cpu_count()),
        "machine": f"{platform.system()} {platform.machine()} {platform.processor() or ''}".strip(),
        "python": platform.python_version(),
        "pyarrow": version("pyarrow"),
        "pyiceberg": version("pyiceberg"),
        "sqlalchemy": version("sqlalchemy"),
        "airflow-provider-dativo": version("airflow-provider-dativo"),
    }


def benchmark_parser(description: str, *, child_args: int) -> argparse.ArgumentParser:
    """The options every ingest benchmark takes (rows, rounds, output, work directory)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--rows", type=int, default=1_000_000, help="records to generate (default 1,000,000)")
    parser.add_argument("--repeats", type=int, default=3, help="rounds; every variant runs once per round")
    parser.add_argument("--markdown", action="store_true", help="print the table as markdown")
    parser.add_argument("--json", metavar="FILE", help="also write every run to FILE")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.add_argument("--child", nargs=child_args, help=argparse.SUPPRESS)
    return parser


def checked_args(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    args = parser.parse_args(argv)
    if args.rows < 1 or args.repeats < 1:
        parser.error("--rows and --repeats must be at least 1")
    return args


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = benchmark_parser(__doc__.split("\n\n")[0], child_args=4)
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also cProfile one dativo run per format and print the top functions",
    )
    parser.add_argument("--profile-top", type=int, default=25, help="functions listed by --profile")
    return checked_args(parser, argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        variant, fmt, path, home = args.child
        {"arrow": child_arrow, "iceberg": child_iceberg}[variant](fmt, path, home)
        return 0

    work = Path(tempfile.mkdtemp(prefix="dativo-ingest-bench-"))
    try:
        (work / "logs").mkdir()
        started = time.perf_counter()
        files = write_workspace(work / "deploy", args.rows)
        files["root"] = work / "deploy"
        if not args.quiet:
            sizes = ", ".join(
                f"{fmt} {files[f'data_{fmt}'].stat().st_size / 2**20:.0f} MiB" for fmt in FORMATS
            )
            print(
                f"generated {args.rows:,} records ({sizes}) in {time.perf_counter() - started:.1f} s",
                f"under {work}",
                file=sys.stderr,
            )
        runs = measure(files, work, args.rows, args.repeats, args.quiet)
        summary = summarize(runs, args.rows)
        env = environment()
        print(
            f"{args.rows:,} records, {args.repeats} rounds; {env['date']}; {env['cpus']} CPUs, "
            f"{env['machine']}; Python {env['python']}, pyarrow {env['pyarrow']}, "
            f"pyiceberg {env['pyiceberg']}"
        )
        print(format_table(summary, args.markdown))
        for row in summary:
            if row["variant"] == "dativo":
                verdict = "within" if row["vs_iceberg"] <= TARGET_RATIO else "above"
                print(
                    f"{row['format']}: dativo / (read + pyiceberg append) = {row['vs_iceberg']:.2f}x, "
                    f"{verdict} the {TARGET_RATIO}x target"
                )
        if args.json:
            Path(args.json).write_text(
                json.dumps(
                    {"environment": env, "rows": args.rows, "runs": runs, "summary": summary}, indent=2
                )
            )
        if args.profile:
            for fmt in FORMATS:
                print(profile_dativo(files, work, fmt, args.profile_top))
        return 0
    except Exception as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
