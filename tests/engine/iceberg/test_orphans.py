"""Orphan-file clean-up (engine/iceberg/orphans.py) on real tables: it never touches a referenced file."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airflow_provider_dativo.engine.iceberg.orphans import referenced_files, remove_orphan_files
from tests.support.iceberg_checks import orphan_files
from tests.support.workspace import order_rows


def _table_with_history(ws):
    """Three appends, then an overwrite: manifests with deleted entries, older snapshots."""
    for i, ids in enumerate([(1, 2), (3,), (4, 5)]):
        ws.csv("orders.csv", *order_rows(*ids))
        assert ws.run(ws.job(), run_id=f"a{i}").result.exit_code == 0
    ws.csv("orders.csv", *order_rows(6))
    assert ws.run(ws.job(mode="overwrite"), run_id="o").result.exit_code == 0
    return ws.table()


def test_nothing_referenced_by_any_snapshot_is_removed(ws) -> None:
    table = _table_with_history(ws)
    first = table.metadata.snapshots[0].snapshot_id
    before_first = table.scan(snapshot_id=first).to_arrow()
    report = remove_orphan_files(table, older_than=timedelta(0))
    assert (report.orphans, report.deleted) == ([], 0)
    assert report.referenced > len(table.metadata.snapshots)
    # time travel to the first snapshot still reads every file it needs
    table = ws.table()
    assert table.scan(snapshot_id=first).to_arrow().equals(before_first)
    assert [r["order_id"] for r in ws.rows()] == [6]


def test_stray_files_are_found_listed_in_a_dry_run_and_deleted(ws) -> None:
    table = _table_with_history(ws)
    data_dir = ws.home / "warehouse" / "acme" / "orders" / "data"
    stray = data_dir / "stray-00000.parquet"
    pq.write_table(pa.table({"x": [1]}), stray)
    (data_dir / "nested").mkdir()
    (data_dir / "nested" / "leftover.avro").write_bytes(b"x")
    expected = sorted(f"file://{p}" for p in (stray, data_dir / "nested" / "leftover.avro"))

    dry = remove_orphan_files(table, older_than=timedelta(0), dry_run=True)
    assert (dry.orphans, dry.deleted) == (expected, 0)
    assert stray.exists()

    later = datetime.now(timezone.utc) + timedelta(days=4)  # the files are 4 days old by then
    done = remove_orphan_files(table, now=later)
    assert (done.orphans, done.deleted, done.too_young) == (expected, 2, 0)
    assert not stray.exists() and orphan_files(ws.table()) == []
    assert [r["order_id"] for r in ws.rows()] == [6]


def test_every_referenced_location_exists(ws) -> None:
    """The referenced set is built from real metadata: each entry names a file on disk."""
    table = _table_with_history(ws)
    paths = referenced_files(table)
    assert paths and all(Path(p).is_file() for p in paths)


def test_negative_age_is_refused(ws) -> None:
    table = _table_with_history(ws)
    with pytest.raises(ValueError, match="older_than cannot be negative"):
        remove_orphan_files(table, older_than=timedelta(seconds=-1))
