"""Workflows the tests reference as ``tests.workflows.sample_workflows:<function>``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow_provider_dativo.workflows import FatalWorkflowError, WorkflowContext

REF = "tests.workflows.sample_workflows:"


def echo(params: dict[str, Any], context: WorkflowContext) -> dict[str, Any]:
    """Returns what it received, so tests can compare payloads across runners."""
    return {"seen": sorted(params), "params": params, "task": context.task_id}


def flaky(params: dict[str, Any]) -> dict[str, Any]:
    """Fails ``fail_times`` times (counted in ``counter``, a file), then succeeds."""
    counter = Path(params["counter"])
    tries = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(tries))
    if tries <= int(params["fail_times"]):
        raise RuntimeError(f"flaky failure {tries}")
    return {"tries": tries}


def boom(params: dict[str, Any]) -> dict[str, Any]:
    raise RuntimeError("boom")


def fatal(params: dict[str, Any]) -> dict[str, Any]:
    raise FatalWorkflowError("this cannot work")


def not_a_dict(params: dict[str, Any]) -> list[int]:
    return [1, 2]
