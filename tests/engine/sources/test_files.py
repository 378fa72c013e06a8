"""csv, jsonl and parquet sources land in Iceberg with exact values."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq

from tests.support.workspace import HEADER

UTC = timezone.utc

EXPECTED = [
    {
        "order_id": 1,
        "email": "a@example.com",
        "status": "paid",
        "amount": Decimal("10.50"),
        "quantity": 2,
        "score": 0.25,
        "gift": True,
        "ship_date": date(2024, 1, 3),
        "ordered_at": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
    },
    {
        "order_id": 2,
        "email": None,
        "status": "shipped",
        "amount": Decimal("0.00"),
        "quantity": None,
        "score": -1.5,
        "gift": False,
        "ship_date": None,
        "ordered_at": datetime(2024, 1, 2, 1, 0, tzinfo=UTC),
    },
]

CSV_ROWS = (
    "1,a@example.com,paid,10.5,2,0.25,true,2024-01-03,2024-01-02T03:04:05Z",
    "2,,shipped,0,,-1.5,false,,2024-01-02 03:00:00+02:00",
)


def test_csv_load_exact_values_metrics_and_snapshot_properties(ws) -> None:
    ws.csv("orders.csv", *CSV_ROWS)
    run = ws.run(ws.job(), run_id="run-7", job_name="acme_orders")
    result = run.result
    assert (result.exit_code, result.error, result.error_type) == (0, None, None)
    assert ws.rows() == EXPECTED

    metrics = result.metrics
    assert list(metrics)[:10] == [
        "job_name",
        "tenant_id",
        "status",
        "execution_time_seconds",
        "records_extracted",
        "records_valid",
        "records_invalid",
        "files_written",
        "total_bytes",
        "records_per_second",
    ]
    assert metrics["job_name"] == "acme_orders" and metrics["tenant_id"] == "acme"
    assert metrics["status"] == "success"
    assert (metrics["records_extracted"], metrics["records_valid"], metrics["records_invalid"]) == (2, 2, 0)
    assert metrics["files_written"] >= 1 and metrics["total_bytes"] > 0
    assert isinstance(metrics["execution_time_seconds"], float)
    assert metrics["table"] == "acme.orders"

    snapshot = ws.table().current_snapshot()
    assert snapshot.snapshot_id == metrics["snapshot_id"]
    assert snapshot.summary["dativo.run-id"] == "run-7"
    assert snapshot.summary["dativo.job-name"] == "acme_orders"
    assert int(snapshot.summary["added-files-size"]) == metrics["total_bytes"]


def test_table_schema_follows_asset(ws) -> None:
    ws.csv("orders.csv", *CSV_ROWS)
    assert ws.run(ws.job()).result.exit_code == 0
    schema = ws.table().schema()
    assert [f.name for f in schema.fields] == HEADER.split(",")
    assert schema.find_field("order_id").required
    assert not schema.find_field("email").required
    assert str(schema.find_field("ordered_at").field_type) == "timestamptz"


def test_csv_without_header_and_custom_delimiter(ws) -> None:
    ws.data("orders.csv", "\n".join(row.replace(",", ";") for row in CSV_ROWS) + "\n")
    run = ws.run(ws.job(source={"header": False, "delimiter": ";"}))
    assert run.result.exit_code == 0, run.result.error
    assert ws.rows() == EXPECTED


def test_glob_reads_every_matching_csv(ws) -> None:
    ws.csv("orders-1.csv", CSV_ROWS[0])
    ws.csv("orders-2.csv", CSV_ROWS[1])
    ws.csv("other.csv", "99,x@y.io,paid,1,1,1,true,2024-01-01,2024-01-01")
    run = ws.run(ws.job(path="../../data/orders-*.csv"))
    assert run.result.exit_code == 0, run.result.error
    assert run.result.metrics["records_extracted"] == 2
    assert ws.rows() == EXPECTED


def test_jsonl_load_typed_and_missing_keys(ws) -> None:
    ws.data(
        "orders.jsonl",
        '{"order_id": 1, "email": "a@example.com", "status": "paid", "amount": 10.5, "quantity": 2, '
        '"score": 0.25, "gift": true, "ship_date": "2024-01-03", "ordered_at": "2024-01-02T03:04:05Z"}\n'
        '{"order_id": 2, "status": "shipped", "amount": 0, "score": -1.5, "gift": false, '
        '"ordered_at": "2024-01-02 03:00:00+02:00"}\n',
    )
    run = ws.run(ws.job(connector="jsonl", path="../../data/orders.jsonl"))
    assert run.result.exit_code == 0, run.result.error
    assert ws.rows() == EXPECTED


def test_jsonl_mixed_json_types_in_a_column_name_the_file(ws) -> None:
    path = ws.data("orders.jsonl", '{"order_id": 1}\n{"order_id": "two"}\n')
    run = ws.run(ws.job(connector="jsonl", path="../../data/orders.jsonl"))
    assert run.result.exit_code == 2
    assert str(path) in run.result.error and "order_id" in run.result.error


def test_jsonl_bad_values_fail_per_row(ws) -> None:
    ws.data(
        "orders.jsonl",
        '{"order_id": 1, "quantity": 2.5}\n{"order_id": 2, "quantity": 3}\n{"quantity": 4}\n',
    )
    run = ws.run(ws.job(connector="jsonl", path="../../data/orders.jsonl", validation="warn"))
    assert run.result.exit_code == 1
    assert run.result.metrics["invalid_by_rule"] == {"order_id.required": 1, "quantity.type": 1}
    assert [r["order_id"] for r in ws.rows()] == [2]


def _parquet_table() -> pa.Table:
    return pa.table(
        {
            "order_id": pa.array([2, 1], pa.int32()),  # widened to long
            "email": [None, "a@example.com"],
            "status": ["shipped", "paid"],
            "amount": pa.array([Decimal("0"), Decimal("10.5")], pa.decimal128(6, 1)),
            "quantity": pa.array([None, 2], pa.int64()),  # narrowed to int (safe: values fit)
            "score": [-1.5, 0.25],
            "gift": [False, True],
            "ship_date": pa.array([None, date(2024, 1, 3)], pa.date32()),
            "ordered_at": pa.array(
                [datetime(2024, 1, 2, 1, 0), datetime(2024, 1, 2, 3, 4, 5)], pa.timestamp("ms")
            ),  # naive = UTC
        }
    )


def test_parquet_load_casts_to_asset_types(ws) -> None:
    path = ws.data("orders.parquet", b"")
    pq.write_table(_parquet_table(), path)
    run = ws.run(ws.job(connector="parquet", path="../../data/orders.parquet"))
    assert run.result.exit_code == 0, run.result.error
    assert ws.rows() == EXPECTED


def test_parquet_uncastable_column_names_file_and_column(ws) -> None:
    table = _parquet_table().set_column(4, "quantity", pa.array([None, 2**40], pa.int64()))
    path = ws.data("orders.parquet", b"")
    pq.write_table(table, path)
    run = ws.run(ws.job(connector="parquet", path="../../data/orders.parquet"))
    assert run.result.exit_code == 2
    assert str(path) in run.result.error and "'quantity'" in run.result.error
    assert run.result.error_type == "SourceError"
