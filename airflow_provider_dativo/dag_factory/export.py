"""Write each schedule of a runner file as a static DAG file.

The files hold plain Airflow code with every value written out, so they parse without the
runner and job YAML files and can be reviewed in a pull request. They are rendered from the
same :mod:`airflow_provider_dativo.dag_factory.args` arguments the factory uses, and a test checks
that their serialized DAGs equal the factory's.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from airflow_provider_dativo.dag_factory.args import IngestDagArgs, TimetableArgs, ingest_dag_args
from airflow_provider_dativo.dag_factory.maintenance_args import MaintenanceDagArgs, maintenance_dag_args
from airflow_provider_dativo.dag_factory.workflow_args import WorkflowDagArgs, schedule_dag_args
from airflow_provider_dativo.plan.runner import RunnerPlan

_HEADER = '''"""dativo schedule {dag_id!r}, exported by `dativo export` from {runner}.

Generated file: change runner.yaml or the job file and export again instead of editing it.
"""

from datetime import timedelta

from airflow.sdk import DAG, Asset, CronTriggerTimetable, DeltaTriggerTimetable

{operator_import}
from airflow_provider_dativo.retry_policy import DativoRetryPolicy
{extra_imports}'''
_INGEST_IMPORT = "from airflow_provider_dativo.operators.ingest import DativoIngestOperator"
_FRESHNESS_IMPORT = "from airflow_provider_dativo.freshness.deadline import freshness_deadline\n"
_WORKFLOW_IMPORT = "from airflow_provider_dativo.operators.workflow import DativoWorkflowOperator"
_MAINTENANCE_IMPORT = "from airflow_provider_dativo.operators.maintenance import DativoMaintenanceOperator"


def py_literal(value: Any) -> str:
    """Python source for a value of the DAG arguments."""
    if isinstance(value, timedelta):
        return f"timedelta(seconds={value.total_seconds()!r})"
    if isinstance(value, list):
        return "[" + ", ".join(py_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {py_literal(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _policy(retry_config: dict[str, Any] | None) -> str:
    return f"DativoRetryPolicy({py_literal(retry_config)})" if retry_config else "None"


def _dag_header(
    dag: dict[str, Any],
    timetable: TimetableArgs | None,
    runner_path: Path,
    operator: str,
    freshness: dict[str, Any] | None = None,
) -> list[str]:
    """The module docstring, imports and ``with DAG(...) as dag:`` line of a generated file."""
    header = _HEADER.format(
        dag_id=dag["dag_id"],
        runner=runner_path,
        operator_import=operator,
        extra_imports=_FRESHNESS_IMPORT if freshness else "",
    )
    lines = [header]
    lines.append("with DAG(")
    if timetable is None:
        schedule = "None"
    elif timetable.cron is not None:
        schedule = f"CronTriggerTimetable({timetable.cron!r}, timezone={timetable.timezone!r})"
    else:
        schedule = f"DeltaTriggerTimetable(timedelta(seconds={timetable.interval_seconds!r}))"
    lines.append(f"    schedule={schedule},")
    lines.extend(f"    {key}={py_literal(value)}," for key, value in dag.items())
    if freshness:
        lines.append(f"    deadline=freshness_deadline({py_literal(freshness)}),")
    lines.append(") as dag:")
    return lines


def render_dag_file(args: IngestDagArgs, runner_path: Path) -> str:
    """The source of one static DAG file."""
    lines = _dag_header(args.dag, args.timetable, runner_path, _INGEST_IMPORT, args.freshness)
    lines.append("    DativoIngestOperator(")
    lines.extend(f"        {key}={py_literal(value)}," for key, value in args.task.items())
    lines.append(f"        retry_policy={_policy(args.retry_config)},")
    lines.append(f"        outlets=[Asset(uri={args.asset_uri!r})],")
    lines.append("    )")
    return "\n".join(lines) + "\n"


def render_workflow_dag_file(args: WorkflowDagArgs, runner_path: Path) -> str:
    """The source of one static DAG-of-workflows file: one operator per task, then the edges."""
    lines = _dag_header(args.dag, args.timetable, runner_path, _WORKFLOW_IMPORT)
    lines.append("    tasks = {}")
    for task in args.tasks:
        lines.append(f"    tasks[{task.task['task_id']!r}] = DativoWorkflowOperator(")
        lines.extend(f"        {key}={py_literal(value)}," for key, value in task.task.items())
        lines.append(f"        retry_policy={_policy(task.retry_config)},")
        lines.append("    )")
    for task in args.tasks:
        lines.extend(f"    tasks[{up!r}] >> tasks[{task.task['task_id']!r}]" for up in task.upstream)
    return "\n".join(lines) + "\n"


def render_maintenance_dag_file(args: MaintenanceDagArgs, runner_path: Path) -> str:
    """The source of one static ``<schedule>__maintenance`` DAG file."""
    lines = _dag_header(args.dag, args.timetable, runner_path, _MAINTENANCE_IMPORT)
    lines.append("    DativoMaintenanceOperator(")
    lines.extend(f"        {key}={py_literal(value)}," for key, value in args.task.items())
    lines.append("    )")
    return "\n".join(lines) + "\n"


def export_dags(plan: RunnerPlan, out_dir: Path, *, app_root: str | None) -> list[Path]:
    """Write one ``<dag_id>.py`` per healthy schedule (ingest or workflow) and per maintenance DAG;
    returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    sources = [
        (spec.schedule.name, render_dag_file(ingest_dag_args(spec, app_root=app_root), plan.path))
        for spec in plan.specs
    ] + [
        (spec.schedule.name, render_workflow_dag_file(schedule_dag_args(spec), plan.path))
        for spec in plan.workflows
    ]
    taken = {name for name, _ in sources}
    for spec in plan.specs:
        maintenance = maintenance_dag_args(spec, app_root=app_root)
        if maintenance is not None and maintenance.dag["dag_id"] not in taken:
            sources.append((maintenance.dag["dag_id"], render_maintenance_dag_file(maintenance, plan.path)))
    for name, source in sources:
        target = out_dir / f"{name}.py"
        target.write_text(source, encoding="utf-8")
        written.append(target)
    return written
