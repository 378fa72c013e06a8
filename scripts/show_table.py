"""Print the Iceberg table a schedule writes: its snapshots and its rows (used by the demo)."""

from __future__ import annotations

import sys

from airflow_provider_dativo.engine.iceberg.catalog import open_catalog
from airflow_provider_dativo.plan.runner import load_runner


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
    print_rows(rows.slice(0, 10).to_pylist(), rows.column_names)
    if rows.num_rows > 10:
        print(f"  ... {rows.num_rows - 10} more rows")
    return 0


def print_rows(records: list[dict], columns: list[str]) -> None:
    """A plain text table: no pandas needed."""
    cells = [[("" if r[c] is None else str(r[c])) for c in columns] for r in records]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    print("  " + "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    for row in cells:
        print("  " + "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
