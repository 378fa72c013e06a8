#!/usr/bin/env python
"""How fast ``dativo run`` ingests files of every common shape, against bare pyarrow + pyiceberg.

The shape matrix (:mod:`ingest_shapes`): each shape alone — zone-less timestamps with ``T``,
zone-less with a space and microseconds, zoned (``Z`` / ``±hh:mm``), dates, decimal(12,2),
booleans, signed integers, doubles, strings, ~20% empty values — then one mixed wide file and
the customers export with validation rules (pattern, enum, min). Every shape is written as
CSV and as JSON Lines (``--rows``, default 1,000,000; numbers and booleans bare in JSON, the
rest as strings, empties as ``null``), laid out like a deployment (``assets/``, ``jobs/acme/``,
``data/acme/``).

For each shape and format two variants run, each in a fresh subprocess with its own temporary
``DATIVO_HOME`` (embedded sqlite catalog):

* **dativo**: ``dativo run --no-retries --config jobs/acme/<shape>_<fmt>.yaml`` (strict
  validation, one append);
* **arrow + pyiceberg** (the target): Arrow's own CSV / JSON reader with the exact type of every
  column, then ``load_catalog(type="sql")``, ``create_table`` and ``table.append``: what a
  hand-written loader without validation, events or safety checks costs.

``--variants`` adds **arrow** (the same read, then ``pyarrow.parquet.write_table``: the floor
for reading and writing the bytes). A run's time is the wall-clock time of the whole child
(interpreter start, imports, reading, writing, commit) and its CPU time (user + system), with
its peak RSS (``os.wait4``); the package's bytecode is cached first, as an installed package's
is. Every round runs every variant of every shape and format, the
order rotating each round; the report gives medians and, per shape, the median of the per-round
ratios (the two runs of a round see about the same machine load). After every dativo and
pyiceberg run the table is read back: its current snapshot must hold exactly ``--rows``
records, or the script fails.

Usage::

    python benchmarks/ingest_throughput.py [--rows 1000000] [--repeats 3] [--markdown]
    python benchmarks/ingest_throughput.py --shapes ts_t,mixed --formats csv --repeats 5
    python benchmarks/ingest_throughput.py --shapes mixed --profile   # cProfile one dativo run

Exits non-zero only on errors (a failed run, a wrong row count), never on a ratio.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest_shapes import (
    COUNTRIES,
    CUSTOMERS,
    DOMAINS,
    FIRST_NAMES,
    LAST_NAMES,
    SHAPES,
    read_exact,
    table_schema,
    write_shape,
)

__all__ = ["ARROW_SCHEMA", "ASSET", "COUNTRIES", "DOMAINS", "FIRST_NAMES", "LAST_NAMES"]

FORMATS = ("csv", "jsonl", "parquet")
DEFAULT_FORMATS = ("csv", "jsonl")
VARIANTS = ("dativo", "iceberg", "arrow")
DEFAULT_VARIANTS = ("dativo", "iceberg")
VARIANT_LABELS = {
    "dativo": "dativo run",
    "arrow": "arrow read + parquet write",
    "iceberg": "arrow read + pyiceberg append",
}
TARGET_RATIO = 1.3
TABLE = "acme.bench"

ASSET: dict[str, Any] = {
    **CUSTOMERS.asset(),
    "version": "1.0",
    "description": "Customers of the acme shop (ingest benchmarks).",
}
"""The customers asset (also used by ``postgres_ingest.py``)."""
ARROW_SCHEMA = table_schema(CUSTOMERS)


# --------------------------------------------------------------------------- children


def child_arrow(shape: str, fmt: str, path: str, home: str) -> None:
    import pyarrow.parquet as pq

    table = read_exact(SHAPES[shape], fmt, path)
    pq.write_table(table, os.path.join(home, "out.parquet"))
    print(json.dumps({"rows": table.num_rows}))


def _catalog(home: str):
    from pyiceberg.catalog import load_catalog

    warehouse = Path(home) / "warehouse"
    warehouse.mkdir(parents=True, exist_ok=True)
    return load_catalog(
        "bench", type="sql", uri=f"sqlite:///{home}/catalog.db", warehouse=f"file://{warehouse}"
    )


def child_iceberg(shape: str, fmt: str, path: str, home: str) -> None:
    table = read_exact(SHAPES[shape], fmt, path)
    catalog = _catalog(home)
    catalog.create_namespace_if_not_exists("acme")
    iceberg = catalog.create_table(TABLE, schema=table_schema(SHAPES[shape]))
    iceberg.append(table.cast(iceberg.schema().as_arrow()))
    print(json.dumps({"rows": table.num_rows}))


def committed_rows(home: Path, catalog_name: str, table: str = "acme.customers") -> int:
    """``total-records`` of the current snapshot of ``table`` in ``home``'s catalog."""
    from pyiceberg.catalog import load_catalog

    catalog = load_catalog(
        catalog_name, type="sql", uri=f"sqlite:///{home}/catalog.db", warehouse=f"file://{home}/warehouse"
    )
    snapshot = catalog.load_table(table).current_snapshot()
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


def run_measured(cmd: list[str], env: dict[str, str], cwd: Path, log: Path) -> tuple[int, float, int]:
    """Run ``cmd``; returns (exit code, wall seconds, peak RSS in bytes) of that child alone."""
    code, seconds, rss, _ = run_measured_cpu(cmd, env, cwd, log)
    return code, seconds, rss


def run_measured_cpu(
    cmd: list[str], env: dict[str, str], cwd: Path, log: Path
) -> tuple[int, float, int, float]:
    """Like :func:`run_measured`, plus the child's CPU seconds (user + system)."""
    with open(log, "wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss is KiB on Linux, bytes on macOS
    return proc.returncode, elapsed, usage.ru_maxrss * scale, usage.ru_utime + usage.ru_stime


def command(variant: str, shape: str, fmt: str, files: dict[str, Path], home: Path) -> list[str]:
    if variant == "dativo":
        return [*dativo_command(), "run", "--no-retries", "--config", str(files[f"job_{fmt}"])]
    script = str(Path(__file__).resolve())
    return [sys.executable, script, "--child", variant, shape, fmt, str(files[f"data_{fmt}"]), str(home)]


def measure_one(
    variant: str, shape: str, fmt: str, deploy: dict[str, Any], work: Path, rows: int, index: int
) -> dict[str, Any]:
    home = work / "homes" / f"{index:04d}-{variant}-{shape}-{fmt}"
    home.mkdir(parents=True)
    env = {**os.environ, "DATIVO_HOME": str(home), "DATIVO_APP_ROOT": str(deploy["root"])}
    env.pop("DATIVO_PARSE_CACHE_DIR", None)
    log = work / "logs" / f"{index:04d}-{variant}-{shape}-{fmt}.log"
    cmd = command(variant, shape, fmt, deploy[shape], home)
    code, seconds, rss, cpu = run_measured_cpu(cmd, env, deploy["root"], log)
    if code != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{variant} ({shape}, {fmt}) exited with {code}; output:\n{tail}")
    if variant in ("dativo", "iceberg"):
        committed = committed_rows(home, "dativo" if variant == "dativo" else "bench", TABLE)
        if committed != rows:
            raise RuntimeError(
                f"{variant} ({shape}, {fmt}) committed {committed} records, expected {rows} (log: {log})"
            )
    shutil.rmtree(home, ignore_errors=True)
    log.unlink()
    return {
        "variant": variant,
        "shape": shape,
        "format": fmt,
        "seconds": seconds,
        "cpu": cpu,
        "peak_rss": rss,
    }


def compile_bytecode() -> None:
    """Cache the bytecode of the package and of this script, as ``pip install`` does: with
    ``PYTHONDONTWRITEBYTECODE`` set (or a read-only checkout) every run would otherwise compile
    the package's modules from source, a cost no installed deployment pays."""
    import compileall

    import airflow_provider_dativo

    compileall.compile_dir(Path(airflow_provider_dativo.__file__).parent, quiet=1)
    compileall.compile_dir(Path(__file__).resolve().parent, quiet=1, maxlevels=0)


def measure(
    plan: list[tuple[str, str, str]], deploy: dict[str, Any], work: Path, rows: int, repeats: int, quiet: bool
) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = []
    for round_no in range(repeats):
        # Rotate the order each round so no variant always runs first (or after the same one).
        shift = round_no * len(plan) // repeats
        for variant, shape, fmt in plan[shift:] + plan[:shift]:
            run = measure_one(variant, shape, fmt, deploy, work, rows, len(runs))
            run["round"] = round_no + 1
            runs.append(run)
            if not quiet:
                print(
                    f"round {round_no + 1}/{repeats}  {shape:<12} {fmt:<7} {variant:<8} "
                    f"{run['seconds']:6.2f} s  cpu {run['cpu']:6.2f} s  {run['peak_rss'] / 2**20:5.0f} MiB",
                    file=sys.stderr,
                )
    return runs


def profile_dativo(deploy: dict[str, Any], work: Path, shape: str, fmt: str, top: int) -> str:
    """cProfile one dativo run; returns the top functions by own time and by cumulative time."""
    import pstats
    from io import StringIO

    home = work / "homes" / f"profile-{shape}-{fmt}"
    home.mkdir(parents=True)
    out = work / f"dativo-{shape}-{fmt}.prof"
    env = {**os.environ, "DATIVO_HOME": str(home), "DATIVO_APP_ROOT": str(deploy["root"])}
    cmd = [sys.executable, "-m", "cProfile", "-o", str(out), *dativo_command()]
    if cmd[-1] == "-c":  # no console script: profiling needs a file
        raise RuntimeError("--profile needs the dativo console script (pip install -e .)")
    cmd += ["run", "--no-retries", "--config", str(deploy[shape][f"job_{fmt}"])]
    code, seconds, _ = run_measured(cmd, env, deploy["root"], work / "logs" / f"profile-{shape}-{fmt}.log")
    if code != 0:
        raise RuntimeError(f"profiled dativo run exited with {code}")
    buffer = StringIO()
    stats = pstats.Stats(str(out), stream=buffer)
    buffer.write(f"profiled dativo run ({shape}, {fmt}): {seconds:.2f} s wall under cProfile\n")
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return buffer.getvalue()


# --------------------------------------------------------------------------- report


def summarize(runs: list[dict[str, Any]], rows: int) -> list[dict[str, Any]]:
    """One row per shape, format and variant; ratios against the pyiceberg append of the same
    shape and format."""
    table = []
    keys = list(dict.fromkeys((r["shape"], r["format"]) for r in runs))
    for shape, fmt in keys:
        mine = [r for r in runs if (r["shape"], r["format"]) == (shape, fmt)]
        base = {r["round"]: r for r in mine if r["variant"] == "iceberg"}
        for variant in VARIANTS:
            own = [r for r in mine if r["variant"] == variant]
            if not own:
                continue
            seconds = [r["seconds"] for r in own]
            cpu = [r["cpu"] for r in own]
            paired = [r["seconds"] / base[r["round"]]["seconds"] for r in own if r["round"] in base]
            table.append(
                {
                    "shape": shape,
                    "format": fmt,
                    "variant": variant,
                    "rounds": len(own),
                    "median_s": statistics.median(seconds),
                    "best_s": min(seconds),
                    "cpu_s": statistics.median(cpu),
                    "rows_per_s": rows / statistics.median(seconds),
                    "peak_rss_mib": statistics.median(r["peak_rss"] for r in own) / 2**20,
                    "vs_iceberg": statistics.median(paired) if paired else float("nan"),
                    "cpu_vs_iceberg": (
                        statistics.median(cpu) / statistics.median(r["cpu"] for r in base.values())
                        if base
                        else float("nan")
                    ),
                }
            )
    return table


def format_table(summary: list[dict[str, Any]], markdown: bool) -> str:
    header = [
        "shape",
        "format",
        "variant",
        "median (s)",
        "best (s)",
        "CPU (s)",
        "peak RSS (MiB)",
        "÷ append (wall)",
        "÷ append (CPU)",
    ]
    body = []
    for row in summary:
        ratio = f"{row['vs_iceberg']:.2f}x"
        if markdown and row["variant"] == "dativo":
            ratio = f"**{ratio}**"
        body.append(
            [
                row["shape"],
                row["format"],
                VARIANT_LABELS[row["variant"]],
                f"{row['median_s']:.2f}",
                f"{row['best_s']:.2f}",
                f"{row['cpu_s']:.2f}",
                f"{row['peak_rss_mib']:.0f}",
                ratio,
                f"{row['cpu_vs_iceberg']:.2f}x",
            ]
        )
    return render_table(header, body, markdown=markdown, text_columns=3)


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

    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": str(os.cpu_count()),
        "load": " ".join(f"{x:.2f}" for x in load),
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


def _choices(text: str, allowed: tuple[str, ...] | list[str], what: str) -> list[str]:
    chosen = [x for x in text.split(",") if x]
    unknown = [x for x in chosen if x not in allowed]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"unknown {what} {unknown}; choose from {', '.join(allowed)}")
    return chosen


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = benchmark_parser(__doc__.split("\n\n")[0], child_args=5)
    parser.add_argument(
        "--shapes",
        type=lambda t: _choices(t, list(SHAPES), "shapes"),
        default=list(SHAPES),
        help=f"comma-separated shapes (default all: {','.join(SHAPES)})",
    )
    parser.add_argument(
        "--formats",
        type=lambda t: _choices(t, FORMATS, "formats"),
        default=list(DEFAULT_FORMATS),
        help="comma-separated formats: csv, jsonl, parquet (default csv,jsonl)",
    )
    parser.add_argument(
        "--variants",
        type=lambda t: _choices(t, VARIANTS, "variants"),
        default=list(DEFAULT_VARIANTS),
        help="comma-separated variants: dativo, iceberg, arrow (default dativo,iceberg)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also cProfile one dativo run per shape and format and print the top functions",
    )
    parser.add_argument("--profile-top", type=int, default=25, help="functions listed by --profile")
    parser.add_argument("--write-into", help=argparse.SUPPRESS)
    return checked_args(parser, argv)


def write_deployment(root: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Write the selected shapes in a child process (Linux counts a parent's peak RSS in the
    ``ru_maxrss`` of every child it forks later, so the generated tables must not live here)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--write-into", str(root), "--rows", str(args.rows)]
    cmd += ["--shapes", ",".join(args.shapes), "--formats", ",".join(args.formats)]
    subprocess.run(cmd, check=True)
    deploy: dict[str, Any] = {"root": root}
    for shape in args.shapes:
        deploy[shape] = {}
        for fmt in args.formats:
            deploy[shape][f"data_{fmt}"] = root / "data" / "acme" / f"{shape}.{fmt}"
            deploy[shape][f"job_{fmt}"] = root / "jobs" / "acme" / f"{shape}_{fmt}.yaml"
    return deploy


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        variant, shape, fmt, path, home = args.child
        {"arrow": child_arrow, "iceberg": child_iceberg}[variant](shape, fmt, path, home)
        return 0
    if args.write_into:
        for shape in args.shapes:
            write_shape(Path(args.write_into), SHAPES[shape], args.rows, tuple(args.formats))
        return 0

    work = Path(tempfile.mkdtemp(prefix="dativo-ingest-bench-"))
    try:
        (work / "logs").mkdir()
        started = time.perf_counter()
        deploy = write_deployment(work / "deploy", args)
        compile_bytecode()
        if not args.quiet:
            print(
                f"generated {len(args.shapes)} shapes x {len(args.formats)} formats of {args.rows:,} records "
                f"in {time.perf_counter() - started:.1f} s under {work}",
                file=sys.stderr,
            )
        plan = [(v, s, f) for s in args.shapes for f in args.formats for v in args.variants]
        runs = measure(plan, deploy, work, args.rows, args.repeats, args.quiet)
        summary = summarize(runs, args.rows)
        env = environment()
        print(
            f"{args.rows:,} records, {args.repeats} rounds; {env['date']}; {env['cpus']} CPUs, "
            f"load {env['load']} at the end; {env['machine']}; Python {env['python']}, "
            f"pyarrow {env['pyarrow']}, pyiceberg {env['pyiceberg']}"
        )
        print(format_table(summary, args.markdown))
        above = [r for r in summary if r["variant"] == "dativo" and not r["vs_iceberg"] <= TARGET_RATIO]
        print(
            f"{len(above)} of {sum(r['variant'] == 'dativo' for r in summary)} rows above the "
            f"{TARGET_RATIO}x target"
            + (": " + ", ".join(f"{r['shape']}/{r['format']}" for r in above) if above else "")
        )
        if args.json:
            Path(args.json).write_text(
                json.dumps(
                    {"environment": env, "rows": args.rows, "runs": runs, "summary": summary}, indent=2
                )
            )
        if args.profile:
            for shape in args.shapes:
                for fmt in args.formats:
                    print(profile_dativo(deploy, work, shape, fmt, args.profile_top))
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
