"""Load a runner file into a :class:`RunnerPlan`: every schedule with its job or workflow file.

This is the layer above the config models: a runner file names job files
(:mod:`airflow_provider_dativo.config.loader`) and DAG-of-workflows files
(:mod:`airflow_provider_dativo.workflows.loader`), and the plan holds both. It is loaded
schedule by schedule: a broken schedule becomes a :class:`ScheduleFailure` and never prevents
the healthy ones from loading. The DAG factory, ``dativo validate|pools|export`` and
``airflow dativo sync-pools`` all start from a plan.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_dativo.config.confinement import roots_of
from airflow_provider_dativo.config.errors import ConfigProblem, DativoConfigError
from airflow_provider_dativo.config.loader import ResolvedJob, load_job, pool_name
from airflow_provider_dativo.config.paths import resolve_path
from airflow_provider_dativo.config.runner import RunnerFile, Schedule
from airflow_provider_dativo.config.validation import validate_model
from airflow_provider_dativo.config.yaml_source import line_of, read_yaml
from airflow_provider_dativo.settings import resolve_app_root

if TYPE_CHECKING:
    from airflow_provider_dativo.workflows.loader import LoadedWorkflow


@dataclass(frozen=True)
class ScheduleSpec:
    """A healthy schedule, ready to become a DAG."""

    index: int
    schedule: Schedule
    job: ResolvedJob
    concurrency_per_tenant: int
    grants_from: Path | None = None
    """The runner file when it grants the job's tenant extra roots (the operator re-reads them)."""

    @property
    def pool(self) -> str:
        return pool_name(self.job.tenant_id)


@dataclass(frozen=True)
class WorkflowScheduleSpec:
    """A healthy schedule with ``dag:``: a DAG-of-workflows file, ready to become a DAG."""

    index: int
    schedule: Schedule
    workflow: LoadedWorkflow
    concurrency_per_tenant: int

    @property
    def pool(self) -> str:
        return pool_name(self.workflow.tenant_id)


@dataclass(frozen=True)
class ScheduleFailure:
    """A schedule that cannot be built, with every problem found in it."""

    index: int
    name: str | None
    problems: list[ConfigProblem]


@dataclass
class RunnerPlan:
    """Everything a runner.yaml describes, split into healthy and broken schedules."""

    path: Path
    runner: RunnerFile
    specs: list[ScheduleSpec] = field(default_factory=list)
    failures: list[ScheduleFailure] = field(default_factory=list)
    workflows: list[WorkflowScheduleSpec] = field(default_factory=list)
    job_paths: list[Path] = field(default_factory=list)
    """Every file the schedules name, found or not (job files; workflow files and the module and
    job files they read): what a cached parse depends on."""

    @property
    def problems(self) -> list[ConfigProblem]:
        return [p for failure in self.failures for p in failure.problems]

    def pools(self) -> dict[str, int]:
        """Pool name -> slots, for every tenant with a healthy schedule (job or workflow)."""
        slots = self.runner.runner.orchestrator.concurrency_per_tenant
        pools = {spec.pool for spec in self.specs} | {spec.pool for spec in self.workflows}
        return {pool: slots for pool in sorted(pools)}


def _schedule_problem(path: Path, index: int, schedule: Schedule, key: str, message: str) -> ScheduleFailure:
    """A failure of one valid-looking schedule, located at one of its keys."""
    loc = ("runner", "orchestrator", "schedules", index, key)
    problem = ConfigProblem(
        str(path),
        line_of(path, loc),
        f"runner.orchestrator.schedules[{index}].{key}",
        f"schedule {schedule.name!r}: {message}",
    )
    return ScheduleFailure(index, schedule.name, [problem])


def _app_root_hint(raw: str, app_root: str | None) -> str:
    if raw.startswith("/app/") and not app_root:
        return " (set DATIVO_APP_ROOT to the folder that stands for /app/)"
    return ""


def load_runner(path: str | Path, *, app_root: str | None = None) -> RunnerPlan:
    """Load a runner.yaml and every job it schedules.

    Raises :class:`DativoConfigError` only when the runner file itself is unusable; problems
    of single schedules are collected in :attr:`RunnerPlan.failures`.
    """
    path = Path(path)
    runner = validate_model(RunnerFile, read_yaml(path), path)
    return load_schedules(path, runner, enumerate(runner.runner.orchestrator.schedules), app_root=app_root)


def load_schedules(
    path: Path,
    runner: RunnerFile,
    schedules: Iterable[tuple[int, Any]],
    *,
    app_root: str | None = None,
) -> RunnerPlan:
    """Load the given ``(index, raw schedule)`` pairs of a validated runner file: all of them
    (:func:`load_runner`) or the few a worker's one-DAG parse needs
    (:mod:`airflow_provider_dativo.plan.one_schedule`). Indexes are those of the runner file,
    so problems name the right ``schedules[i]`` and line."""
    app_root = resolve_app_root(app_root) or ""  # resolved once: "" lets the loaders below read no setting
    orchestrator = runner.runner.orchestrator
    plan = RunnerPlan(path=path, runner=runner)
    grants = roots_of(runner.runner.tenants, Path(os.path.abspath(path)), app_root)
    seen_names: dict[str, int] = {}
    job_cache: dict[Path, ResolvedJob | DativoConfigError] = {}
    workflow_cache: dict[Path, LoadedWorkflow | DativoConfigError] = {}

    for index, raw in schedules:
        prefix = ("runner", "orchestrator", "schedules", index)
        raw_name = raw.get("name") if isinstance(raw, dict) else None
        name = raw_name if isinstance(raw_name, str) else None
        try:
            schedule = validate_model(Schedule, raw, path, prefix, context=f"schedule {name or index!r}: ")
        except DativoConfigError as exc:
            plan.failures.append(ScheduleFailure(index, name, exc.problems))
            continue

        if schedule.name in seen_names:
            plan.failures.append(
                _schedule_problem(
                    path,
                    index,
                    schedule,
                    "name",
                    f"duplicate name; schedules[{seen_names[schedule.name]}] already uses it "
                    "(names become dag_ids and must be unique)",
                )
            )
            continue
        seen_names[schedule.name] = index

        if schedule.dag is not None:
            workflow = _cached_load(
                plan, workflow_cache, schedule.dag, app_root, _workflow_loader(plan, app_root)
            )
            if isinstance(workflow, DativoConfigError):
                plan.failures.append(_file_failure(path, index, schedule, "dag", workflow, app_root))
                continue
            plan.workflows.append(
                WorkflowScheduleSpec(index, schedule, workflow, orchestrator.concurrency_per_tenant)
            )
            continue

        def load(job_path: Path) -> ResolvedJob:
            return load_job(
                job_path, app_root=app_root, default_retry=orchestrator.retry_config, allowed_roots=grants
            )

        job = _cached_load(plan, job_cache, schedule.config or "", app_root, load)
        if isinstance(job, DativoConfigError):
            plan.failures.append(_file_failure(path, index, schedule, "config", job, app_root))
            continue
        if schedule.freshness_minutes and not schedule.freshness_notifier and orchestrator.freshness_notifier:
            schedule = schedule.model_copy(update={"freshness_notifier": orchestrator.freshness_notifier})
        grants_from = plan.path if grants.get(job.tenant_id) else None
        plan.specs.append(
            ScheduleSpec(index, schedule, job, orchestrator.concurrency_per_tenant, grants_from)
        )
    return plan


_FILE_KINDS = {"config": "job file", "dag": "workflow file"}


def _workflow_loader(plan: RunnerPlan, app_root: str | None) -> Callable[[Path], LoadedWorkflow]:
    """Load a workflow file and record the files it read (even when it is invalid) as inputs."""
    # Imported here: a runner without ``dag:`` schedules need not import the workflow registry.
    from airflow_provider_dativo.workflows.loader import load_workflow_file

    def load(workflow_path: Path) -> LoadedWorkflow:
        return load_workflow_file(workflow_path, app_root=app_root, record_inputs=plan.job_paths)

    return load


def _cached_load(
    plan: RunnerPlan,
    cache: dict[Path, Any],
    raw: str,
    app_root: str | None,
    load: Callable[[Path], Any],
) -> Any:
    """Load the file a schedule names once, however many schedules name it; a
    :class:`DativoConfigError` is returned (and cached), not raised."""
    file_path = resolve_path(raw, os.path.dirname(plan.path), app_root)
    if file_path not in cache:
        plan.job_paths.append(file_path)
        try:
            cache[file_path] = load(file_path)
        except DativoConfigError as exc:
            cache[file_path] = exc
        except Exception as exc:  # a bug or an input nobody foresaw: still only this file's error
            cache[file_path] = DativoConfigError.single(
                file_path, "", f"cannot be loaded: {type(exc).__name__}: {exc}"
            )
    return cache[file_path]


def _file_failure(
    path: Path, index: int, schedule: Schedule, key: str, error: DativoConfigError, app_root: str | None
) -> ScheduleFailure:
    """A schedule whose job or workflow file is missing or invalid, with that file's problems."""
    raw = getattr(schedule, key) or ""
    file_path = resolve_path(raw, path.parent, app_root)
    kind = _FILE_KINDS[key]
    if not file_path.exists():
        return _schedule_problem(
            path, index, schedule, key, f"{kind} {file_path} does not exist" + _app_root_hint(raw, app_root)
        )
    first = f": {error.problems[0].message}" if key == "dag" and error.problems else ""
    failure = _schedule_problem(
        path, index, schedule, key, f"{kind} {file_path} is invalid (see below){first}"
    )
    failure.problems.extend(error.problems)
    return failure
