"""``dativo workflow plan|run``: plan output, dry run, summary, exit codes, events, options."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_provider_dativo.cli.main import main
from tests.cli.test_main import dativo
from tests.conftest import EXAMPLES
from tests.workflows.helpers import DIAMOND, read_events, task, write_workflow

SEED = EXAMPLES / "workflows" / "weekly_ops_chain.yaml"
SEED_PLAN = """\
DAG 'weekly_ops_chain'
Tenant: local-dev
Tasks: 3

Execution Plan:
  1. sweep (workflow: inbox_drive_sweep, depends_on: none)
  2. report (workflow: weekly_report_pack, depends_on: sweep)
  3. brief (workflow: meeting_transcript_brief, depends_on: report)
"""


def test_plan_prints_the_seed_plan(capsys) -> None:
    assert main(["workflow", "plan", str(SEED)]) == 0
    assert capsys.readouterr().out == SEED_PLAN


def test_dry_run_prints_the_plan_and_runs_nothing(tmp_path: Path, capsys) -> None:
    events = tmp_path / "events.jsonl"
    assert main(["workflow", "run", str(SEED), "--dry-run", "--events", str(events)]) == 0
    assert capsys.readouterr().out == "DRY RUN: " + SEED_PLAN
    assert not events.exists()


def test_plan_marks_what_only_and_exclude_tags_leave_out(tmp_path: Path, capsys) -> None:
    tasks = [dict(t) for t in DIAMOND]
    tasks[2] = task("c", "echo", "a", tags=["slow"])
    path = write_workflow(tmp_path / "wf.yaml", "w", tasks)
    assert main(["workflow", "plan", str(path), "--only", "d", "--exclude-tags", "slow,other"]) == 0
    lines = capsys.readouterr().out.replace("tests.workflows.sample_workflows:", "").splitlines()[5:]
    assert lines == [
        "  1. a (workflow: echo, depends_on: none)",
        "  2. SKIP e (workflow: echo, depends_on: none) - not selected by --only",
        "  3. b (workflow: echo, depends_on: a)",
        "  4. SKIP c (workflow: echo, depends_on: a) - excluded by tag 'slow'",
        "  5. d (workflow: echo, depends_on: b, c)",
    ]


def test_run_prints_the_summary_and_appends_events_to_orch_events_path(tmp_path: Path, monkeypatch) -> None:
    events = tmp_path / "logs" / "events.jsonl"
    monkeypatch.chdir(tmp_path)
    result = dativo("workflow", "run", str(SEED), env={"ORCH_EVENTS_PATH": str(events)})
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    lines = result.stderr[result.stderr.index("DAG EXECUTION") :].splitlines()
    assert lines[0] == "DAG EXECUTION COMPLETE" and lines[1] == "DAG: weekly_ops_chain"
    assert lines[3:7] == ["Tasks Total: 3", "Tasks Succeeded: 3", "Tasks Failed: 0", "Tasks Skipped: 0"]
    assert lines[7].startswith("Duration: ") and lines[7].endswith("s")
    assert "OK   brief" in result.stderr
    assert [e["event"] for e in read_events(events)] == [
        "dag_start",
        *["task_start", "task_ok"] * 3,
        "dag_done",
    ]
    # without ORCH_EVENTS_PATH: the seeds' default, relative to the current folder
    assert main(["workflow", "run", str(SEED)]) == 0
    assert len(read_events(tmp_path / "logs" / "orchestrator_events.jsonl")) == 8


def test_failed_task_exits_2_and_continue_on_error_runs_independent_branches(tmp_path: Path, capsys) -> None:
    tasks = [dict(t) for t in DIAMOND]
    tasks[1] = task("b", "boom", "a", retries=2, retry_delay_seconds=30)
    path = write_workflow(tmp_path / "wf.yaml", "w", tasks)
    events = tmp_path / "events.jsonl"
    options = ["--events", str(events), "--retry-delay", "0", "--json"]
    assert main(["workflow", "run", str(path), *options]) == 2
    stopped = json.loads(capsys.readouterr().out)
    assert (stopped["succeeded"], stopped["failed"], stopped["skipped"]) == (2, 1, 2)  # a, e ok; c, d not run
    assert stopped["tasks"]["b"]["attempts"] == 3
    assert main(["workflow", "run", str(path), *options, "--continue-on-error"]) == 2
    going_on = json.loads(capsys.readouterr().out)
    assert {t: r["status"] for t, r in going_on["tasks"].items()} == {
        "a": "success",
        "e": "success",
        "b": "failed",
        "c": "success",
        "d": "skipped",
    }
    retries = [e for e in read_events(events) if e["event"] == "task_retry"]
    assert len(retries) == 4 and {e["delay_seconds"] for e in retries} == {0}


def test_retry_delay_from_the_environment(tmp_path: Path, monkeypatch, capsys) -> None:
    counter = tmp_path / "counter"
    flaky = task(
        "f", "flaky", params={"counter": str(counter), "fail_times": 1}, retries=1, retry_delay_seconds=60
    )
    path = write_workflow(tmp_path / "wf.yaml", "w", [flaky])
    monkeypatch.setenv("DATIVO_WORKFLOW_RETRY_DELAY", "0")
    assert main(["workflow", "run", str(path), "--events", str(tmp_path / "e.jsonl")]) == 0
    assert "Tasks Succeeded: 1" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("tasks", "expected"),
    [
        ([task("a", "echo", "b"), task("b", "echo", "a")], "CycleDetectedError: w: a -> b -> a"),
        ([task("a", "nope")], "UnknownWorkflowError: unknown workflow 'nope'"),
    ],
)
def test_invalid_file_exits_2_with_file_line_and_error(tmp_path: Path, capsys, tasks, expected) -> None:
    path = write_workflow(tmp_path / "wf.yaml", "w", tasks)
    assert main(["workflow", "run", str(path)]) == 2
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith(f"{path}:") and expected in line


def test_unknown_only_task_exits_2(capsys) -> None:
    assert main(["workflow", "run", str(SEED), "--only", "sweep,nope"]) == 2
    assert "unknown task id(s) nope in --only; task ids: sweep, report, brief" in capsys.readouterr().err


def test_validate_accepts_a_workflow_file(tmp_path: Path, capsys) -> None:
    assert main(["validate", str(SEED)]) == 0
    broken = write_workflow(tmp_path / "wf.yaml", "w", [task("a", "nope")])
    assert main(["validate", str(broken)]) == 2
    assert "UnknownWorkflowError: unknown workflow 'nope'" in capsys.readouterr().out
