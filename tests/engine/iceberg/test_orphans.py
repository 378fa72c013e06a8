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


def test_on_object_storage_only_unreferenced_files_go(tmp_path: Path) -> None:
    """A table on S3 (moto's server): listed keys are ``bucket/key``, as the referenced ones."""
    from pyiceberg.catalog import load_catalog

    from tests.support.services import S3_ACCESS_KEY, S3_REGION, S3_SECRET_KEY, start_s3

    server = start_s3(tmp_path / "s3")
    try:
        server.create_bucket("lake")
        catalog = load_catalog(
            "lake",
            type="sql",
            uri=f"sqlite:///{tmp_path}/catalog.db",
            warehouse="s3://lake/warehouse",
            **{
                "s3.endpoint": server.endpoint,
                "s3.region": S3_REGION,
                "s3.access-key-id": S3_ACCESS_KEY,
                "s3.secret-access-key": S3_SECRET_KEY,
            },
        )
        catalog.create_namespace("acme")
        table = catalog.create_table("acme.t", schema=pa.schema([("a", pa.int64())]))
        for values in ([1, 2], [3]):
            table.append(pa.table({"a": values}))
        server.client().put_object(Bucket="lake", Key="warehouse/acme/t/data/stray.parquet", Body=b"x")
        report = remove_orphan_files(table, older_than=timedelta(0))
        assert report.orphans == ["s3://lake/warehouse/acme/t/data/stray.parquet"]
        assert report.deleted == 1
        assert {f"lake/{key}" for key in server.keys("lake", "warehouse/acme/t/")} == referenced_files(table)
        assert sorted(catalog.load_table("acme.t").scan().to_arrow()["a"].to_pylist()) == [1, 2, 3]
    finally:
        server.stop()
