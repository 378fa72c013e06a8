"""Incremental loads: only records beyond the committed cursor, the cursor committed with the data."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Any

import pytest

from tests.support.iceberg_checks import cursor_of, snapshot_properties

FIELDS: list[dict[str, Any]] = [
    {"name": "id", "type": "long", "required": True},
    {"name": "updated_at", "type": "timestamp"},
    {"name": "amount", "type": "double", "min": 0},
]
HEADER = "id,updated_at,amount"
CURSOR = {"incremental": {"cursor_field": "updated_at"}}


def _rows(*specs: tuple[int, str, str]) -> list[str]:
    return [f"{i},{ts},{amount}" for i, ts, amount in specs]


DAY1 = _rows((1, "2024-01-01T10:00:00Z", "1.0"), (2, "2024-01-01T11:00:00Z", "2.0"))
DAY2 = _rows((3, "2024-01-02T09:00:00Z", "3.0"), (4, "2024-01-02T10:30:00Z", "4.0"))


@pytest.fixture
def inc(ws):
    """The workspace with an asset whose ``updated_at`` is the cursor."""
    ws.asset(FIELDS)
    return ws


def _job(ws, source: dict[str, Any] | None = None, **kwargs: Any):
    return ws.job(source={**CURSOR, **(source or {})}, **kwargs)


def _ids(ws) -> list[int]:
    return [r["id"] for r in ws.rows(key="id")]


def test_second_run_loads_only_newer_records_and_commits_the_cursor_with_them(inc) -> None:
    inc.csv("orders.csv", *DAY1, header=HEADER)
    job = _job(inc)
    first = inc.run(job, run_id="r1").result
    assert first.exit_code == 0, first.error
    assert first.metrics["cursor_after"] == "2024-01-01T11:00:00+00:00"
    assert first.metrics["cursor_before"] is None

    inc.csv("orders.csv", *DAY1, *DAY2, header=HEADER)  # the file grew: old rows are still there
    second = inc.run(job, run_id="r2").result
    assert second.exit_code == 0, second.error
    assert _ids(inc) == [1, 2, 3, 4]
    metrics = second.metrics
    assert (metrics["records_extracted"], metrics["records_skipped_by_cursor"]) == (2, 2)
    assert metrics["cursor_before"] == "2024-01-01T11:00:00+00:00"
    assert metrics["cursor_after"] == "2024-01-02T10:30:00+00:00"

    table = inc.table()
    props = snapshot_properties(table)
    assert [p["dativo.run-id"] for p in props] == ["r1", "r2"]
    assert [json.loads(p["dativo.cursor.updated_at"]) for p in props] == [
        "2024-01-01T11:00:00+00:00",
        "2024-01-02T10:30:00+00:00",
    ]
    # the commit that wrote the records is the one that carries the cursor
    assert props[1]["added-records"] == "2"


def test_start_is_exclusive_on_the_first_run(inc) -> None:
    inc.csv("orders.csv", *DAY1, *DAY2, header=HEADER)
    job = _job(inc, source={"incremental": {"cursor_field": "updated_at", "start": "2024-01-01T11:00:00Z"}})
    result = inc.run(job).result
    assert result.exit_code == 0, result.error
    assert _ids(inc) == [3, 4]
    assert result.metrics["records_skipped_by_cursor"] == 2


@pytest.mark.parametrize(
    ("type_name", "values", "start", "expected_cursor"),
    [
        ("long", ["9", "10", "11"], 9, 11),  # numeric order, not text order
        ("decimal(6,2)", ["9.50", "10.25", "10.3"], "9.5", "10.30"),
        ("date", ["2024-01-09", "2024-01-10", "2024-02-01"], date(2024, 1, 9), "2024-02-01"),
        ("string", ["a", "b", "c"], "a", "c"),
    ],
)
def test_cursor_types_compare_in_their_own_type(
    ws, type_name: str, values: list[str], start: Any, expected_cursor: Any
) -> None:
    ws.asset([{"name": "id", "type": "long", "required": True}, {"name": "seq", "type": type_name}])
    ws.csv("orders.csv", *[f"{i},{v}" for i, v in enumerate(values, start=1)], header="id,seq")
    job = ws.job(source={"incremental": {"cursor_field": "seq", "start": start}})
    result = ws.run(job).result
    assert result.exit_code == 0, result.error
    assert [r["id"] for r in ws.rows(key="id")] == [2, 3]
    assert cursor_of(ws.table(), "seq") == expected_cursor
    again = ws.run(job, run_id="again").result
    assert again.exit_code == 0 and again.metrics["records_extracted"] == 0
    assert [r["id"] for r in ws.rows(key="id")] == [2, 3]


def test_nothing_newer_is_a_no_op_that_keeps_the_cursor(inc) -> None:
    inc.csv("orders.csv", *DAY1, header=HEADER)
    job = _job(inc)
    assert inc.run(job, run_id="r1").result.exit_code == 0
    before = inc.table().current_snapshot().snapshot_id

    run = inc.run(job, run_id="r2")
    assert (run.result.exit_code, run.result.error) == (0, None)
    assert run.result.metrics["records_extracted"] == 0
    assert run.result.metrics["files_written"] == 0
    assert run.result.metrics["cursor_after"] == run.result.metrics["cursor_before"]
    table = inc.table()
    assert table.current_snapshot().snapshot_id == before
    assert cursor_of(table, "updated_at") == "2024-01-01T11:00:00+00:00"
    assert run.event_types[-1] == "job_finished"


def test_empty_input_is_a_no_op(inc) -> None:
    inc.csv("orders.csv", header=HEADER)
    result = inc.run(_job(inc)).result
    assert (result.exit_code, result.error, result.metrics["records_extracted"]) == (0, None, 0)
    assert inc.table().current_snapshot() is None


def test_rerunning_a_committed_run_id_writes_nothing(inc) -> None:
    inc.csv("orders.csv", *DAY1, header=HEADER)
    job = _job(inc)
    first = inc.run(job, run_id="airflow/try").result
    inc.csv("orders.csv", *DAY1, *DAY2, header=HEADER)  # even if the source moved on meanwhile
    retry = inc.run(job, run_id="airflow/try")
    assert retry.result.exit_code == 0 and retry.result.error is None
    assert retry.result.metrics["already_committed"] is True
    assert retry.result.metrics["snapshot_id"] == first.metrics["snapshot_id"]
    assert retry.result.metrics["files_written"] == 0
    assert len(inc.table().metadata.snapshots) == 1 and _ids(inc) == [1, 2]
    complete = next(e for e in retry.events if e["event_type"] == "metrics_complete")
    assert complete["already_committed"] is True
    assert "already committed" in retry.events[-1]["message"]


def test_non_incremental_run_id_is_idempotent_too(ws) -> None:
    ws.csv("orders.csv", "1,a@example.com,paid,10.5,2,0.25,true,2024-01-03,2024-01-02T03:04:05Z")
    job = ws.job()
    assert ws.run(job, run_id="same").result.metrics["already_committed"] is False
    retry = ws.run(job, run_id="same").result
    assert retry.exit_code == 0 and retry.metrics["already_committed"] is True
    assert [r["order_id"] for r in ws.rows()] == [1]
    assert ws.run(job, run_id="other").result.metrics["already_committed"] is False
    assert [r["order_id"] for r in ws.rows()] == [1, 1]


def test_cursor_column_missing_from_the_file_is_an_error_and_writes_nothing(inc) -> None:
    path = inc.csv("orders.csv", "1,1.0", header="id,amount")
    result = inc.run(_job(inc)).result
    assert result.exit_code == 2
    assert result.error_type == "SourceError"
    assert result.error == (
        f"SourceError: {path}: incremental cursor field 'updated_at' (source.incremental.cursor_field) "
        "is missing from the data; columns found: 'id', 'amount'"
    )
    assert not inc.catalog().table_exists("acme.orders")


def test_cursor_column_without_any_value_is_an_error(inc) -> None:
    inc.data("orders.jsonl", '{"id": 1, "amount": 1.0}\n{"id": 2, "amount": 2.0}\n')
    result = inc.run(_job(inc, connector="jsonl", path="../../data/orders.jsonl")).result
    assert result.exit_code == 2
    assert "has no value in any of the 2 records" in result.error
    assert not inc.catalog().table_exists("acme.orders")


def test_cursor_field_not_in_asset_is_a_config_error(inc) -> None:
    inc.csv("orders.csv", *DAY1, header=HEADER)
    result = inc.run(inc.job(source={"incremental": {"cursor_field": "changed"}})).result
    assert result.exit_code == 2 and result.error_type == "ConfigError"
    assert result.error == (
        "ConfigError: source.incremental.cursor_field 'changed' is not a field of asset 'orders' "
        "(fields: id, updated_at, amount)"
    )


def test_invalid_start_is_a_config_error(inc) -> None:
    inc.csv("orders.csv", *DAY1, header=HEADER)
    job = _job(inc, source={"incremental": {"cursor_field": "updated_at", "start": "yesterday"}})
    result = inc.run(job).result
    assert result.exit_code == 2 and result.error_type == "ConfigError"
    assert "source.incremental.start for cursor 'updated_at': 'yesterday' is not a valid timestamp" in (
        result.error
    )


def test_record_without_cursor_fails_strict_and_writes_nothing(inc) -> None:
    inc.csv("orders.csv", *DAY1, "3,,3.0", header=HEADER)
    result = inc.run(_job(inc)).result
    assert result.exit_code == 2
    assert result.metrics["invalid_by_rule"] == {"updated_at.cursor": 1}
    assert not inc.catalog().table_exists("acme.orders")


def test_warn_mode_cursor_moves_past_rejected_records_which_are_not_rejected_again(inc) -> None:
    late_bad = "5,2024-01-03T00:00:00Z,-1"  # newest record, and invalid
    inc.csv("orders.csv", *DAY1, late_bad, "6,,1.0", header=HEADER)
    job = _job(inc, validation="warn")
    first = inc.run(job, run_id="r1").result
    assert first.exit_code == 1
    assert first.metrics["invalid_by_rule"] == {"amount.min": 1, "updated_at.cursor": 1}
    assert first.metrics["cursor_after"] == "2024-01-03T00:00:00+00:00"
    assert _ids(inc) == [1, 2]
    rejected = inc.rows("acme.orders__rejected", key="id")
    assert [(r["id"], r["_dativo_reasons"]) for r in rejected] == [
        ("5", ["amount.min"]),
        ("6", ["updated_at.cursor"]),
    ]

    second = inc.run(job, run_id="r2").result
    # the record without a cursor can never be placed: it is rejected on every run, the other is not
    assert second.metrics["invalid_by_rule"] == {"updated_at.cursor": 1}
    assert second.metrics["records_skipped_by_cursor"] == 3
    assert [r["id"] for r in inc.rows("acme.orders__rejected", key="id")] == ["5", "6", "6"]
    assert _ids(inc) == [1, 2]


def test_all_rejected_still_moves_the_cursor_in_an_empty_commit(inc) -> None:
    inc.csv("orders.csv", "1,2024-01-01T00:00:00Z,-1", header=HEADER)
    job = _job(inc, validation="warn")
    result = inc.run(job, run_id="r1").result
    assert result.exit_code == 1
    table = inc.table()
    assert table.scan().to_arrow().num_rows == 0
    assert cursor_of(table, "updated_at") == "2024-01-01T00:00:00+00:00"
    assert result.metrics["files_written"] == 0
    assert inc.run(job, run_id="r2").result.metrics["records_invalid"] == 0


@pytest.mark.parametrize("mode", ["overwrite", "merge"])
def test_every_snapshot_of_a_multi_snapshot_commit_carries_the_cursor(inc, mode: str) -> None:
    extra = {"merge_keys": ["id"]} if mode == "merge" else {}
    inc.csv("orders.csv", *DAY1, header=HEADER)
    job = _job(inc, mode=mode, **extra)
    assert inc.run(job, run_id="r1").result.exit_code == 0
    inc.csv("orders.csv", *DAY1, "2,2024-01-01T12:00:00Z,20.0", *DAY2, header=HEADER)
    result = inc.run(job, run_id="r2").result
    assert result.exit_code == 0, result.error
    table = inc.table()
    own = [p for p in snapshot_properties(table) if p.get("dativo.run-id") == "r2"]
    assert len(own) >= 2  # delete + append (overwrite), overwrite + append (upsert)
    assert {p["dativo.cursor.updated_at"] for p in own} == {'"2024-01-02T10:30:00+00:00"'}
    rows = {r["id"]: r["amount"] for r in table.scan().to_arrow().to_pylist()}
    if mode == "merge":
        assert rows == {1: 1.0, 2: 20.0, 3: 3.0, 4: 4.0}
    else:
        assert rows == {2: 20.0, 3: 3.0, 4: 4.0}


def test_cursor_is_found_behind_snapshots_of_other_writers(inc) -> None:
    inc.csv("orders.csv", *DAY1, header=HEADER)
    job = _job(inc)
    assert inc.run(job, run_id="r1").result.exit_code == 0
    table = inc.table()
    table.append(table.schema().as_arrow().empty_table())  # e.g. maintenance, no dativo properties
    inc.csv("orders.csv", *DAY1, *DAY2, header=HEADER)
    result = inc.run(job, run_id="r2").result
    assert result.metrics["cursor_before"] == "2024-01-01T11:00:00+00:00"
    assert _ids(inc) == [1, 2, 3, 4]


def test_state_mirror_is_written_after_the_commit(inc) -> None:
    inc.csv("orders.csv", *DAY1, header=HEADER)
    result = inc.run(_job(inc), run_id="r1", job_name="orders_job").result
    mirror = json.loads((inc.home / "state" / "acme" / "orders_job.json").read_text())
    assert mirror["cursor"] == "2024-01-01T11:00:00+00:00"
    assert mirror["cursor_field"] == "updated_at" and mirror["run_id"] == "r1"
    assert mirror["snapshot_id"] == result.metrics["snapshot_id"]


def test_the_table_not_the_mirror_is_the_source_of_truth(inc) -> None:
    inc.csv("orders.csv", *DAY1, header=HEADER)
    job = _job(inc)
    inc.run(job, run_id="r1", job_name="orders_job")
    mirror = inc.home / "state" / "acme" / "orders_job.json"
    mirror.write_text(json.dumps({"cursor": "2099-01-01T00:00:00+00:00"}))
    inc.csv("orders.csv", *DAY1, *DAY2, header=HEADER)
    assert inc.run(job, run_id="r2", job_name="orders_job").result.exit_code == 0
    assert _ids(inc) == [1, 2, 3, 4]


def test_timestamp_cursor_values_round_trip_exactly(inc) -> None:
    inc.csv("orders.csv", "1,2024-01-01T10:00:00.123456+02:00,1", header=HEADER)
    job = _job(inc)
    inc.run(job, run_id="r1")
    assert cursor_of(inc.table(), "updated_at") == "2024-01-01T08:00:00.123456+00:00"
    newer = "2,2024-01-01T08:00:00.123457Z,1"  # one microsecond later
    inc.csv("orders.csv", "1,2024-01-01T10:00:00.123456+02:00,1", newer, header=HEADER)
    result = inc.run(job, run_id="r2").result
    assert result.metrics["records_extracted"] == 1
    rows = inc.rows(key="id")
    assert rows[1]["updated_at"] == datetime(2024, 1, 1, 8, 0, 0, 123457, tzinfo=timezone.utc)
