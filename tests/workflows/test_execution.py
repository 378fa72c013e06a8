"""The task try both runners share: payload keys, calling convention, result checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_dativo.workflows import FatalWorkflowError, WorkflowContext
from airflow_provider_dativo.workflows.execution import (
    checked_result,
    payload_params,
    run_workflow_task,
    takes_context,
)
from tests.support.sample_workflows import REF

CONTEXT = WorkflowContext("dag", "wf", "acme", "t", "run-1", 1, Path("/tmp"))


def test_upstream_keys_are_namespaced_in_order_and_win_over_own_params() -> None:
    params = payload_params(
        {"own": 1, "a__x": "stale"},
        {"a": {"x": 1, "y": [1]}, "b": None, "c": {"z": True}},
        ["a", "b", "c"],
    )
    assert params == {"own": 1, "a__x": 1, "a__y": [1], "c__z": True}
    assert payload_params({"own": 1}, {"a": {"x": 1}}, []) == {"own": 1}


def test_functions_get_the_context_only_when_they_ask_for_it() -> None:
    def one(params): ...
    def two(params, ctx): ...
    def named(params, *, context): ...
    def star(*args): ...

    assert [takes_context(f) for f in (one, two, named, star, print)] == [False, True, True, True, True]


def test_results_must_be_json_dicts() -> None:
    assert checked_result("w", None) == {}
    assert checked_result("w", {"t": (1, 2)}) == {"t": [1, 2]}
    with pytest.raises(FatalWorkflowError, match="returned list"):
        checked_result("w", [1])
    with pytest.raises(FatalWorkflowError, match="not JSON"):
        checked_result("w", {"x": object()})


def test_unknown_ref_at_run_time_is_fatal() -> None:
    with pytest.raises(FatalWorkflowError, match="cannot be loaded"):
        run_workflow_task("no_such_workflow", [], {}, CONTEXT)


def test_context_resolves_paths_like_the_file_does() -> None:
    assert CONTEXT.job_run_id == "dag/run-1/t"
    assert CONTEXT.resolve_path("x/y.yaml") == Path("/tmp/x/y.yaml")
    assert run_workflow_task(REF + "echo", [], {"p": 1}, CONTEXT)["task"] == "t"


def test_a_function_written_with_keyword_params_gets_them_as_keywords() -> None:
    assert run_workflow_task(REF + "keywords", [], {"a": 1, "b__n": 2}, CONTEXT) == {
        "keys": ["a", "b__n"],
        "total": 3,
    }
    assert run_workflow_task(REF + "keywords_and_context", [], {"a": 1}, CONTEXT) == {
        "keys": ["a"],
        "task": "t",
        "orchestrator": "cli",
    }
    with pytest.raises(FatalWorkflowError, match="a param named 'context' clashes"):
        run_workflow_task(REF + "keywords_and_context", [], {"context": 1}, CONTEXT)
