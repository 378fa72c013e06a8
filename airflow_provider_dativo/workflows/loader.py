"""Load a DAG-of-workflows file into a validated, ordered plan, or report every problem.

Checks, each reported with file, line and field: the file's shape (unknown keys included),
duplicate task ids, ``depends_on`` ids that name no task, cycles
(``CycleDetectedError: weekly_ops_chain: sweep -> report -> sweep``), ``workflow_modules``
that cannot be imported, unknown ``workflow_ref`` (``UnknownWorkflowError`` lists the known
names), and params that the workflow's params model rejects. The Airflow DAG and the CLI
runner both start from the :class:`LoadedWorkflow` this returns.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from airflow_provider_dativo.config.errors import ConfigProblem, DativoConfigError, format_loc
from airflow_provider_dativo.config.loader import pool_name
from airflow_provider_dativo.config.paths import resolve_path
from airflow_provider_dativo.config.validation import problems_from, validate_model
from airflow_provider_dativo.config.workflow import WorkflowFile, WorkflowTask
from airflow_provider_dativo.config.yaml_source import line_of, read_yaml
from airflow_provider_dativo.settings import resolve_app_root
from airflow_provider_dativo.workflows import registry
from airflow_provider_dativo.workflows.context import ParamsCheck
from airflow_provider_dativo.workflows.errors import CycleDetectedError, UnknownWorkflowError
from airflow_provider_dativo.workflows.graph import ancestors, find_cycle, topological_order


@dataclass(frozen=True)
class LoadedWorkflow:
    """A valid workflow file: its tasks in execution order and what each one receives."""

    path: Path
    spec: WorkflowFile
    order: list[str]
    payload_from: dict[str, list[str]]
    """task id -> every task it depends on (directly or not), in execution order."""
    modules: list[str]
    """``workflow_modules`` resolved: absolute ``.py`` paths or module names."""
    inputs: list[Path]
    """Files the load read: this file, module files, job files named in params."""
    app_root: str | None
    config_files: dict[str, list[Path]] = field(default_factory=dict)
    """task id -> the files its params name as configuration (a job file and its asset)."""

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def tenant_id(self) -> str:
        return self.spec.tenant_id

    @property
    def pool(self) -> str:
        return pool_name(self.spec.tenant_id)

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    @property
    def graph(self) -> dict[str, list[str]]:
        return {task.id: list(task.depends_on) for task in self.spec.tasks}

    def task(self, task_id: str) -> WorkflowTask:
        return next(task for task in self.spec.tasks if task.id == task_id)


class _Problems:
    """Problems of one file, located by their YAML path."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.items: list[ConfigProblem] = []

    def add(self, loc: tuple[object, ...], message: str) -> None:
        self.items.append(ConfigProblem(str(self.path), line_of(self.path, loc), format_loc(loc), message))


def load_workflow_file(
    path: str | os.PathLike[str], *, app_root: str | None = None, record_inputs: list[Path] | None = None
) -> LoadedWorkflow:
    """Read and check one workflow file. Raises :class:`CycleDetectedError`,
    :class:`UnknownWorkflowError` or :class:`DativoConfigError` with every problem found.

    ``record_inputs`` receives every file read, also when the file is invalid: a parse cache
    must notice when a fixed module or job file repairs a broken workflow.
    """
    app_root = resolve_app_root(app_root)
    path = Path(os.path.abspath(path))
    inputs = [path]
    try:
        return _load(path, app_root, inputs)
    finally:
        if record_inputs is not None:
            record_inputs.extend(inputs)


def _load(path: Path, app_root: str | None, inputs: list[Path]) -> LoadedWorkflow:
    spec = validate_model(WorkflowFile, read_yaml(path), path)
    problems = _Problems(path)
    _check_ids(spec, problems)
    if problems.items:  # order and cycles mean nothing with unknown or duplicate ids
        raise DativoConfigError(problems.items)

    graph = {task.id: list(task.depends_on) for task in spec.tasks}
    order, left_over = topological_order(graph)
    cycle = find_cycle(graph, left_over) if left_over else []
    if cycle:
        start, previous = cycle[0], cycle[-2]
        index = list(graph).index(start)
        problems.add(
            ("tasks", index, "depends_on", graph[start].index(previous)),
            CycleDetectedError.describe(spec.name, cycle),
        )
    modules = _import_modules(spec, path, app_root, problems, inputs)
    config_files: dict[str, list[Path]] = {}
    unknown = _check_refs(spec, path, app_root, problems, inputs, config_files)
    if cycle:
        raise CycleDetectedError(problems.items, dag_name=spec.name, cycle=cycle)
    if unknown:
        raise UnknownWorkflowError(problems.items, ref=unknown[0][0], known=unknown[0][1])
    if problems.items:
        raise DativoConfigError(problems.items)
    unique_inputs = list(dict.fromkeys(inputs))
    return LoadedWorkflow(
        path, spec, order, ancestors(graph, order), modules, unique_inputs, app_root, config_files
    )


def _check_ids(spec: WorkflowFile, problems: _Problems) -> None:
    first_index: dict[str, int] = {}
    for index, task in enumerate(spec.tasks):
        if task.id in first_index:
            problems.add(
                ("tasks", index, "id"),
                f"duplicate task id {task.id!r}; tasks[{first_index[task.id]}] already uses it",
            )
        else:
            first_index[task.id] = index
    for index, task in enumerate(spec.tasks):
        for position, upstream in enumerate(task.depends_on):
            if upstream not in first_index:
                problems.add(
                    ("tasks", index, "depends_on", position),
                    f"unknown task id {upstream!r}; task ids: {', '.join(first_index)}",
                )


def _import_modules(
    spec: WorkflowFile, path: Path, app_root: str | None, problems: _Problems, inputs: list[Path]
) -> list[str]:
    """Import ``workflow_modules`` so their ``@register_workflow`` functions are known."""
    modules = []
    for index, entry in enumerate(spec.workflow_modules):
        resolved = str(resolve_path(entry, path.parent, app_root)) if entry.endswith(".py") else entry
        if entry.endswith(".py"):
            inputs.append(Path(resolved))
        modules.append(resolved)
        try:
            registry.import_workflow_module(resolved)
        except Exception as exc:  # any error of user code: report it, hide no other DAG
            problems.add(
                ("workflow_modules", index), f"cannot import {resolved}: {type(exc).__name__}: {exc}"
            )
    return modules


def _check_refs(
    spec: WorkflowFile,
    path: Path,
    app_root: str | None,
    problems: _Problems,
    inputs: list[Path],
    config_files: dict[str, list[Path]],
) -> list[tuple[str, list[str]]]:
    """Resolve every reference and check params; returns the unknown refs with the known names.
    ``config_files`` receives, per task, the configuration files its params name."""
    unknown = []
    for index, task in enumerate(spec.tasks):
        check = ParamsCheck(path.parent, app_root, spec.tenant_id, inputs)
        config_files[task.id] = check.config_files
        try:
            definition = registry.resolve(task.workflow_ref)
        except registry.WorkflowLookupError as exc:
            unknown.append((exc.ref, exc.known))
            problems.add(
                ("tasks", index, "workflow_ref"), UnknownWorkflowError.describe(exc.ref, exc.known, exc.why)
            )
            continue
        except Exception as exc:  # a module:function whose module fails on import
            problems.add(
                ("tasks", index, "workflow_ref"),
                f"cannot import {task.workflow_ref}: {type(exc).__name__}: {exc}",
            )
            continue
        model = definition.params_model if definition else None
        if model is None:
            continue
        try:
            model.model_validate(task.params, context=check)
        except ValidationError as exc:
            problems.items.extend(problems_from(exc, model, path, ("tasks", index, "params")))
    return unknown
