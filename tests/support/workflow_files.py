"""Write workflow files (and runners naming them) into a test's folder."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import yaml

from airflow_provider_dativo.workflows import load_workflow_file
from airflow_provider_dativo.workflows.runner import RunSummary, WorkflowRunner
from airflow_provider_dativo.workflows.selection import select_tasks
from tests.support import sample_workflows
from tests.support.examples import REPO
from tests.support.sample_workflows import REF


def task(task_id: str, ref: str = "echo", *depends_on: str, **fields: Any) -> dict[str, Any]:
    """A task calling ``tests.support.sample_workflows:<ref>`` when that function exists."""
    return {
        "id": task_id,
        "workflow_ref": REF + ref if hasattr(sample_workflows, ref) else ref,
        "depends_on": list(depends_on),
        **fields,
    }


def write_workflow(path: Path, name: str, tasks: list[dict[str, Any]], **extra: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        yaml.safe_dump({"name": name, "tenant_id": "acme", **extra, "tasks": tasks}, sort_keys=False)
    )
    return path


def write_runner(path: Path, schedules: list[dict[str, Any]], **orchestrator: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    runner = {"runner": {"orchestrator": {"type": "airflow", "schedules": schedules, **orchestrator}}}
    path.write_text(yaml.safe_dump(runner, sort_keys=False))
    return path


def run_cli(path: Path, tmp_path: Path, *, sleeps: list | None = None, **options: Any) -> RunSummary:
    """Run a workflow file with the CLI runner; selection options go to ``select_tasks``."""
    selecting = {k: options.pop(k) for k in ("only", "downstream", "exclude_tags") if k in options}
    workflow = load_workflow_file(path)
    runner = WorkflowRunner(
        workflow,
        events_path=tmp_path / "events.jsonl",
        sleep=(sleeps.append if sleeps is not None else lambda s: None),
        **options,
    )
    return runner.run(select_tasks(workflow, **selecting))


def read_events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


SEED_BRIEF_INPUTS = [  # what the seed example's third task receives: its param, then both upstreams' keys
    "meeting_title",
    "report__inputs",
    "report__period",
    "report__summary",
    "sweep__items",
    "sweep__summary",
    "sweep__urgent",
]

DIAMOND = [  # a -> (b, c) -> d, and e independent
    task("a"),
    task("b", "echo", "a"),
    task("c", "echo", "a"),
    task("d", "echo", "b", "c"),
    task("e"),
]


def run_main(capsys, path: Path, *options: str) -> tuple[int, dict[str, Any], str]:
    """``dativo workflow run PATH OPTIONS --json`` in this process: exit code, the JSON summary
    (``{}`` when the run printed none) and stderr. Events go nowhere unless ``--events`` is given."""
    from airflow_provider_dativo.cli.main import main

    events = [] if "--events" in options else ["--events", os.devnull]
    code = main(["workflow", "run", str(path), *options, *events, "--json"])
    out, err = capsys.readouterr()
    lines = out.strip().splitlines()
    return code, json.loads(lines[-1]) if lines else {}, err


def statuses_of(summary: dict[str, Any]) -> dict[str, str]:
    """task id -> status, from a ``--json`` summary."""
    return {task_id: result["status"] for task_id, result in summary["tasks"].items()}


def dativo_workflow_run(path: Path, *options: str) -> list[str]:
    """The command line of ``dativo workflow run PATH OPTIONS`` for a process of its own."""
    exe = shutil.which("dativo") or str(Path(sys.executable).parent / "dativo")
    return [exe, "workflow", "run", str(path), *options]


def process_env(**extra: str) -> dict[str, str]:
    """Environment of a ``dativo`` subprocess in which ``tests.support.sample_workflows`` imports."""
    return {**os.environ, "PYTHONPATH": str(REPO), **extra}
