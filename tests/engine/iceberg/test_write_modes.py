"""append, overwrite and merge against a real sqlite-backed Iceberg catalog."""

from __future__ import annotations

ROW = "{id},a{id}@example.com,{status},1.5,1,0.5,true,2024-01-03,2024-01-02T03:04:05Z"


def rows(*ids: int, status: str = "paid") -> list[str]:
    return [ROW.format(id=i, status=status) for i in ids]


def test_append_twice_doubles_rows(ws) -> None:
    ws.csv("orders.csv", *rows(1, 2))
    job = ws.job()
    first = ws.run(job, run_id="a").result
    second = ws.run(job, run_id="b").result
    assert (first.exit_code, second.exit_code) == (0, 0)
    assert [r["order_id"] for r in ws.rows()] == [1, 1, 2, 2]
    table = ws.table()
    assert [s.summary["dativo.run-id"] for s in table.metadata.snapshots] == ["a", "b"]
    assert second.metrics["snapshot_id"] == table.current_snapshot().snapshot_id


def test_missing_run_id_is_recorded_as_empty(ws) -> None:
    ws.csv("orders.csv", *rows(1))
    assert ws.run(ws.job(), run_id=None).result.exit_code == 0
    assert ws.table().current_snapshot().summary["dativo.run-id"] == ""


def test_overwrite_replaces_rows(ws) -> None:
    ws.csv("orders.csv", *rows(1, 2))
    job = ws.job(mode="overwrite")
    assert ws.run(job).result.exit_code == 0
    ws.csv("orders.csv", *rows(3))
    result = ws.run(job, run_id="second").result
    assert result.exit_code == 0
    assert [r["order_id"] for r in ws.rows()] == [3]
    assert result.metrics["files_written"] == 1 and result.metrics["total_bytes"] > 0
    assert ws.table().current_snapshot().summary["dativo.run-id"] == "second"


def test_merge_upserts_by_key(ws) -> None:
    ws.csv("orders.csv", *rows(1, 2))
    job = ws.job(mode="merge", merge_keys=["order_id"])
    assert ws.run(job).result.exit_code == 0
    ws.csv("orders.csv", *rows(2, 3, status="shipped"))
    result = ws.run(job, run_id="merge-2").result
    assert result.exit_code == 0, result.error
    assert [(r["order_id"], r["status"]) for r in ws.rows()] == [(1, "paid"), (2, "shipped"), (3, "shipped")]
    assert result.metrics["files_written"] >= 1
    assert ws.table().current_snapshot().summary["dativo.run-id"] == "merge-2"


def test_merge_rejects_duplicate_keys_in_batch(ws) -> None:
    ws.csv("orders.csv", *rows(1, 7, 7, 2))
    run = ws.run(ws.job(mode="merge", merge_keys=["order_id"]))
    result = run.result
    assert result.exit_code == 2
    assert result.error_type == "WriteError"
    assert "not unique" in result.error and "order_id=7" in result.error
    assert "order_id=1" not in result.error
    assert not ws.catalog().table_exists("acme.orders")


def test_empty_csv_is_a_successful_no_op(ws) -> None:
    ws.csv("orders.csv")  # header only
    run = ws.run(ws.job())
    result = run.result
    assert (result.exit_code, result.error) == (0, None)
    assert result.metrics["records_extracted"] == 0
    assert (result.metrics["files_written"], result.metrics["total_bytes"]) == (0, 0)
    table = ws.table()  # created, but never written
    assert table.current_snapshot() is None
    assert run.event_types[-1] == "job_finished"


def test_zero_byte_file_is_empty_input(ws) -> None:
    ws.data("orders.csv", "")
    result = ws.run(ws.job()).result
    assert result.exit_code == 0, result.error
    assert ws.table().scan().to_arrow().num_rows == 0
