"""The ``dativo`` console script: run, maintain, validate, pools, export, workflow plan|run, report.

Commands print machine-readable output on stdout (JSON events, pools JSON) and human
messages on stderr, and exit 0 (success), 1 (partial) or 2 (failure / invalid input).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from airflow_provider_dativo.cli.maintain import add_maintain_parser, cmd_maintain
from airflow_provider_dativo.cli.report import add_report_parser, cmd_report
from airflow_provider_dativo.cli.workflow import add_workflow_parser, cmd_workflow
from airflow_provider_dativo.config.errors import ConfigProblem, DativoConfigError
from airflow_provider_dativo.outcomes import EXIT_FAILURE
from airflow_provider_dativo.outcomes import EXIT_SUCCESS as EXIT_OK
from airflow_provider_dativo.settings import resolve_app_root

if TYPE_CHECKING:
    from airflow_provider_dativo.config.loader import ResolvedJob


def _add_app_root(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--app-root",
        default=None,
        help="folder that replaces /app/ in paths (default: DATIVO_APP_ROOT, else [dativo] app_root)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dativo", description="dativo ingestion on Apache Airflow")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser(
        "run", help="run one job, retrying per its retry_config (exit 0 success, 1 partial, 2 failure)"
    )
    run.add_argument("--config", required=True, help="job YAML")
    run.add_argument("--mode", default="self_hosted", choices=["self_hosted"], help="execution mode")
    run.add_argument("--job-name", default=None, help="name in events and metrics (default: the file's stem)")
    run.add_argument("--run-id", default=None, help="run id recorded with the commit (default: generated)")
    run.add_argument(
        "--dativo-home", default=None, help="home of the embedded catalog (default: DATIVO_HOME)"
    )
    run.add_argument(
        "--runner",
        default=None,
        help="runner.yaml whose runner.tenants.<tenant>.allowed_roots grant the job's tenant more folders",
    )
    run.add_argument(
        "--no-retries",
        action="store_true",
        help="run the job once, ignoring its retry_config (the exit code is that try's)",
    )
    _add_app_root(run)
    add_maintain_parser(sub, _add_app_root)

    validate = sub.add_parser("validate", help="check a runner file and every file it references")
    validate.add_argument("path", help="runner.yaml (or a single job or workflow YAML)")
    _add_app_root(validate)

    pools = sub.add_parser("pools", help="print the tenant pools as JSON for `airflow pools import`")
    pools.add_argument("runner_config", help="runner.yaml")
    _add_app_root(pools)

    export = sub.add_parser("export", help="write one static DAG file per schedule")
    export.add_argument("runner_config", help="runner.yaml")
    export.add_argument("--out", required=True, help="folder for the DAG files")
    _add_app_root(export)
    add_workflow_parser(sub, _add_app_root)
    add_report_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = {
        "run": cmd_run,
        "maintain": cmd_maintain,
        "validate": cmd_validate,
        "pools": cmd_pools,
        "export": cmd_export,
        "workflow": cmd_workflow,
        "report": cmd_report,
    }[args.command]
    try:
        return handler(args)
    except DativoConfigError as exc:
        for problem in exc.problems:
            print(problem)
        return EXIT_FAILURE


def cmd_run(args: argparse.Namespace) -> int:
    """Run a job in this process, retrying it per its ``retry_config`` (no orchestrator will),
    and exit with the final try's exit code. Every try shares one run id."""
    import uuid

    from airflow_provider_dativo.config.confinement import granted_roots
    from airflow_provider_dativo.config.loader import load_job
    from airflow_provider_dativo.engine.errors import ConfigError
    from airflow_provider_dativo.engine.events import EventEmitter
    from airflow_provider_dativo.engine.oneshot import run_with_retries
    from airflow_provider_dativo.engine.run import run_job

    job_name = args.job_name or Path(args.config).stem
    run_id = args.run_id or f"cli/{uuid.uuid4()}"
    try:
        app_root = resolve_app_root(args.app_root)
        grants = granted_roots(args.runner, app_root)
        job = load_job(args.config, app_root=app_root, allowed_roots=grants)
    except DativoConfigError as exc:
        # Still one JSON object per line: log shippers must see why the job never started.
        EventEmitter(job_name=job_name, tenant_id=None, run_id=run_id, stream=sys.stdout).emit(
            "job_error",
            level="ERROR",
            message=f"invalid job configuration: {exc.problems[0] if exc.problems else exc}",
            exit_code=EXIT_FAILURE,
            error=str(exc),
            error_type=ConfigError.error_type,
            problems=[str(p) for p in exc.problems],
        )
        return EXIT_FAILURE
    emitter = EventEmitter(job_name=job_name, tenant_id=job.tenant_id, run_id=run_id, stream=sys.stdout)
    run = run_job if args.no_retries else run_with_retries
    result = run(job, job_name=job_name, run_id=run_id, emitter=emitter, dativo_home=args.dativo_home)
    return result.exit_code


def collect_problems(path: Path, app_root: str | None) -> tuple[list[ConfigProblem], int]:
    """Every problem of a runner file (or job file) and the files it references."""
    from airflow_provider_dativo.config.connectors import recipe_problems
    from airflow_provider_dativo.config.loader import load_asset, load_job, target_problems
    from airflow_provider_dativo.config.yaml_source import read_yaml
    from airflow_provider_dativo.plan.runner import load_runner

    data = read_yaml(path)
    if isinstance(data, dict) and "runner" not in data and "source_connector" in data:
        job = load_job(path, app_root=app_root)
        problems = source_problems(job)
        try:
            problems.extend(target_problems(job, load_asset(job)))
        except DativoConfigError as exc:
            problems.extend(exc.problems)
        return problems + recipe_problems(job), 1
    if isinstance(data, dict) and "runner" not in data and "tasks" in data:
        from airflow_provider_dativo.workflows.loader import load_workflow_file

        load_workflow_file(path, app_root=app_root)  # a DAG-of-workflows file
        return [], 1
    plan = load_runner(path, app_root=app_root)
    problems = list(plan.problems)
    checked: set[Path] = set()
    for spec in plan.specs:
        # the files the job would read now, and the connector recipe (connectors/<name>.yaml)
        # with the settings it gives the job
        problems.extend(p for p in source_problems(spec.job) if p not in problems)
        problems.extend(p for p in recipe_problems(spec.job) if p not in problems)
        first_use = spec.job.asset_path not in checked
        checked.add(spec.job.asset_path)
        try:
            problems.extend(p for p in target_problems(spec.job, load_asset(spec.job)) if p not in problems)
        except DativoConfigError as exc:
            if not first_use:
                continue
            problems.append(
                ConfigProblem(
                    str(spec.job.path),
                    None,
                    "asset",
                    f"asset {spec.job.config.asset!r} is invalid (see below)",
                )
                if spec.job.asset_path.exists()
                else ConfigProblem(
                    str(spec.job.path), None, "asset", f"asset file {spec.job.asset_path} does not exist"
                )
            )
            if spec.job.asset_path.exists():
                problems.extend(exc.problems)
    return problems, len(plan.specs) + len(plan.workflows) + len(plan.failures)


def source_problems(job: ResolvedJob) -> list[ConfigProblem]:
    """The source files a job would read now, globs expanded and symlinks resolved, that its
    tenant may not read."""
    from airflow_provider_dativo.config.confinement import source_file_problems

    if job.confinement is None:
        return []
    return source_file_problems(job.confinement, job.source_path)


def cmd_validate(args: argparse.Namespace) -> int:
    path = Path(args.path)
    problems, count = collect_problems(path, resolve_app_root(args.app_root))
    for problem in problems:
        print(problem)
    if problems:
        print(f"{path}: {len(problems)} problem(s)", file=sys.stderr)
        return EXIT_FAILURE
    print(f"{path}: valid ({count} schedule(s) or job(s) checked)", file=sys.stderr)
    return EXIT_OK


def cmd_pools(args: argparse.Namespace) -> int:
    from airflow_provider_dativo.cli.pools import pools_export
    from airflow_provider_dativo.plan.runner import load_runner

    plan = load_runner(args.runner_config, app_root=resolve_app_root(args.app_root))
    print(json.dumps(pools_export(plan), indent=2, sort_keys=True))
    for problem in plan.problems:
        print(f"warning: {problem}", file=sys.stderr)
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from airflow_provider_dativo.dag_factory.export import export_dags
    from airflow_provider_dativo.plan.runner import load_runner

    app_root = resolve_app_root(args.app_root)
    plan = load_runner(args.runner_config, app_root=app_root)
    if plan.problems:
        for problem in plan.problems:
            print(problem)
        print("nothing exported: fix the problems above first", file=sys.stderr)
        return EXIT_FAILURE
    for written in export_dags(plan, Path(args.out), app_root=app_root):
        print(written, file=sys.stderr)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
