"""``dativo maintain``: compact, expire snapshots and remove orphan files of a job's table.

The job file is loaded the way ``dativo run`` loads it (its tenant, confinement and namespace
checks included), so a job file that may not write a namespace cannot maintain it either. The
settings come from the job's ``target.maintenance`` (their defaults without one); the flags
choose the steps, all three when none is named. Prints one JSON summary line on stdout and
exits 0 (done, or nothing to do) or 2 (invalid job, or a step failed).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from airflow_provider_dativo.config.errors import DativoConfigError
from airflow_provider_dativo.outcomes import EXIT_FAILURE, EXIT_SUCCESS
from airflow_provider_dativo.settings import resolve_app_root


def add_maintain_parser(
    sub: argparse._SubParsersAction, add_app_root: Callable[[argparse.ArgumentParser], None]
) -> None:
    maintain = sub.add_parser(
        "maintain",
        help="compact, expire snapshots and remove orphan files of a job's table (all three by default)",
    )
    maintain.add_argument("--config", required=True, help="job YAML whose target table is maintained")
    maintain.add_argument("--compact", action="store_true", help="rewrite small files into bigger ones")
    maintain.add_argument("--expire-snapshots", action="store_true", help="expire old snapshots")
    maintain.add_argument("--remove-orphans", action="store_true", help="delete unreferenced old files")
    maintain.add_argument(
        "--dativo-home", default=None, help="home of the embedded catalog (default: DATIVO_HOME)"
    )
    maintain.add_argument(
        "--runner", default=None, help="runner.yaml whose runner.tenants grant the job's tenant more folders"
    )
    add_app_root(maintain)


def cmd_maintain(args: argparse.Namespace) -> int:
    from airflow_provider_dativo.config.confinement import granted_roots
    from airflow_provider_dativo.config.loader import load_job

    summary: dict[str, Any] = {"event": "maintenance", "config": args.config}
    started = time.monotonic()
    try:
        app_root = resolve_app_root(args.app_root)
        job = load_job(args.config, app_root=app_root, allowed_roots=granted_roots(args.runner, app_root))
    except DativoConfigError as exc:
        summary.update(
            status="failed",
            error_type="ConfigError",
            error=f"invalid job configuration: {exc.problems[0] if exc.problems else exc}",
            problems=[str(p) for p in exc.problems],
        )
        return _report(summary, EXIT_FAILURE)
    summary["tenant_id"] = job.tenant_id
    return _report(summary, run_maintenance(job, args, summary), started)


def run_maintenance(job: Any, args: argparse.Namespace, summary: dict[str, Any]) -> int:
    """Run the chosen steps on the job's table, filling ``summary``; returns the exit code."""
    from airflow_provider_dativo.engine.iceberg.maintenance import MaintenanceSteps, maintain_job_table

    chosen = (args.compact, args.expire_snapshots, args.remove_orphans)
    everything = not any(chosen)
    steps = MaintenanceSteps.for_job(
        job.config.target.maintenance,
        compact=everything or args.compact,
        expire=everything or args.expire_snapshots,
        remove_orphans=everything or args.remove_orphans,
    )
    try:
        summary.update(maintain_job_table(job, steps, args.dativo_home))
    except Exception as exc:  # one line that says what failed, never a traceback on stdout
        summary.update(status="failed", error_type=type(exc).__name__, error=str(exc))
        return EXIT_FAILURE
    summary["status"] = "success"
    return EXIT_SUCCESS


def _report(summary: dict[str, Any], code: int, started: float | None = None) -> int:
    if started is not None:
        summary["duration_seconds"] = round(time.monotonic() - started, 3)
    summary["exit_code"] = code
    print(json.dumps(summary, default=str, sort_keys=True))
    if code != EXIT_SUCCESS:
        print(f"dativo maintain: {summary.get('error')}", file=sys.stderr)
    return code
