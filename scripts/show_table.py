"""Print the Iceberg table a schedule writes: its snapshots and its rows (used by the demo)."""

from __future__ import annotations

import sys

from airflow_provider_dativo.config.loader import load_runner
from airflow_provider_dativo.engine.iceberg_writer import open_catalog


def main(runner_path: str, schedule_name: str) -> int:
    plan = load_runner(runner_path)
    spec = next((s for s in plan.specs if s.schedule.name == schedule_name), None)
    if spec is None:
        print(f"no healthy schedule {schedule_name!r} in {runner_path}", file=sys.stderr)
        return 2
    target = spec.job.config.target
    table = open_catalog(target).load_table((spec.job.namespace, target.table))
    rows = table.scan().to_arrow()
    print(f"\nIceberg table {spec.job.asset_uri}: {rows.num_rows} rows, location {table.location()}")
    for snapshot in table.snapshots():
        summary = snapshot.summary.additional_properties if snapshot.summary else {}
        print(
            f"  snapshot {snapshot.snapshot_id}: run {summary.get('dativo.run-id', '?')}, "
            f"+{summary.get('added-records', 0)} rows"
        )
    print(rows.slice(0, 10).to_pandas().to_string() if _has_pandas() else rows.slice(0, 10))
    return 0


def _has_pandas() -> bool:
    try:
        import pandas  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
