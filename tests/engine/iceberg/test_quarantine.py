"""Warn mode keeps rejected records, with their reasons, in ``<table>__rejected``; strict writes nothing."""

from __future__ import annotations

from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.parquet as pq

from tests.support.faults import faulty_catalog
from tests.support.iceberg_checks import snapshot_properties
from tests.support.workspace import HEADER, ORDERS_FIELDS

GOOD = "1,a@example.com,paid,10.5,2,0.25,true,2024-01-03,2024-01-02T03:04:05Z"
NOT_AN_INT = "2,b@example.com,paid,1,2.5,0.25,true,2024-01-03,2024-01-02T03:04:05Z"
TWO_RULES = "3,not-an-email,lost,-1,1,0.25,true,2024-01-03,2024-01-02T03:04:05Z"


def test_rejected_records_are_kept_verbatim_with_reasons_and_run(ws) -> None:
    ws.csv("orders.csv", GOOD, NOT_AN_INT, TWO_RULES)
    started = datetime.now(timezone.utc)
    result = ws.run(ws.job(validation="warn"), run_id="run-q", job_name="orders_job").result
    assert result.exit_code == 1
    assert result.metrics["records_quarantined"] == 2
    assert result.metrics["quarantine_table"] == "acme.orders__rejected"
    assert result.error.endswith("; rejected records kept in acme.orders__rejected")
    assert [r["order_id"] for r in ws.rows()] == [1]

    rejected = ws.rows("acme.orders__rejected")
    assert [r["order_id"] for r in rejected] == ["2", "3"]
    first, second = rejected
    assert first["quantity"] == "2.5"  # the text that did not parse, exactly as read
    assert first["_dativo_reasons"] == ["quantity.type"]
    assert second["_dativo_reasons"] == ["email.pattern", "status.enum", "amount.min"]  # asset order
    assert second["email"] == "not-an-email" and second["amount"] == "-1"
    assert {r["_dativo_run_id"] for r in rejected} == {"run-q"}
    assert {r["_dativo_job_name"] for r in rejected} == {"orders_job"}
    assert all(started <= r["_dativo_rejected_at"] <= datetime.now(timezone.utc) for r in rejected)
    # nothing silently dropped: every rule count is a rejected record's reason
    reasons = [reason for r in rejected for reason in r["_dativo_reasons"]]
    assert {k: reasons.count(k) for k in reasons} == result.metrics["invalid_by_rule"]

    schema = ws.table("acme.orders__rejected").schema()
    assert all(str(schema.find_field(n).field_type) == "string" for n in ("order_id", "amount", "ordered_at"))


def test_strict_mode_writes_nothing_anywhere(ws) -> None:
    ws.csv("orders.csv", GOOD, NOT_AN_INT)
    result = ws.run(ws.job()).result
    assert result.exit_code == 2
    assert result.metrics["invalid_by_rule"] == {"quantity.type": 1}
    catalog = ws.catalog()
    assert not catalog.table_exists("acme.orders")
    assert not catalog.table_exists("acme.orders__rejected")
    assert not list(ws.home.rglob("*.parquet"))


def test_parquet_values_are_quarantined_as_text(ws) -> None:
    path = ws.data("orders.parquet", b"")
    table = pa.table({"order_id": pa.array([1, 2], pa.int64()), "quantity": pa.array([5, 500], pa.int64())})
    pq.write_table(table, path)
    result = ws.run(ws.job(connector="parquet", path="../../data/orders.parquet", validation="warn")).result
    assert result.exit_code == 1
    [row] = ws.rows("acme.orders__rejected")
    assert (row["order_id"], row["quantity"], row["_dativo_reasons"]) == ("2", "500", ["quantity.max"])
    assert row["email"] is None


def test_a_retried_run_does_not_quarantine_twice(ws) -> None:
    ws.csv("orders.csv", GOOD, NOT_AN_INT)
    # the quarantine commit succeeds, the target's commit loses every race: the run fails ...
    failing = ws.job(validation="warn", catalog=faulty_catalog(ws.home, "ConflictingCatalog", conflicts=99))
    first = ws.run(failing, run_id="try").result
    assert first.exit_code == 2 and first.error_type == "CommitConflict"
    assert len(ws.rows("acme.orders__rejected")) == 1
    assert ws.table().scan().to_arrow().num_rows == 0

    # ... and its retry (same run id) writes the target but not the rejected records again
    retry = ws.run(ws.job(validation="warn"), run_id="try").result
    assert retry.exit_code == 1, retry.error
    assert [r["order_id"] for r in ws.rows()] == [1]
    assert len(ws.rows("acme.orders__rejected")) == 1
    assert [p["dativo.run-id"] for p in snapshot_properties(ws.table("acme.orders__rejected"))] == ["try"]


def test_new_asset_field_becomes_a_new_quarantine_column(ws) -> None:
    ws.csv("orders.csv", GOOD, NOT_AN_INT)
    ws.run(ws.job(validation="warn"), run_id="r1")
    ws.asset([*ORDERS_FIELDS, {"name": "note", "type": "string"}])
    ws.csv(
        "orders.csv", GOOD + ",hi", NOT_AN_INT.replace("2,b@", "4,b@") + ",bad qty", header=HEADER + ",note"
    )
    result = ws.run(ws.job(validation="warn"), run_id="r2").result
    assert result.exit_code == 1, result.error
    rejected = ws.rows("acme.orders__rejected")
    assert [(r["order_id"], r["note"]) for r in rejected] == [("2", None), ("4", "bad qty")]
    assert [f.name for f in ws.table("acme.orders__rejected").schema().fields][-1] == "note"


def test_retry_of_a_committed_partial_run_reports_partial_and_writes_nothing(ws) -> None:
    ws.csv("orders.csv", GOOD, NOT_AN_INT)
    job = ws.job(validation="warn")
    first = ws.run(job, run_id="try").result
    assert first.exit_code == 1
    assert snapshot_properties(ws.table())[0]["dativo.run-status"] == "partial"

    retry = ws.run(job, run_id="try")
    result = retry.result
    assert (result.exit_code, result.metrics["status"]) == (1, "partial")
    assert result.error_type == "ValidationError"
    assert result.metrics["already_committed"] is True
    assert result.metrics["snapshot_id"] == first.metrics["snapshot_id"]
    assert result.error == (
        f"validation failed (warn) in an earlier try: run try was already committed (snapshot "
        f"{first.metrics['snapshot_id']}); nothing written; the records it rejected are in "
        "acme.orders__rejected"
    )
    assert retry.events[-1]["event_type"] == "job_finished" and retry.events[-1]["exit_code"] == 1
    assert [r["order_id"] for r in ws.rows()] == [1]
    assert len(ws.rows("acme.orders__rejected")) == 1
