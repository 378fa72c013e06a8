"""``dativo workflow plan|run``: plan output, dry run, summary, exit codes, events, options."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from airflow_provider_dativo.cli.main import main
from tests.support.cli import dativo
from tests.support.examples import EXAMPLES
from tests.support.workflow_files import DIAMOND, read_events, task, write_workflow

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
    lines = capsys.readouterr().out.replace("tests.support.sample_workflows:", "").splitlines()[5:]
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


def test_the_seed_example_run_twice_with_changed_is_all_cached_the_second_time(tmp_path: Path) -> None:
    """The issue's acceptance check, as a user types it (the default state file under DATIVO_HOME)."""
    env = {"DATIVO_HOME": str(tmp_path / "home"), "ORCH_EVENTS_PATH": str(tmp_path / "events.jsonl")}
    first = dativo("workflow", "run", str(SEED), "--changed", env=env)
    assert first.returncode == 0, first.stderr
    assert "Tasks Succeeded: 3" in first.stderr and "Tasks Cached: 0" in first.stderr
    second = dativo("workflow", "run", str(SEED), "--changed", "--json", env=env)
    assert second.returncode == 0, second.stderr
    cached_lines = [line for line in second.stderr.splitlines() if line.startswith("CACHED ")]
    assert [line.split(" (")[0] for line in cached_lines] == [
        "CACHED 1/3 sweep cached",
        "CACHED 2/3 report cached",
        "CACHED 3/3 brief cached",
    ]
    assert "Tasks Succeeded: 0" in second.stderr and "Tasks Cached: 3" in second.stderr
    summary = json.loads(second.stdout)
    assert summary["cached"] == 3 and {t["status"] for t in summary["tasks"].values()} == {"cached"}
    state = tmp_path / "home" / "workflow-state" / "local-dev" / "weekly_ops_chain.json"
    assert summary["state_file"] == str(state) and state.exists()
    events = read_events(tmp_path / "events.jsonl")
    cached = [e for e in events if e["event"] == "task_cached"]
    assert [e["task_id"] for e in cached] == ["sweep", "report", "brief"]
    assert {e["run_id"] for e in cached} == {summary["run_id"]}
    assert events[-1]["event"] == "dag_done" and events[-1]["tasks_cached"] == 3


@pytest.mark.parametrize("mode", ["--changed", "--resume"])
def test_a_corrupt_state_file_stops_changed_and_resume(tmp_path: Path, capsys, mode: str) -> None:
    state = tmp_path / "state.json"
    state.write_text('{"format": "dativo-workflow-state", "version": 1, "tasks": {')
    events = tmp_path / "events.jsonl"
    assert main(["workflow", "run", str(SEED), mode, "--state", str(state), "--events", str(events)]) == 2
    err = capsys.readouterr().err
    assert f"error: state file {state}:1: is corrupt, not valid JSON" in err
    assert "it is not used. Move or delete it to start afresh, or run with --full" in err
    assert state.read_text().endswith('"tasks": {') and not events.exists()  # untouched, nothing ran


def test_a_full_run_sets_a_corrupt_state_aside_and_records_a_new_one(tmp_path: Path, capsys) -> None:
    state = tmp_path / "state.json"
    state.write_text("not json")
    assert main(["workflow", "run", str(SEED), "--state", str(state), "--events", str(tmp_path / "e")]) == 0
    (aside,) = tmp_path.glob("state.json.corrupt-*")
    assert aside.read_text() == "not json"
    assert f"warning: state file {state}:1: is corrupt" in capsys.readouterr().err
    assert json.loads(state.read_text())["last_run"]["status"] == "success"


def test_another_workflows_state_file_is_never_overwritten(tmp_path: Path, capsys) -> None:
    state = tmp_path / "state.json"
    other = write_workflow(tmp_path / "other.yaml", "other", [task("a")])
    assert main(["workflow", "run", str(other), "--state", str(state), "--events", str(tmp_path / "e")]) == 0
    before = state.read_text()
    assert main(["workflow", "run", str(SEED), "--state", str(state)]) == 2
    assert "belongs to workflow 'other' of tenant 'acme'" in capsys.readouterr().err
    assert state.read_text() == before


def test_changed_and_resume_exclude_each_other(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["workflow", "run", str(SEED), "--changed", "--resume"])
    assert exit_.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_dry_run_with_changed_shows_what_would_be_cached_and_writes_nothing(tmp_path: Path, capsys) -> None:
    state = tmp_path / "state.json"
    options = ["--state", str(state), "--events", str(tmp_path / "events.jsonl")]
    assert main(["workflow", "run", str(SEED), "--dry-run", "--changed", *options]) == 0
    assert (
        "  1. sweep (workflow: inbox_drive_sweep, depends_on: none) - not run before"
        in capsys.readouterr().out
    )
    assert not state.exists()
    assert main(["workflow", "run", str(SEED), *options]) == 0
    written = state.read_bytes()
    capsys.readouterr()
    assert main(["workflow", "run", str(SEED), "--dry-run", "--changed", *options]) == 0
    plan = capsys.readouterr().out.splitlines()[5:]
    assert [line.split(" - ")[0] for line in plan] == [
        "  1. CACHED sweep (workflow: inbox_drive_sweep, depends_on: none)",
        "  2. CACHED report (workflow: weekly_report_pack, depends_on: sweep)",
        "  3. CACHED brief (workflow: meeting_transcript_brief, depends_on: report)",
    ]
    assert state.read_bytes() == written


def test_a_state_file_that_cannot_be_written_is_an_error_not_a_traceback(tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the state's folder should be")
    code = main(["workflow", "run", str(SEED), "--state", f"{blocker}/state.json", "--events", os.devnull])
    assert code == 2
    assert capsys.readouterr().err == f"error: FileExistsError: [Errno 17] File exists: '{blocker}'\n"
