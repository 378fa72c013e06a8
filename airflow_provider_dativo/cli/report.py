"""``dativo report [--hours N] [--json] [--events FILE ...]``: seed 003's dashboard in a terminal.

Reads the JSON Lines events of ``dativo workflow run`` (``ORCH_EVENTS_PATH``, default
``logs/orchestrator_events.jsonl``) and of ``dativo run`` (its stdout saved to a file), and
prints the KPIs, tenants, recent runs and schedules; ``--json`` prints the same summary as one
JSON object, in the shape of the Dativo view's ``/dativo/api/summary``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def add_report_parser(sub: argparse._SubParsersAction) -> None:
    report = sub.add_parser("report", help="summarize the events of `dativo workflow run` and `dativo run`")
    report.add_argument(
        "--hours", type=float, default=24.0, help="window of the KPIs and tenants (default 24)"
    )
    report.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    report.add_argument(
        "--events",
        action="append",
        default=None,
        metavar="FILE",
        help="JSON Lines event file; repeat for several (default: ORCH_EVENTS_PATH or "
        "logs/orchestrator_events.jsonl)",
    )
    report.add_argument(
        "--limit", type=int, default=50_000, help="read at most the last N events (default 50000)"
    )


def cmd_report(args: argparse.Namespace) -> int:
    from airflow_provider_dativo.analytics import load_events
    from airflow_provider_dativo.analytics.report import build_report, render_report
    from airflow_provider_dativo.workflows.events import events_path

    if args.hours <= 0:
        print("--hours must be greater than 0", file=sys.stderr)
        return 2
    paths = args.events or [events_path()]
    missing = [p for p in paths if not os.path.isfile(p)]
    for path in missing:
        print(f"warning: no event file {path}", file=sys.stderr)
    report = build_report(load_events(paths, limit=args.limit), hours=args.hours)
    if args.json:
        print(json.dumps(report, default=str))
    else:
        sys.stdout.write(render_report(report))
    return 0
