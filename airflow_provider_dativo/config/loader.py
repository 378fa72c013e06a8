"""Load runner, job and asset files into resolved, validated objects.

A runner file is loaded schedule by schedule: a broken schedule becomes a
:class:`ScheduleFailure` and never prevents the healthy ones from loading.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_dativo.config.asset import Asset
from airflow_provider_dativo.config.confinement import Confinement, TenantRoots, job_confinement, roots_of
from airflow_provider_dativo.config.connectors import REGISTRY
from airflow_provider_dativo.config.errors import ConfigProblem, DativoConfigError
from airflow_provider_dativo.config.job import (
    FILE_CONNECTORS,
    SOURCE_SETTINGS,
    TENANT_ID,
    FileSourceSettings,
    JobConfig,
)
from airflow_provider_dativo.config.paths import (
    app_root_from_env,
    infer_tenant,
    jobs_root,
    resolve_path,
    static_part,
)
from airflow_provider_dativo.config.retry import RetryConfig
from airflow_provider_dativo.config.runner import RunnerFile, Schedule
from airflow_provider_dativo.config.validation import validate_model
from airflow_provider_dativo.config.yaml_source import line_of, read_yaml

if TYPE_CHECKING:
    from airflow_provider_dativo.workflows.loader import LoadedWorkflow

POOL_PREFIX = "dativo_tenant_"


def pool_name(tenant_id: str) -> str:
    """The Airflow pool that serializes one tenant's jobs."""
    return f"{POOL_PREFIX}{tenant_id}"


@dataclass(frozen=True)
class ResolvedJob:
    """A validated job file with its paths resolved and its tenant known."""

    path: Path
    config: JobConfig
    tenant_id: str
    tenant_inferred: bool
    asset_path: Path
    retry_config: RetryConfig | None
    source_path: Path | None = None
    confinement: Confinement | None = None
    """The folders this job may read (see :mod:`~airflow_provider_dativo.config.confinement`)."""

    @property
    def namespace(self) -> str:
        return self.config.target.namespace or self.tenant_id

    @property
    def asset_uri(self) -> str:
        """URI of the Airflow Asset that names the target table."""
        target = self.config.target
        return f"iceberg://{target.catalog_name}/{self.namespace}/{target.table}"


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


def load_asset(job: ResolvedJob) -> Asset:
    """Read and validate the asset a job refers to (after checking, symlinks resolved, that the
    job's tenant may read it)."""
    path = job.asset_path
    if job.confinement is not None:
        path = job.confinement.check(path, "asset")
    return validate_model(Asset, read_yaml(path), job.asset_path)


def load_job(
    path: str | Path,
    *,
    app_root: str | None = None,
    default_retry: RetryConfig | None = None,
    allowed_roots: TenantRoots | None = None,
) -> ResolvedJob:
    """Read, validate and resolve one job file. Raises :class:`DativoConfigError`.

    ``allowed_roots`` maps tenant ids to the extra folders the runner file grants them
    (``runner.tenants.<t>.allowed_roots``); the paths the job names are checked, as written,
    against its tenant's roots (symlinks and glob matches are checked when they are read).
    """
    app_root = app_root_from_env(app_root)
    path = Path(os.path.abspath(path))  # tenant inference and asset lookup read the folders
    data = read_yaml(path)
    config = validate_model(JobConfig, data, path)
    problems: list[ConfigProblem] = []

    tenant_inferred = config.tenant_id is None
    tenant = config.tenant_id or infer_tenant(path)
    if tenant is not None and tenant_inferred and not TENANT_ID.match(tenant):
        problems.append(
            ConfigProblem(
                str(path),
                line_of(path, ()),
                "tenant_id",
                f"is inferred from the folder {tenant!r}, which is not a valid tenant id "
                "(letters, digits, '_' or '-'); set tenant_id or rename the folder",
            )
        )
    if tenant is None:
        problems.append(
            ConfigProblem(
                str(path),
                line_of(path, ()),
                "tenant_id",
                "is missing and cannot be inferred: the job file is not in a jobs/<tenant>/ folder",
            )
        )

    if tenant is not None:
        problems.extend(_tenant_folder_problems(config, tenant, path))
        problems.extend(_namespace_problems(config, tenant, path))

    asset_path = _asset_path(config.asset, path, app_root)
    source_path = None
    if config.source_connector in FILE_CONNECTORS:
        try:
            settings = validate_model(FileSourceSettings, config.source, path, ("source",))
            source_path = resolve_path(settings.path, path.parent, app_root)
        except DativoConfigError as exc:
            problems.extend(exc.problems)
    else:
        problems.extend(_service_settings_problems(config, path))
    confinement = None
    if tenant is not None:
        confinement = job_confinement(path, tenant, app_root, (allowed_roots or {}).get(tenant, ()))
        problems.extend(_confinement_problems(confinement, asset_path, source_path))
    if problems:
        raise DativoConfigError(problems)
    return ResolvedJob(
        path=path,
        config=config,
        tenant_id=tenant,  # type: ignore[arg-type]
        tenant_inferred=tenant_inferred,
        asset_path=asset_path,
        retry_config=config.retry_config or default_retry,
        source_path=source_path,
        confinement=confinement,
    )


def _tenant_folder_problems(config: JobConfig, tenant: str, path: Path) -> list[ConfigProblem]:
    """A job file in ``jobs/<t>/`` runs as ``t``: a ``tenant_id`` naming another tenant would
    run it with that tenant's secrets, namespace and folders."""
    folder = infer_tenant(path)
    if config.tenant_id is None or folder is None or folder == tenant:
        return []
    return [
        ConfigProblem(
            str(path),
            line_of(path, ("tenant_id",)),
            "tenant_id",
            f"is {tenant!r}, but the file is in the folder of tenant {folder!r} (jobs/{folder}/); "
            f"a job file under jobs/<tenant>/ must name that tenant or leave tenant_id out",
        )
    ]


def _confinement_problems(
    confinement: Confinement, asset_path: Path, source_path: Path | None
) -> list[ConfigProblem]:
    """The paths of a job as written, against its tenant's roots (no file system access; a
    glob is checked up to its first wildcard, each match when the job runs)."""
    checks = [("asset", str(asset_path))]
    if source_path is not None:
        text = str(source_path)
        static = static_part(text)
        checks.append(("source.path", text if static == text else str(Path(static) / "*")))
    problems = []
    for field_name, text in checks:
        reason = confinement.problem(text, resolve=False)
        if reason is not None:
            problems.extend(confinement.error(field_name, reason).problems)
    return problems


def _service_settings_problems(config: JobConfig, path: Path) -> list[ConfigProblem]:
    """The ``source`` settings of a database or API connector, with the registry's defaults
    under them (a recipe's are checked at run time and by ``dativo validate``)."""
    defaults = REGISTRY[config.source_connector].defaults
    try:
        validate_model(
            SOURCE_SETTINGS[config.source_connector], {**defaults, **config.source}, path, ("source",)
        )
    except DativoConfigError as exc:
        return exc.problems
    return []


def _namespace_problems(config: JobConfig, tenant: str, path: Path) -> list[ConfigProblem]:
    """Tenant isolation of writes: a job writes its tenant's namespace (the default) and only
    the other namespaces that ``isolation.allow_namespaces`` lists, so a copied job file cannot
    silently write into another tenant's tables."""
    namespace = config.target.namespace
    if namespace is None or namespace == tenant or namespace in config.isolation.allow_namespaces:
        return []
    return [
        ConfigProblem(
            str(path),
            line_of(path, ("target", "namespace")),
            "target.namespace",
            f"namespace {namespace!r} is outside tenant {tenant!r}: a job of tenant {tenant!r} writes "
            f"only namespace {tenant!r} unless isolation.allow_namespaces lists {namespace!r}",
        )
    ]


def _asset_path(ref: str, job_path: Path, app_root: str | None) -> Path:
    """A path (relative to the job file) or a bare name looked up as ``assets/<name>.yaml``."""
    is_bare_name = "/" not in ref and not ref.endswith((".yaml", ".yml"))
    if is_bare_name:
        root = jobs_root(job_path) or job_path.parent
        return root / "assets" / f"{ref}.yaml"
    return resolve_path(ref, job_path.parent, app_root)


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
    (:mod:`airflow_provider_dativo.config.one_schedule`). Indexes are those of the runner file,
    so problems name the right ``schedules[i]`` and line."""
    app_root = app_root_from_env(app_root)
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
    # Imported here: the workflows package imports this module.
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
    file_path = resolve_path(raw, plan.path.parent, app_root)
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
