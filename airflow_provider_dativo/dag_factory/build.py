"""Build one Airflow DAG per schedule of a dativo ``runner.yaml``.

Usage in a DAG file (this is all of ``dags/dativo_dags.py``)::

    from airflow_provider_dativo.dag_factory import build_dags

    globals().update(build_dags())

Parsing reads the runner file and the job and workflow files it names (and the workflow
modules those import), and nothing else: no catalog, no network, no metadata database.
Schedules with ``dag:`` become DAG-of-workflows DAGs (:mod:`airflow_provider_dativo.workflows`).
A job with ``target.maintenance`` also gets a ``<schedule>__maintenance`` DAG (:mod:`.maintenance_args`).
A broken schedule becomes a placeholder DAG tagged ``dativo:config-error`` whose description
names the schedule, file, line and field, so it never hides the healthy schedules.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from airflow.sdk import DAG, Asset, CronTriggerTimetable, DeltaTriggerTimetable, get_parsing_context

from airflow_provider_dativo.dag_factory.args import IngestDagArgs, TimetableArgs, ingest_dag_args
from airflow_provider_dativo.dag_factory.cache import DagArguments, ParseCache
from airflow_provider_dativo.dag_factory.config_error import (
    CONFIG_ERROR_TASK_ID,
    build_failure_dag_args,
    config_error_dag_args,
    config_error_dag_id,
)
from airflow_provider_dativo.dag_factory.maintenance_args import MaintenanceDagArgs, maintenance_dag_args
from airflow_provider_dativo.dag_factory.workflow_args import WorkflowDagArgs, schedule_dag_args
from airflow_provider_dativo.freshness.deadline import freshness_deadline
from airflow_provider_dativo.operators.config_error import DativoConfigErrorOperator
from airflow_provider_dativo.operators.ingest import DativoIngestOperator
from airflow_provider_dativo.operators.maintenance import DativoMaintenanceOperator
from airflow_provider_dativo.operators.workflow import DativoWorkflowOperator
from airflow_provider_dativo.retry_policy import DativoRetryPolicy
from airflow_provider_dativo.settings import (
    airflow_dag_defaults,
    parse_cache_dir,
    resolve_app_root,
    resolve_runner_path,
)

if TYPE_CHECKING:
    from airflow_provider_dativo.plan.runner import RunnerPlan, ScheduleFailure, ScheduleSpec

T = TypeVar("T")


def build_dags(
    runner_config: str | os.PathLike[str] | None = None,
    *,
    app_root: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> dict[str, DAG]:
    """Return ``{dag_id: DAG}`` for every schedule of the runner file.

    Raises :class:`DativoConfigError` only when the runner file itself cannot be used
    (missing, not YAML, wrong top-level keys); Airflow then shows it as an import error.

    Re-parses of unchanged files come from the parse cache (see
    :mod:`airflow_provider_dativo.dag_factory.cache`); ``cache_dir`` overrides its folder and
    ``cache_dir="off"`` turns it off.

    When Airflow parses the file to run one task (its parsing context names a dag_id, as on a
    worker), only that DAG is built and only its own files are read
    (:mod:`airflow_provider_dativo.plan.one_schedule`).
    """
    root = resolve_app_root(app_root)
    runner_path = resolve_runner_path(runner_config)
    with cyclic_gc_paused():
        return _build_dags(runner_path, root, cache_dir)


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while the factory builds, and restore it after.

    A parse allocates a few hundred thousand container objects (YAML nodes, configuration
    models, DAGs and operators) that either live on (the DAGs) or are freed by reference
    counting as soon as a file is read. The cyclic collector finds no garbage among them, but
    its generational collections walk them again and again while they pile up: up to a sixth
    of a cold 1000-schedule parse (docs/performance.md). Reference counting still frees memory
    meanwhile; cycles left behind (if any) are collected once the collector runs again.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _build_dags(
    runner_path: Path, root: str | None, cache_dir: str | os.PathLike[str] | None
) -> dict[str, DAG]:
    wanted = get_parsing_context().dag_id
    if wanted:
        dags = _one_dag(wanted, runner_path, root)
        if dags is not None:
            return dags
    folder = parse_cache_dir(cache_dir)
    cache = ParseCache(folder, runner_path, root) if folder else None
    arguments = cache.load() if cache else None
    if arguments is None:
        started = time.time_ns()
        from airflow_provider_dativo.plan.runner import load_runner  # only when the cache misses

        plan = load_runner(runner_path, app_root=root)
        arguments = dag_arguments(plan, app_root=root)
        if cache:
            cache.store(arguments, plan.job_paths, parse_started_ns=started)
    return dags_from_arguments(arguments)


def _one_dag(dag_id: str, runner_path: Path, app_root: str | None) -> dict[str, DAG] | None:
    """A worker parses the file to run one task of ``dag_id``: build only that DAG, from the
    runner file and that schedule's own files (no parse cache: it would be built for all).
    ``None`` when the schedules that could be ``dag_id`` do not yield it: parse everything."""
    from airflow_provider_dativo.plan.one_schedule import load_one_dag

    plan = load_one_dag(runner_path, dag_id, app_root=app_root)
    dag = dags_from_plan(plan, app_root=app_root).get(dag_id)
    return None if dag is None else {dag_id: dag}


def dag_arguments(plan: RunnerPlan, *, app_root: str | None) -> DagArguments:
    """The plain-data arguments of every DAG a runner plan yields (healthy ones first)."""
    arguments = DagArguments(
        ingest=[ingest_dag_args(spec, app_root=app_root) for spec in plan.specs],
        workflows=[schedule_dag_args(spec) for spec in plan.workflows],
    )
    taken = {spec.schedule.name for spec in plan.specs} | {spec.schedule.name for spec in plan.workflows}
    failures = list(plan.failures)
    for spec in plan.specs:
        maintenance = maintenance_dag_args(spec, app_root=app_root)
        if maintenance is None:
            continue
        if maintenance.dag["dag_id"] in taken:
            failures.append(maintenance_name_taken(plan, spec, maintenance.dag["dag_id"]))
            continue
        taken.add(maintenance.dag["dag_id"])
        arguments.maintenance.append(maintenance)
    for failure in failures:
        dag_id = config_error_dag_id(failure, taken)
        taken.add(dag_id)
        arguments.config_errors.append(config_error_dag_args(failure, dag_id))
    return arguments


def maintenance_name_taken(plan: RunnerPlan, spec: ScheduleSpec, dag_id: str) -> ScheduleFailure:
    """The failure shown when another schedule is already named like this one's maintenance DAG."""
    from airflow_provider_dativo.config.errors import ConfigProblem
    from airflow_provider_dativo.plan.runner import ScheduleFailure

    problem = ConfigProblem(
        str(plan.path),
        None,
        f"runner.orchestrator.schedules[{spec.index}].name",
        f"schedule {spec.schedule.name!r}: its job has target.maintenance, whose DAG {dag_id!r} would take "
        "the name of another schedule; rename one of them",
    )
    return ScheduleFailure(spec.index, dag_id, [problem])


def dags_from_plan(plan: RunnerPlan, *, app_root: str | None) -> dict[str, DAG]:
    """Build the DAGs of an already loaded runner plan."""
    return dags_from_arguments(dag_arguments(plan, app_root=app_root))


def dags_from_arguments(arguments: DagArguments) -> dict[str, DAG]:
    """Build every DAG; one that Airflow refuses becomes that schedule's placeholder, never an
    exception that would hide the others."""
    defaults = airflow_dag_defaults()
    dags: dict[str, DAG] = {}
    for args in arguments.ingest:
        dags[args.dag["dag_id"]] = _guarded(args.dag["dag_id"], build_ingest_dag, args, defaults)
    for workflow_args in arguments.workflows:
        dag_id = workflow_args.dag["dag_id"]
        dags[dag_id] = _guarded(dag_id, build_workflow_dag_from_args, workflow_args, defaults)
    for maintenance_args in arguments.maintenance:
        dag_id = maintenance_args.dag["dag_id"]
        dags[dag_id] = _guarded(dag_id, build_maintenance_dag, maintenance_args, defaults)
    for error_args in arguments.config_errors:
        dags[error_args["dag_id"]] = build_config_error_dag(error_args, defaults)
    return dags


def _guarded(
    dag_id: str, build: Callable[[T, Mapping[str, Any]], DAG], args: T, defaults: Mapping[str, Any]
) -> DAG:
    try:
        return build(args, defaults)
    except Exception as exc:
        return build_config_error_dag(build_failure_dag_args(dag_id, exc), defaults)


def make_timetable(args: TimetableArgs | None) -> CronTriggerTimetable | DeltaTriggerTimetable | None:
    """Airflow's own trigger timetables: runs fire at the scheduled time, in the schedule's zone."""
    if args is None:
        return None
    if args.cron is not None:
        return CronTriggerTimetable(args.cron, timezone=args.timezone)
    return DeltaTriggerTimetable(timedelta(seconds=args.interval_seconds or 0))


def build_ingest_dag(args: IngestDagArgs, defaults: Mapping[str, Any] | None = None) -> DAG:
    """One DAG with exactly one :class:`DativoIngestOperator`."""
    retry_policy = DativoRetryPolicy(args.retry_config) if args.retry_config else None
    freshness = {"deadline": freshness_deadline(args.freshness)} if args.freshness else {}
    with DAG(schedule=make_timetable(args.timetable), **{**(defaults or {}), **args.dag}, **freshness) as dag:
        DativoIngestOperator(
            **args.task,
            retry_policy=retry_policy,
            outlets=[Asset(uri=args.asset_uri)],
        )
    return dag


def build_maintenance_dag(args: MaintenanceDagArgs, defaults: Mapping[str, Any] | None = None) -> DAG:
    """One DAG with exactly one :class:`DativoMaintenanceOperator`."""
    with DAG(schedule=make_timetable(args.timetable), **{**(defaults or {}), **args.dag}) as dag:
        DativoMaintenanceOperator(**args.task)
    return dag


def build_workflow_dag_from_args(args: WorkflowDagArgs, defaults: Mapping[str, Any] | None = None) -> DAG:
    """A DAG-of-workflows: one :class:`DativoWorkflowOperator` per task, wired by ``depends_on``."""
    with DAG(schedule=make_timetable(args.timetable), **{**(defaults or {}), **args.dag}) as dag:
        tasks = {}
        for task in args.tasks:
            policy = DativoRetryPolicy(task.retry_config) if task.retry_config else None
            tasks[task.task["task_id"]] = DativoWorkflowOperator(**task.task, retry_policy=policy)
        for task in args.tasks:
            for upstream in task.upstream:
                tasks[upstream] >> tasks[task.task["task_id"]]
    return dag


def build_config_error_dag(args: dict, defaults: Mapping[str, Any] | None = None) -> DAG:
    """A paused DAG whose only task fails with the configuration error."""
    args = {**(defaults or {}), **args}
    message = args.pop("error_message")
    with DAG(schedule=None, **args) as dag:
        DativoConfigErrorOperator(task_id=CONFIG_ERROR_TASK_ID, error_message=message)
    return dag
