"""Partitioned, sorted and merged tables are valid Iceberg for another implementation: DuckDB's
``iceberg`` extension (C++, its own metadata, manifest and Parquet readers; installed from PyPI
as ``duckdb-extension-iceberg``) reads them back with the same rows as pyiceberg."""

from __future__ import annotations

from decimal import Decimal

from tests.support.table_files import ORDER_FIELDS, duckdb_connection, duckdb_rows, live_files

FIELDS = [*ORDER_FIELDS, {"name": "score", "type": "double"}]
HEADER = "order_id,status,amount,ship_date,ordered_at,score"


def _rows(ids: range, status: str, day_shift: int = 0) -> list[str]:
    out = []
    for i in ids:
        day = 1 + (i + day_shift) % 5
        stamp = "" if i % 13 == 0 else f"2024-03-{day:02d}T{i % 24:02d}:30:00Z"
        ship = "" if i % 7 == 0 else f"2024-03-{day:02d}"
        out.append(f"{i},{'' if i % 5 == 0 else status},{i}.{i % 100:02d},{ship},{stamp},{i / 3}")
    return out


def test_duckdb_reads_a_partitioned_sorted_merged_evolved_table_like_pyiceberg(ws) -> None:
    ws.asset(FIELDS)
    job = ws.job(
        mode="merge",
        merge_keys=["order_id"],
        partition_by=["day(ordered_at)", "bucket(8, order_id)", "truncate(3, status)"],
        sort_by=["ordered_at desc", "order_id"],
    )
    ws.csv("orders.csv", *_rows(range(1, 301), "paid"), header=HEADER)
    assert ws.run(job, run_id="load").result.exit_code == 0
    ws.csv("orders.csv", *_rows(range(250, 351), "shipped", day_shift=2), header=HEADER)  # 51 updates
    assert ws.run(job, run_id="merge").result.exit_code == 0
    evolved = ws.job(
        mode="merge", merge_keys=["order_id"], partition_by=["month(ship_date)"], sort_by=["amount desc"]
    )
    ws.csv("orders.csv", *_rows(range(340, 401), "cancelled"), header=HEADER)
    assert ws.run(evolved, run_id="evolved").result.exit_code == 0

    table = ws.table()
    assert len(table.specs()) == 2 and len({f.spec_id for f in live_files(table)}) == 2
    expected = sorted(table.scan().to_arrow().to_pylist(), key=lambda r: r["order_id"])
    seen = duckdb_rows(table, order_by="order_id")
    assert len(seen) == len(expected) == 400
    assert seen == expected
    assert {r["status"] for r in seen if 250 <= r["order_id"] < 340 and r["order_id"] % 5} == {"shipped"}
    assert seen[11]["amount"] == Decimal("12.12")

    con = duckdb_connection()
    try:
        listed = con.execute(
            "SELECT file_path, status FROM iceberg_metadata(?)", [table.metadata_location]
        ).fetchall()
        # a partition filter as another engine would push it down
        march_2 = con.execute(
            "SELECT count(*) FROM iceberg_scan(?) WHERE ordered_at >= TIMESTAMPTZ '2024-03-02 00:00:00+00' "
            "AND ordered_at < TIMESTAMPTZ '2024-03-03 00:00:00+00'",
            [table.metadata_location],
        ).fetchone()[0]
    finally:
        con.close()
    # DuckDB's reading of the manifests lists the same live data files as pyiceberg's
    assert {path for path, status in listed if status != "DELETED"} == {f.path for f in live_files(table)}
    assert march_2 == sum(
        1 for r in expected if r["ordered_at"] is not None and r["ordered_at"].day == 2
    )
