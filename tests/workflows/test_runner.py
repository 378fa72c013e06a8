"""The in-process runner: payloads, tenacity retries with exact delays, failures, selection, events."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_dativo.workflows.runner import RunSummary
from tests.support.examples import EXAMPLES
from tests.support.workflow_files import (
    DIAMOND,
    SEED_BRIEF_INPUTS,
    read_events,
    run_cli,
    task,
    write_workflow,
)


def run(path: Path, tmp_path: Path, **options) -> RunSummary:
    return run_cli(path, tmp_path, run_id="run-1", **options)


def statuses(summary: RunSummary) -> dict[str, str]:
    return {task_id: result.status for task_id, result in summary.results.items()}


def test_seed_example_third_task_sees_the_first_two_tasks_keys(tmp_path: Path) -> None:
    summary = run(EXAMPLES / "workflows" / "weekly_ops_chain.yaml", tmp_path)
    assert summary.exit_code == 0 and list(summary.results) == ["sweep", "report", "brief"]
    brief = summary.results["brief"].output
    assert brief["inputs"] == SEED_BRIEF_INPUTS
    assert brief["brief"] == (
        "Sprint Review: Week 2025-10-01..2025-10-07: 4 inbox items, 2 urgent (Prioritized 4 items)"
    )
    assert brief["tenant"] == "local-dev"


def test_fails_twice_then_succeeds_with_exact_backoff_and_retry_events(tmp_path: Path) -> None:
    counter = tmp_path / "counter"
    path = write_workflow(
        tmp_path / "wf.yaml",
        "flaky_chain",
        [
            task(
                "flaky",
                "flaky",
                params={"counter": str(counter), "fail_times": 2},
                retries=3,
                retry_delay_seconds=1.5,
                backoff_multiplier=3,
                max_retry_delay_seconds=4,
            ),
            task("after", "echo", "flaky"),
        ],
    )
    sleeps: list[float] = []
    summary = run(path, tmp_path, sleeps=sleeps)
    assert statuses(summary) == {"flaky": "success", "after": "success"}
    assert summary.results["flaky"].attempts == 3 and summary.results["flaky"].output == {"tries": 3}
    assert sleeps == [1.5, 4.0]  # min(1.5 * 3^(n-1), 4)
    events = read_events(tmp_path / "events.jsonl")
    assert [e["event"] for e in events] == [
        "dag_start",
        "task_start",
        "task_retry",
        "task_start",
        "task_retry",
        "task_start",
        "task_ok",
        "task_start",
        "task_ok",
        "dag_done",
    ]
    retries = [e for e in events if e["event"] == "task_retry"]
    assert [(r["task_id"], r["attempt"], r["delay_seconds"]) for r in retries] == [
        ("flaky", 1, 1.5),
        ("flaky", 2, 4.0),
    ]
    assert retries[0]["error"] == "RuntimeError: flaky failure 1"
    assert summary.results["after"].output["params"] == {"flaky__tries": 3}


def test_retries_run_out_and_stop_the_run(tmp_path: Path) -> None:
    path = write_workflow(
        tmp_path / "wf.yaml",
        "w",
        [task("a", "boom", retries=2, retry_delay_seconds=0), task("b", "echo", "a"), task("c")],
    )
    summary = run(path, tmp_path)
    assert summary.exit_code == 2
    assert statuses(summary) == {"a": "failed", "c": "skipped", "b": "skipped"}  # order: a, c, b
    assert summary.results["a"].attempts == 3 and summary.results["a"].error == "RuntimeError: boom"
    assert summary.results["c"].reason == "the run stopped after a failed"
    done = read_events(tmp_path / "events.jsonl")[-1]
    assert (done["event"], done["status"], done["tasks_failed"], done["tasks_skipped"]) == (
        "dag_done",
        "failed",
        1,
        2,
    )


@pytest.mark.parametrize("ref", ["fatal", "not_a_dict"])
def test_what_no_retry_can_fix_is_tried_once(tmp_path: Path, ref: str) -> None:
    path = write_workflow(tmp_path / "wf.yaml", "w", [task("a", ref, retries=5)])
    summary = run(path, tmp_path)
    assert summary.results["a"].status == "failed" and summary.results["a"].attempts == 1
    assert "FatalWorkflowError" in summary.results["a"].error


def test_continue_on_error_skips_exactly_the_dependants(tmp_path: Path) -> None:
    tasks = [dict(t) for t in DIAMOND]
    tasks[1] = task("b", "boom", "a")  # a -> (b fails, c) -> d; e independent
    tasks.append(task("f", "echo", "d"))
    tasks.append(task("g", "echo", "c", "e"))
    path = write_workflow(tmp_path / "wf.yaml", "w", tasks)
    summary = run(path, tmp_path, continue_on_error=True)
    assert statuses(summary) == {
        "a": "success",
        "e": "success",
        "b": "failed",
        "c": "success",
        "d": "skipped",
        "g": "success",
        "f": "skipped",
    }
    assert summary.results["d"].reason == "upstream b did not succeed"
    assert summary.results["f"].reason == "upstream d did not succeed"
    assert (
        summary.as_dict()["succeeded"] == 4 and summary.as_dict()["skipped"] == 2 and summary.exit_code == 2
    )


def test_only_runs_what_the_tasks_need_or_with_downstream_what_depends_on_them(tmp_path: Path) -> None:
    path = write_workflow(tmp_path / "wf.yaml", "w", DIAMOND)
    up = run(path, tmp_path, only=["b"])
    assert [t for t, s in statuses(up).items() if s == "success"] == ["a", "b"]
    assert up.results["d"].reason == "not selected by --only"
    down = run(path, tmp_path, only=["b"], downstream=True)
    assert [t for t, s in statuses(down).items() if s == "success"] == ["b", "d"]
    # selection does not cascade: d runs without the keys of c, which was left out
    assert down.results["d"].output["seen"] == ["b__params", "b__seen", "b__task"]
    with pytest.raises(ValueError, match=r"unknown task id.*zz.*task ids: a, e, b, c, d"):
        run(path, tmp_path, only=["zz"])


def test_excluded_tags_skip_tasks_but_not_their_dependants(tmp_path: Path) -> None:
    path = write_workflow(
        tmp_path / "wf.yaml",
        "w",
        [task("a", tags=["expensive"]), task("b", "echo", "a"), task("c", tags=["x"])],
    )
    summary = run(path, tmp_path, exclude_tags=["expensive", "x"])
    assert statuses(summary) == {"a": "skipped", "c": "skipped", "b": "success"}
    assert summary.results["a"].reason == "excluded by tag 'expensive'"
    assert summary.exit_code == 0


def test_events_carry_the_seed_keys_and_the_run_identity(tmp_path: Path) -> None:
    run(write_workflow(tmp_path / "wf.yaml", "ev", [task("a")]), tmp_path)
    run(write_workflow(tmp_path / "wf.yaml", "ev", [task("a")]), tmp_path)  # appended, not replaced
    events = read_events(tmp_path / "events.jsonl")
    assert len(events) == 8
    for event in events:
        assert {"timestamp", "event", "dag_name", "tenant_id", "run_id"} <= set(event)
        assert event["dag_name"] == "ev" and event["tenant_id"] == "acme" and event["run_id"] == "run-1"
    ok = events[2]
    assert (
        ok["event"] == "task_ok" and ok["task_id"] == "a" and ok["attempts"] == 1 and "duration_seconds" in ok
    )
    assert events[3]["tasks_succeeded"] == 1 and events[3]["tasks_total"] == 1


def test_keyword_workflows_receive_params_and_upstream_keys_on_the_cli(tmp_path: Path) -> None:
    path = write_workflow(
        tmp_path / "wf.yaml",
        "kw",
        [task("a", "keywords", params={"x": 1}), task("b", "keywords_and_context", "a", params={"y": 2})],
    )
    summary = run(path, tmp_path)
    assert summary.results["a"].output == {"keys": ["x"], "total": 1}
    assert summary.results["b"].output == {
        "keys": ["a__keys", "a__total", "y"],
        "task": "b",
        "orchestrator": "cli",
    }
