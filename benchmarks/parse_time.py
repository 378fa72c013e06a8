#!/usr/bin/env python
"""How long Airflow takes to parse the DAG factory, compared with plain Airflow code.

Airflow's dag-processor parses every DAG file again and again (by default every 30 s), so
the time one parse takes is paid continually. This script fills Airflow's real ``DagBag``
from two dags folders that build the *same* DAGs, for runner files of 10, 100 and 1000
schedules:

* **factory**: one file doing ``globals().update(build_dags(RUNNER_PATH))`` over a
  generated deployment (runner.yaml, one job file per schedule spread over 10 tenants, a
  shared asset) at rest: the files are older than the parse cache's racy window, so every
  parse after the first comes from the parse cache, as in a running dag-processor;
* **cold factory**: the same file with ``cache_dir="off"``: every parse reads and validates
  all the YAML (the first parse after a change, or a deployment that turns the cache off);
* **worker**: the factory file parsed with Airflow's parsing context naming one DAG (schedule
  5, the same entry and job file at every size), as a worker parses it to run one task; the
  table's *worker / smallest* compares each size with the smallest (the issue's target:
  1000 schedules within 1.3x of 10);
* **plain** (the lower bound): one file holding the per-schedule arguments as a Python
  literal and a plain ``for`` loop that builds the DAGs with ``airflow.sdk.DAG``, the
  trigger timetables, ``DativoIngestOperator``, ``DativoRetryPolicy`` and ``Asset``. It
  reads no YAML.

Before timing a size, every folder is parsed once and every DAG is serialized with
``DagSerialization.to_dict`` (without ``fileloc``/``relative_fileloc``): the script fails
unless every variant yields the same dag_ids and identical serialized DAGs.

Each measurement runs in a fresh Python subprocess. ``airflow.dag_processing.dagbag`` and
``airflow_provider_dativo.operators.ingest`` are imported before the clock starts, so only
the DagBag fill is timed (importing the factory's own modules is part of it, as in the
dag-processor, which pre-imports only ``airflow.*`` modules). The heap is then frozen
(``gc.freeze()``), as the dag-processor does before it forks a parsing process, so garbage
collection does not rescan Airflow's own objects. Bytecode is cached (under the work dir),
as it is when the dags folder is writable. Variants alternate (factory, plain, factory,
cold, plain, ...). The table shows the median wall-clock times and their ratio, and the best
run of each variant (a check on a busy machine: contention only ever adds time);
``--json`` also keeps the CPU times of every run.

Usage::

    python benchmarks/parse_time.py [--sizes 10,100,1000] [--repeats 5] [--markdown]
    python benchmarks/parse_time.py --sizes 1000 --profile   # cProfile one factory fill
    python benchmarks/parse_time.py --sizes 1000 --profile --profile-cold   # ... one cold fill

Exits non-zero only on errors (a failed parse, DAGs that differ), never on the ratio.
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

TENANTS = 10
SHARED_ASSET = "shared_events"
RESULT_MARKER = "PARSE_TIME_RESULT "
TIMEZONES = (
    "UTC",
    "America/New_York",
    "Europe/Berlin",
    "Asia/Tokyo",
    "Australia/Sydney",
    "America/Sao_Paulo",
)
SHARED_ASSET_YAML = """\
name: shared_events
fields:
  - {name: event_id, type: long, required: true}
  - {name: tenant, type: string, required: true}
  - {name: kind, type: string, enum: [view, click, buy]}
  - {name: amount, type: double, min: 0}
"""
SHARED_CSV = "event_id,tenant,kind,amount\n1,t,view,0\n2,t,buy,9.5\n"


# --------------------------------------------------------------------------- deployment


def _cron(i: int) -> str:
    patterns = (
        f"{i % 60} * * * *",
        f"{i % 60} {i % 24} * * *",
        "*/15 * * * 1-5",
        "@hourly",
        f"{i % 60} {i % 24} * * 1-5",
        "@daily",
        f"0 {i % 24} 1 * *",
    )
    return patterns[i % len(patterns)]


def schedule_entry(i: int) -> tuple[dict[str, Any], str]:
    """Schedule ``i`` of the runner file, and the job file it names (relative to ``jobs/``)."""
    tenant = f"tenant_{i % TENANTS:02d}"
    job = f"{tenant}/job_{i:05d}.yaml"
    entry: dict[str, Any] = {"name": f"{tenant}_job_{i:05d}", "config": f"../jobs/{job}"}
    if i % 3 == 2:
        entry["interval_seconds"] = 300 * (1 + i % 12)
    else:
        entry["cron"] = _cron(i)
        entry["timezone"] = TIMEZONES[i % len(TIMEZONES)]
    if i % 25 == 7:
        entry["enabled"] = False
    if i % 4 == 1:
        entry["max_concurrent_runs"] = 2
    tags: dict[str, Any] = {"environment": "production" if i % 5 else "staging"}
    if i % 2:
        tags["priority"] = "high" if i % 3 else "low"
    if i % 7 == 0:
        tags["critical"] = True
    entry["tags"] = tags
    return entry, job


def job_document(i: int) -> dict[str, Any]:
    """Job file ``i``: a CSV into its own table, the shared asset, every other one with retries."""
    doc: dict[str, Any] = {}
    if i % 5 == 0:
        doc["tenant_id"] = f"tenant_{i % TENANTS:02d}"  # the others infer it from jobs/<tenant>/
    doc["source_connector"] = "csv"
    doc["source"] = {"path": "../../data/events.csv"}
    if i % 6 == 1:
        doc["source"]["delimiter"] = ","
    doc["target"] = {"table": f"events_{i:05d}", "mode": "append"}
    doc["asset"] = SHARED_ASSET
    if i % 4 == 3:
        doc["validation"] = {"mode": "warn"}
    if i % 2 == 0:
        retry: dict[str, Any] = {
            "max_retries": 1 + i % 4,
            "initial_delay_seconds": 5 * (1 + i % 3),
            "max_delay_seconds": 600,
            "backoff_multiplier": 2.0,
            "retryable_exit_codes": [2] if i % 4 else [1, 2],
        }
        if i % 8 == 0:
            retry["retryable_error_patterns"] = ["timed out", "ConnectionError"]
        doc["retry_config"] = retry
    if i % 10 == 9:
        doc["logging"] = {"redaction": True}
    return doc


def write_deployment(root: Path, n: int) -> tuple[Path, list[str]]:
    """Runner, job, asset and data files of ``n`` schedules; returns the runner and dag_ids."""
    import yaml

    (root / "assets").mkdir(parents=True)
    (root / "assets" / f"{SHARED_ASSET}.yaml").write_text(SHARED_ASSET_YAML, encoding="utf-8")
    (root / "data").mkdir()
    (root / "data" / "events.csv").write_text(SHARED_CSV, encoding="utf-8")
    schedules = []
    for i in range(n):
        entry, job = schedule_entry(i)
        path = root / "jobs" / job
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(job_document(i), sort_keys=False), encoding="utf-8")
        schedules.append(entry)
    runner = {
        "runner": {
            "mode": "orchestrated",
            "orchestrator": {"type": "airflow", "schedules": schedules, "concurrency_per_tenant": 2},
        }
    }
    runner_path = root / "configs" / "runner.yaml"
    runner_path.parent.mkdir()
    runner_path.write_text(
        f"# {n} generated schedules (benchmarks/parse_time.py)\n" + yaml.safe_dump(runner, sort_keys=False),
        encoding="utf-8",
    )
    return runner_path, [entry["name"] for entry, _ in map(schedule_entry, range(n))]


FACTORY_DAG_FILE = '''\
"""Benchmark: the DAG factory over {n} generated schedules."""

from airflow_provider_dativo.dag_factory import build_dags

RUNNER_PATH = {runner!r}

globals().update(build_dags(RUNNER_PATH{cache_arg}))
'''

PLAIN_DAG_FILE = '''\
"""Benchmark lower bound: the same {n} DAGs as plain Airflow code, no YAML (generated)."""

from datetime import timedelta

from airflow.sdk import DAG, Asset, CronTriggerTimetable, DeltaTriggerTimetable

from airflow_provider_dativo.operators.ingest import DativoIngestOperator
from airflow_provider_dativo.retry_policy import DativoRetryPolicy

SCHEDULES = [
{literal}
]

for params in SCHEDULES:
    timing = params["timetable"]
    if timing is None:
        timetable = None
    elif timing["cron"] is not None:
        timetable = CronTriggerTimetable(timing["cron"], timezone=timing["timezone"])
    else:
        timetable = DeltaTriggerTimetable(timedelta(seconds=timing["interval_seconds"]))
    task = dict(params["task"])
    for key in ("retry_delay", "max_retry_delay"):
        if key in task:
            task[key] = timedelta(seconds=task[key])
    retry_config = params["retry_config"]
    with DAG(schedule=timetable, **params["dag"]) as dag:
        DativoIngestOperator(
            **task,
            retry_policy=DativoRetryPolicy(retry_config) if retry_config else None,
            outlets=[Asset(uri=params["asset_uri"])],
        )
    globals()[params["dag"]["dag_id"]] = dag
'''


def write_factory_dags(folder: Path, runner_path: Path, n: int, *, cache: bool = True) -> None:
    """The drop-in factory file; ``cache=False`` passes ``cache_dir="off"`` (every parse reads the YAML)."""
    folder.mkdir(parents=True)
    (folder / "dativo_factory.py").write_text(
        FACTORY_DAG_FILE.format(n=n, runner=str(runner_path), cache_arg="" if cache else ', cache_dir="off"'),
        encoding="utf-8",
    )


def age_files(root: Path, seconds: int = 3600) -> None:
    """Backdate a generated deployment: deployed files are at rest, and the parse cache does not
    trust files modified during the last seconds."""
    past = time.time() - seconds
    for path in root.rglob("*"):
        os.utime(path, (past, past))


def write_plain_dags(folder: Path, runner_path: Path, n: int) -> None:
    """The per-schedule arguments the factory would use, written out as a literal (as ``dativo export``)."""
    from datetime import timedelta

    from airflow_provider_dativo.dag_factory.args import ingest_dag_args
    from airflow_provider_dativo.plan.runner import load_runner

    plan = load_runner(runner_path, app_root=None)
    if plan.failures:
        raise BenchmarkError(f"the generated runner has broken schedules: {plan.problems[:3]}")
    rows = []
    for spec in plan.specs:
        args = ingest_dag_args(spec, app_root=None)
        timing = args.timetable
        row = {
            "dag": args.dag,
            "timetable": None
            if timing is None
            else {
                "cron": timing.cron,
                "timezone": timing.timezone,
                "interval_seconds": timing.interval_seconds,
            },
            "task": {k: v.total_seconds() if isinstance(v, timedelta) else v for k, v in args.task.items()},
            "retry_config": args.retry_config,
            "asset_uri": args.asset_uri,
        }
        rows.append(f"    {row!r},")
    folder.mkdir(parents=True)
    (folder / "dativo_plain.py").write_text(
        PLAIN_DAG_FILE.format(n=n, literal="\n".join(rows)), encoding="utf-8"
    )


# --------------------------------------------------------------------------- subprocesses


class BenchmarkError(Exception):
    """A parse failed, or the two variants do not build the same DAGs."""


def child_env(work: Path, *, bytecode_cache: bool = True) -> dict[str, str]:
    """The environment of every subprocess: a throw-away AIRFLOW_HOME, no examples, no dativo settings.

    With ``bytecode_cache`` (the default, and the dag-processor's steady state when the dags
    folder is writable) compiled bytecode of every module, the DAG files included, is cached
    under the work dir (``PYTHONPYCACHEPREFIX``), so nothing is written next to the sources.
    """
    env = dict(os.environ)
    for key in (
        "DATIVO_RUNNER_CONFIG",
        "DATIVO_APP_ROOT",
        "AIRFLOW__DATIVO__RUNNER_CONFIG",
        "AIRFLOW__DATIVO__APP_ROOT",
        PARSING_CONTEXT,
    ):
        env.pop(key, None)
    env["AIRFLOW_HOME"] = str(work / "airflow-home")
    env["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    if bytecode_cache:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_child(args: list[str], env: dict[str, str], cwd: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    results = [
        line[len(RESULT_MARKER) :] for line in proc.stdout.splitlines() if line.startswith(RESULT_MARKER)
    ]
    if proc.returncode != 0 or not results:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-40:])
        raise BenchmarkError(f"subprocess {' '.join(args)} failed (exit {proc.returncode}):\n{tail}")
    return json.loads(results[-1])


def _report(data: dict[str, Any]) -> None:
    print(RESULT_MARKER + json.dumps(data), flush=True)


def _fill(folder: str, expect: int):
    """Fill a DagBag (imports done beforehand); returns (wall seconds, CPU seconds, bag)."""
    from airflow.dag_processing.dagbag import DagBag

    start, start_cpu = time.perf_counter(), time.process_time()
    bag = DagBag(dag_folder=folder, safe_mode=False)
    seconds, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    if bag.import_errors:
        raise BenchmarkError(f"import errors in {folder}: {bag.import_errors}")
    if len(bag.dags) != expect:
        raise BenchmarkError(f"{folder}: expected {expect} DAGs, the DagBag holds {len(bag.dags)}")
    return seconds, cpu, bag


def _preimport() -> None:
    """Imports not timed; then freeze the heap, as the dag-processor does before it forks a parser."""
    import gc

    import airflow.dag_processing.dagbag  # noqa: F401

    import airflow_provider_dativo.operators.ingest  # noqa: F401

    gc.collect()
    gc.freeze()


def child_fill(folder: str, expect: int) -> None:
    _preimport()
    seconds, cpu, bag = _fill(folder, expect)
    _report({"seconds": seconds, "cpu": cpu, "dags": len(bag.dags)})


def child_profile(folder: str, expect: int, top: int) -> None:
    import cProfile
    import pstats

    _preimport()
    profiler = cProfile.Profile()
    profiler.enable()
    seconds, _, _ = _fill(folder, expect)
    profiler.disable()
    stats = pstats.Stats(profiler, stream=sys.stderr)
    print(f"one fill under cProfile: {seconds:.3f}s", file=sys.stderr)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    _report({"seconds": seconds})


def _first_difference(a: Any, b: Any, path: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            if key not in a or key not in b:
                return f"{path}.{key}: only in {'factory' if key in a else 'plain'}"
            if a[key] != b[key]:
                return _first_difference(a[key], b[key], f"{path}.{key}")
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return _first_difference(x, y, f"{path}[{i}]")
    return f"{path}: factory {a!r} != plain {b!r}"[:2000]


def child_verify(factory: str, plain: str, ids_file: str) -> None:
    """Both folders hold the expected dag_ids and serialize to identical DAGs."""
    from airflow.serialization.serialized_objects import DagSerialization

    _preimport()
    expected = set(json.loads(Path(ids_file).read_text(encoding="utf-8")))
    *_, factory_bag = _fill(factory, len(expected))
    *_, plain_bag = _fill(plain, len(expected))

    def comparable(dag) -> dict:
        data = DagSerialization.to_dict(dag)
        for key in ("fileloc", "relative_fileloc"):
            data["dag"].pop(key, None)
        return data

    problems = []
    for name, bag in (("factory", factory_bag), ("plain", plain_bag)):
        if set(bag.dag_ids) != expected:
            problems.append(
                f"{name} dag_ids differ from the schedules: {sorted(set(bag.dag_ids) ^ expected)[:10]}"
            )
    for dag_id in sorted(expected & set(factory_bag.dag_ids) & set(plain_bag.dag_ids)):
        a, b = comparable(factory_bag.dags[dag_id]), comparable(plain_bag.dags[dag_id])
        if a != b:
            problems.append(f"{dag_id}: serialized DAGs differ at {_first_difference(a, b)}")
        # Retry policies are rebuilt from the DAG file on the worker, never serialized: compare them here.
        policies = [
            {t.task_id: getattr(t, "retry_policy", None) for t in bag.dags[dag_id].tasks}
            for bag in (factory_bag, plain_bag)
        ]
        if policies[0] != policies[1]:
            problems.append(f"{dag_id}: retry policies differ: {policies[0]!r} (factory) != {policies[1]!r}")
    if problems:
        raise BenchmarkError("the variants do not build the same DAGs:\n  " + "\n  ".join(problems[:10]))
    _report({"dags": len(expected), "identical": True})


# --------------------------------------------------------------------------- driver


WORKER_SCHEDULE = 5
"""The schedule a worker parses the file for: index 5 has the same entry and job file at every
size (both depend on the index only), so sizes compare the same DAG."""
PARSING_CONTEXT = "_AIRFLOW_PARSING_CONTEXT_DAG_ID"
"""What Airflow's task runner sets before it parses the DAG file for one task
(``airflow.sdk.get_parsing_context().dag_id``)."""
VARIANTS = ("factory", "cold", "plain", "worker")


def worker_dag_id() -> str:
    return schedule_entry(WORKER_SCHEDULE)[0]["name"]


def worker_env(env: dict[str, str]) -> dict[str, str]:
    """A worker's parse: the parsing context names one DAG."""
    return {**env, PARSING_CONTEXT: worker_dag_id()}


def child_verify_worker(factory: str, plain: str) -> None:
    """With the parsing context set, the factory file yields that one DAG, identical to plain's."""
    from airflow.serialization.serialized_objects import DagSerialization

    dag_id = os.environ[PARSING_CONTEXT]
    _preimport()
    *_, worker_bag = _fill(factory, 1)
    os.environ.pop(PARSING_CONTEXT)
    plain_bag = _fill_any(plain)
    if list(worker_bag.dag_ids) != [dag_id]:
        raise BenchmarkError(f"the worker parse built {sorted(worker_bag.dag_ids)[:5]}, not [{dag_id}]")

    def comparable(dag) -> dict:
        data = DagSerialization.to_dict(dag)
        for key in ("fileloc", "relative_fileloc"):
            data["dag"].pop(key, None)
        return data

    a, b = comparable(worker_bag.dags[dag_id]), comparable(plain_bag.dags[dag_id])
    if a != b:
        raise BenchmarkError(f"{dag_id}: the worker's DAG differs at {_first_difference(a, b)}")
    _report({"dags": 1, "identical": True})


def _fill_any(folder: str):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=folder, safe_mode=False)


def prepare(n: int, work: Path, env: dict[str, str], *, progress: bool) -> dict[str, Path]:
    """Write the deployment and the dags folders of one size; check every variant builds the same DAGs."""
    root = work / f"n{n}"
    runner_path, dag_ids = write_deployment(root / "deployment", n)
    age_files(root / "deployment")
    factory, cold, plain = root / "dags_factory", root / "dags_cold", root / "dags_plain"
    write_factory_dags(factory, runner_path, n)
    write_factory_dags(cold, runner_path, n, cache=False)
    write_plain_dags(plain, runner_path, n)
    ids_file = root / "dag_ids.json"
    ids_file.write_text(json.dumps(dag_ids), encoding="utf-8")
    # Also the warm-up: from here on the bytecode of the DAG files is cached, and the first
    # factory fill writes the parse cache, so the second one compares cached DAGs.
    for folder in (cold, factory, factory):
        run_child(["--child", "verify", str(folder), str(plain), str(ids_file)], env, root)
    run_child(["--child", "verify-worker", str(factory), str(plain)], worker_env(env), root)
    if progress:
        print(
            f"[{n:>5} schedules] all variants build the same {n} DAGs (serialized, compared); "
            f"the worker parse builds {worker_dag_id()} alone, the same",
            file=sys.stderr,
        )
    # the worker parses the drop-in file (parse cache on): with a parsing context it is not used
    return {"factory": factory, "cold": cold, "plain": plain, "worker": factory, "root": root}


def measure(
    sizes: list[int], repeats: int, work: Path, env: dict[str, str], *, progress: bool
) -> list[dict[str, Any]]:
    """Every round runs every variant of every size in turn, so that a change of load on a
    shared machine hits the sizes alike (the worker's 1000 / 10 ratio compares sizes)."""
    folders = {n: prepare(n, work, env, progress=progress) for n in sizes}
    runs: dict[int, dict[str, list[dict[str, float]]]] = {n: {v: [] for v in VARIANTS} for n in sizes}
    for r in range(repeats):
        for n in sizes:
            for variant in VARIANTS:
                child_env = worker_env(env) if variant == "worker" else env
                expect = 1 if variant == "worker" else n
                runs[n][variant].append(
                    run_child(
                        ["--child", "fill", str(folders[n][variant]), str(expect)],
                        child_env,
                        folders[n]["root"],
                    )
                )
            if progress:
                last = {v: runs[n][v][-1]["seconds"] for v in VARIANTS}
                print(
                    f"[{n:>5} schedules] round {r + 1}/{repeats}: "
                    + ", ".join(f"{v} {last[v]:.3f}s" for v in VARIANTS),
                    file=sys.stderr,
                )
    rows = []
    for n in sizes:
        row: dict[str, Any] = {"schedules": n, "rounds": repeats}
        for variant in VARIANTS:
            for metric in ("seconds", "cpu"):
                row[f"{variant}_{metric}"] = statistics.median(run[metric] for run in runs[n][variant])
            row[f"{variant}_best"] = min(run["seconds"] for run in runs[n][variant])
            row[f"{variant}_runs"] = [{k: round(v, 4) for k, v in run.items()} for run in runs[n][variant]]
        row["ratio"] = row["factory_seconds"] / row["plain_seconds"]
        row["cold_ratio"] = row["cold_seconds"] / row["plain_seconds"]
        row["cpu_ratio"] = row["factory_cpu"] / row["plain_cpu"]
        row["best_ratio"] = row["factory_best"] / row["plain_best"]
        rows.append(row)
    smallest = rows[0]
    for row in rows:
        row["worker_ratio"] = row["worker_seconds"] / smallest["worker_seconds"]
    return rows


def environment() -> dict[str, str]:
    return {
        "date": dt.date.today().isoformat(),
        "cpus": str(os.cpu_count()),
        "machine": f"{platform.system()} {platform.machine()}",
        "python": platform.python_version(),
        "airflow": metadata.version("apache-airflow"),
        "load": "/".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def format_table(rows: list[dict[str, Any]], markdown: bool) -> str:
    """Medians (the headline) and, as a check on a busy machine, the best run of each variant."""
    head = [
        "schedules",
        "rounds",
        "factory median (s)",
        "cold factory median (s)",
        "plain median (s)",
        "factory / plain",
        "cold / plain",
        "best / best",
        "worker median (s)",
        "worker / smallest",
    ]
    body = [
        [
            str(r["schedules"]),
            str(r["rounds"]),
            f"{r['factory_seconds']:.3f}",
            f"{r['cold_seconds']:.3f}",
            f"{r['plain_seconds']:.3f}",
            f"{r['ratio']:.2f}x",
            f"{r['cold_ratio']:.2f}x",
            f"{r['best_ratio']:.2f}x",
            f"{r['worker_seconds']:.3f}",
            f"{r['worker_ratio']:.2f}x",
        ]
        for r in rows
    ]
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---:" for _ in head) + "|"]
        lines += ["| " + " | ".join(cells) + " |" for cells in body]
        return "\n".join(lines)
    widths = [max(len(h), *(len(c[i]) for c in body)) for i, h in enumerate(head)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True))

    return "\n".join([line(head), line(["-" * w for w in widths]), *(line(cells) for cells in body)])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default="10,100,1000", help="schedules per runner file (default: 10,100,1000)"
    )
    parser.add_argument(
        "--repeats", type=int, default=5, help="rounds (factory then plain) per size (default: 5)"
    )
    parser.add_argument("--markdown", action="store_true", help="print the table as markdown")
    parser.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="compile the DAG files at every parse (PYTHONDONTWRITEBYTECODE=1): a read-only dags folder",
    )
    parser.add_argument("--json", metavar="FILE", help="also write every run's times to FILE")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.add_argument(
        "--keep", action="store_true", help="keep the generated files (path printed on stderr)"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="instead of timing, cProfile one factory fill at the largest size (stats on stderr)",
    )
    parser.add_argument(
        "--profile-cold",
        action="store_true",
        help="with --profile: profile the cold factory (cache_dir='off': every YAML file read and validated)",
    )
    parser.add_argument(
        "--profile-top", type=int, default=40, help="rows of each profile listing (default: 40)"
    )
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error("--sizes takes comma-separated integers, e.g. 10,100,1000")
    if not args.sizes or min(args.sizes) < 1 or args.repeats < 1:
        parser.error("sizes and repeats must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.child:
            kind, *rest = args.child
            if kind == "fill":
                child_fill(rest[0], int(rest[1]))
            elif kind == "verify":
                child_verify(*rest)
            elif kind == "verify-worker":
                child_verify_worker(*rest)
            elif kind == "profile":
                child_profile(rest[0], int(rest[1]), int(rest[2]))
            else:
                raise BenchmarkError(f"unknown child {kind!r}")
            return 0

        work = Path(tempfile.mkdtemp(prefix="dativo-parse-time-"))
        env = child_env(work, bytecode_cache=not args.no_bytecode_cache)
        # The package's config loader (used to write the plain variant) runs in this process too.
        for key in set(os.environ) - set(env):
            del os.environ[key]
        os.environ.update(env)
        try:
            if args.profile:
                n = max(args.sizes)
                root = work / f"n{n}"
                runner_path, _ = write_deployment(root / "deployment", n)
                write_factory_dags(root / "dags_factory", runner_path, n, cache=not args.profile_cold)
                # warm-up: fills the parse cache (the cold factory ignores it) and the bytecode cache
                run_child(["--child", "fill", str(root / "dags_factory"), str(n)], env, root)
                proc = subprocess.run(
                    [
                        sys.executable,
                        str(Path(__file__).resolve()),
                        "--child",
                        "profile",
                        str(root / "dags_factory"),
                        str(n),
                        str(args.profile_top),
                    ],
                    env=env,
                    cwd=root,
                    check=False,
                )
                return proc.returncode

            info = environment()
            if not args.quiet:
                print(
                    f"{info['date']}: {info['cpus']} CPUs, {info['machine']}, Python {info['python']}, "
                    f"Airflow {info['airflow']}, load average {info['load']}; work dir {work}",
                    file=sys.stderr,
                )
            rows = measure(args.sizes, args.repeats, work, env, progress=not args.quiet)
        finally:
            if args.keep:
                print(f"generated files kept in {work}", file=sys.stderr)
            else:
                shutil.rmtree(work, ignore_errors=True)
    except BenchmarkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

    if args.json:
        Path(args.json).write_text(
            json.dumps({"environment": info, "rows": rows}, indent=2), encoding="utf-8"
        )
    print(
        f"DagBag fill time, median of {args.repeats} rounds ({info['date']}, {info['cpus']} CPUs, "
        f"Python {info['python']}, Airflow {info['airflow']}, load average before the run {info['load']})"
    )
    print()
    print(format_table(rows, args.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
