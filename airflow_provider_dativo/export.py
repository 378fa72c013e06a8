"""Write each schedule of a runner file as a static DAG file.

The files hold plain Airflow code with every value written out, so they parse without the
runner and job YAML files and can be reviewed in a pull request. They are rendered from the
same :mod:`airflow_provider_dativo.dag_spec` arguments the factory uses, and a test checks
that their serialized DAGs equal the factory's.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from airflow_provider_dativo.config.loader import RunnerPlan
from airflow_provider_dativo.dag_spec import IngestDagArgs, ingest_dag_args

_HEADER = '''"""dativo schedule {dag_id!r}, exported by `dativo export` from {runner}.

Generated file: change runner.yaml or the job file and export again instead of editing it.
"""

from datetime import timedelta

from airflow.sdk import DAG, Asset, CronTriggerTimetable, DeltaTriggerTimetable

from airflow_provider_dativo.operators.ingest import DativoIngestOperator
from airflow_provider_dativo.retry_policy import DativoRetryPolicy
'''


def py_literal(value: Any) -> str:
    """Python source for a value of the DAG arguments."""
    if isinstance(value, timedelta):
        return f"timedelta(seconds={value.total_seconds()!r})"
    if isinstance(value, list):
        return "[" + ", ".join(py_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {py_literal(v)}" for k, v in value.items()) + "}"
    return repr(value)


def render_dag_file(args: IngestDagArgs, runner_path: Path) -> str:
    """The source of one static DAG file."""
    lines = [_HEADER.format(dag_id=args.dag["dag_id"], runner=runner_path)]
    lines.append("with DAG(")
    if args.timetable is None:
        schedule = "None"
    elif args.timetable.cron is not None:
        schedule = f"CronTriggerTimetable({args.timetable.cron!r}, timezone={args.timetable.timezone!r})"
    else:
        schedule = f"DeltaTriggerTimetable(timedelta(seconds={args.timetable.interval_seconds!r}))"
    lines.append(f"    schedule={schedule},")
    lines.extend(f"    {key}={py_literal(value)}," for key, value in args.dag.items())
    lines.append(") as dag:")
    lines.append("    DativoIngestOperator(")
    lines.extend(f"        {key}={py_literal(value)}," for key, value in args.task.items())
    policy = f"DativoRetryPolicy({py_literal(args.retry_config)})" if args.retry_config else "None"
    lines.append(f"        retry_policy={policy},")
    lines.append(f"        outlets=[Asset(uri={args.asset_uri!r})],")
    lines.append("    )")
    return "\n".join(lines) + "\n"


def export_dags(plan: RunnerPlan, out_dir: Path, *, app_root: str | None) -> list[Path]:
    """Write one ``<dag_id>.py`` per healthy schedule; returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for spec in plan.specs:
        args = ingest_dag_args(spec, app_root=app_root)
        target = out_dir / f"{spec.schedule.name}.py"
        target.write_text(render_dag_file(args, plan.path), encoding="utf-8")
        written.append(target)
    return written
