"""One try of one task, the same on Airflow and on the CLI: that is why both agree.

A task receives its own ``params`` plus, for every task it depends on directly or through
others, each key of that task's result as ``<upstream_id>__<key>``. The caller supplies the
upstream results (Airflow pulls them from XCom, the CLI keeps them in memory); nothing here
is global. A workflow function is called the way it is written: ``f(params)``,
``f(params, context)`` or ``f(**params)`` (:func:`call_workflow`).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_dativo.workflows.context import WorkflowContext
from airflow_provider_dativo.workflows.errors import FatalWorkflowError
from airflow_provider_dativo.workflows.registry import WorkflowFunction, WorkflowLookupError, load_workflow

PAYLOAD_SEPARATOR = "__"


def payload_params(
    params: Mapping[str, Any],
    upstream_results: Mapping[str, Mapping[str, Any] | None],
    payload_from: Sequence[str],
) -> dict[str, Any]:
    """``params`` plus ``<upstream_id>__<key>`` for each upstream result, in execution order.

    An upstream key wins over an own param of the same name: it is the fresher value.
    """
    merged = dict(params)
    for upstream_id in payload_from:
        for key, value in (upstream_results.get(upstream_id) or {}).items():
            merged[f"{upstream_id}{PAYLOAD_SEPARATOR}{key}"] = value
    return merged


def takes_context(func: WorkflowFunction) -> bool:
    """``func(params, context)`` when it has a second positional parameter or one named context."""
    try:
        parameters = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = [
        p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
    ]
    return (
        len(positional) >= 2
        or any(p.kind == p.VAR_POSITIONAL for p in positional)
        or any(p.name == "context" for p in parameters)
    )


def takes_keywords(func: WorkflowFunction) -> bool:
    """``func(**params)``: no positional parameter, only keywords (``**params`` or keyword-only
    ones), so the params are passed as keyword arguments."""
    try:
        parameters = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        return False
    keyword_kinds = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.VAR_KEYWORD)
    return bool(parameters) and all(p.kind in keyword_kinds for p in parameters)


def call_workflow(func: WorkflowFunction, params: dict[str, Any], context: WorkflowContext) -> Any:
    """Call ``func`` the way it is written: ``f(params)``, ``f(params, context)`` or
    ``f(**params)`` (which also gets ``context=`` when it names a keyword ``context``)."""
    if not takes_keywords(func):
        return func(params, context) if takes_context(func) else func(params)
    if "context" not in inspect.signature(func).parameters:
        return func(**params)
    if "context" in params:
        raise FatalWorkflowError(
            "a param named 'context' clashes with the context keyword of the workflow function; rename it"
        )
    return func(**params, context=context)


def run_workflow_task(
    ref: str, modules: list[str], params: dict[str, Any], context: WorkflowContext
) -> dict[str, Any]:
    """Call the workflow once and return its result as a JSON-able dict.

    Raises :class:`FatalWorkflowError` for what no retry can fix (an unknown reference, a result
    that is not a JSON dict); any exception of the workflow itself propagates to the retry logic.
    """
    try:
        definition = load_workflow(ref, modules)
    except (WorkflowLookupError, ImportError) as exc:
        raise FatalWorkflowError(f"workflow {ref!r} cannot be loaded: {exc}") from exc
    return checked_result(ref, call_workflow(definition.func, params, context))


def checked_result(ref: str, result: Any) -> dict[str, Any]:
    """``None`` -> ``{}``; a mapping with string keys and JSON values passes; anything else is fatal."""
    if result is None:
        return {}
    if not isinstance(result, Mapping) or not all(isinstance(k, str) for k in result):
        raise FatalWorkflowError(
            f"workflow {ref!r} returned {type(result).__name__}; a workflow returns a dict with string keys"
        )
    try:
        return json.loads(json.dumps(dict(result)))
    except (TypeError, ValueError) as exc:
        raise FatalWorkflowError(f"workflow {ref!r} returned a value that is not JSON: {exc}") from None
