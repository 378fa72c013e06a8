"""The three example workflows of seed 003, as plain Python functions.

``weekly_ops_chain.yaml`` lists this file in ``workflow_modules``: it is imported when the
workflow file is loaded (DAG parsing, ``dativo workflow plan|run``), which registers the
functions under the names the tasks' ``workflow_ref`` use. Keep module-level code light (no
heavy imports): it runs at every DAG parse.

Each function gets its task's ``params`` plus ``<upstream_id>__<key>`` for every key returned
by the tasks it depends on, directly or through others, and returns a dict.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_dativo.workflows import WorkflowContext, register_workflow


@register_workflow("inbox_drive_sweep")
def inbox_drive_sweep(params: dict[str, Any]) -> dict[str, Any]:
    """Count the inbox items (one per line) and pick the urgent ones."""
    items = [line.strip() for line in str(params.get("inbox_items", "")).splitlines() if line.strip()]
    urgent = [item for item in items if "urgent" in item.lower()]
    return {"summary": f"Prioritized {len(items)} items", "items": len(items), "urgent": urgent}


@register_workflow("weekly_report_pack")
def weekly_report_pack(params: dict[str, Any]) -> dict[str, Any]:
    """A weekly status line for the period, using the sweep's counts."""
    period = f"{params['start_date']}..{params['end_date']}"
    urgent = len(params.get("sweep__urgent", []))
    return {
        "summary": f"Week {period}: {params.get('sweep__items', 0)} inbox items, {urgent} urgent",
        "period": period,
        "inputs": sorted(params),
    }


@register_workflow("meeting_transcript_brief")
def meeting_transcript_brief(params: dict[str, Any], context: WorkflowContext) -> dict[str, Any]:
    """A meeting brief built from both earlier tasks (the sweep's keys arrive through the report)."""
    report, sweep = params.get("report__summary"), params.get("sweep__summary")
    return {
        "brief": f"{params['meeting_title']}: {report} ({sweep})",
        "inputs": sorted(params),
        "tenant": context.tenant_id,
    }
