"""Workflows the tests reference as ``tests.support.sample_workflows:<function>``."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from airflow_provider_dativo.workflows import FatalWorkflowError, WorkflowContext

REF = "tests.support.sample_workflows:"


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


def keywords(**params: Any) -> dict[str, Any]:
    """Written ``f(**params)``: gets the params (upstream keys included) as keyword arguments."""
    return {"keys": sorted(params), "total": sum(v for v in params.values() if isinstance(v, int))}


def keywords_and_context(*, context: WorkflowContext, **params: Any) -> dict[str, Any]:
    return {"keys": sorted(params), "task": context.task_id, "orchestrator": context.orchestrator}


def tally(params: dict[str, Any], context: WorkflowContext) -> dict[str, Any]:
    """Appends its task id to the file ``log`` (so tests see which tasks really ran) and returns
    its ``value`` param and the keys it received."""
    with Path(params["log"]).open("a") as log:
        log.write(context.task_id + "\n")
    return {"value": params.get("value"), "seen": sorted(params), "rows": params.get("rows", 0)}


def gate(params: dict[str, Any]) -> dict[str, Any]:
    """Writes the file ``started``, then waits (at most a minute) until the file ``release`` exists."""
    Path(params["started"]).write_text("started")
    deadline = time.monotonic() + 60
    while not Path(params["release"]).exists():
        if time.monotonic() > deadline:
            raise TimeoutError("never released")
        time.sleep(0.05)
    return {"released": True}


def die_once(params: dict[str, Any]) -> dict[str, Any]:
    """Kills its own process (SIGKILL: no clean-up runs) the first time, succeeds afterwards."""
    marker = Path(params["marker"])
    if not marker.exists():
        marker.write_text("killed once")
        os.kill(os.getpid(), signal.SIGKILL)
    return {"survived": True}
