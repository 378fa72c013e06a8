"""A first load creates its table in the same commit as its data (engine/iceberg/creation.py), against
real sqlite catalogs with one injected fault each (tests/support/faults.py)."""

from __future__ import annotations

from tests.support.faults import faulty_catalog
from tests.support.iceberg_checks import orphan_files, snapshot_properties, warehouse_data_files
from tests.support.workspace import order_rows

INVALID = "x,bad@example.com,paid,1.5,1,0.5,true,2024-01-03,2024-01-02T03:04:05Z"


def test_first_load_creates_the_table_with_its_data_in_one_commit(ws) -> None:
    ws.csv("orders.csv", *order_rows(1, 2))
    result = ws.run(ws.job(), run_id="r1").result
    assert result.exit_code == 0, result.error
    assert result.metrics["commit_attempts"] == 1
    table = ws.table()
    # one metadata version: the table never existed without its first snapshot
    assert len(table.metadata.metadata_log) == 0
    assert [p["dativo.run-id"] for p in snapshot_properties(table)] == ["r1"]
    assert [r["order_id"] for r in ws.rows()] == [1, 2]
    assert orphan_files(table) == []


def test_strict_failure_of_a_first_load_leaves_no_table_and_no_file(ws) -> None:
    # the invalid record comes last: the valid ones before it were already written as files
    ws.csv("orders.csv", *order_rows(*range(1, 9)), INVALID)
    result = ws.run(ws.job(), run_id="r1").result
    assert result.exit_code == 2 and result.error_type == "ValidationError"
    assert result.metrics["records_invalid"] == 1
    assert not ws.catalog().table_exists("acme.orders")
    assert warehouse_data_files(ws.home) == []


def test_strict_failure_still_counts_every_invalid_record(ws) -> None:
    """Writing stops at the first invalid record; validation reads on, so the counts are whole."""
    ws.csv("orders.csv", INVALID, *order_rows(1, 2), INVALID.replace("x,", "y,"))
    result = ws.run(ws.job(), run_id="r1").result
    assert result.exit_code == 2
    assert (result.metrics["records_valid"], result.metrics["records_invalid"]) == (2, 2)
    assert result.metrics["invalid_by_rule"] == {"order_id.type": 2}


def test_another_writer_creating_the_table_first_gets_our_load_appended(ws) -> None:
    ws.csv("orders.csv", *order_rows(1, 2))
    job = ws.job(catalog=faulty_catalog(ws.home, "ConflictingCatalog", conflicts=1))
    result = ws.run(job, run_id="r1").result
    assert result.exit_code == 0, result.error
    # the lost creation, then one commit to the table the other writer created
    assert result.metrics["commit_attempts"] == 2
    table = ws.table()
    assert [p.get("writer", p.get("dativo.run-id")) for p in snapshot_properties(table)] == ["other", "r1"]
    assert [r["order_id"] for r in ws.rows()] == [1, 2]
    assert orphan_files(table) == []


def test_lost_response_of_a_landed_creation_counts_as_committed(ws) -> None:
    ws.csv("orders.csv", *order_rows(1, 2))
    job = ws.job(catalog=faulty_catalog(ws.home, "LostResponseCatalog", lost_responses=1))
    result = ws.run(job, run_id="r1").result
    assert result.exit_code == 0, result.error
    assert result.metrics["commit_attempts"] == 1
    assert result.metrics["files_written"] == 1
    table = ws.table()
    assert [p["dativo.run-id"] for p in snapshot_properties(table)] == ["r1"]
    assert [r["order_id"] for r in ws.rows()] == [1, 2]
    assert orphan_files(table) == []


def test_creation_whose_outcome_is_unknown_and_did_not_land_is_repeated(ws) -> None:
    ws.csv("orders.csv", *order_rows(1, 2))
    job = ws.job(catalog=faulty_catalog(ws.home, "UnknownFailureCatalog", unknown_failures=1))
    result = ws.run(job, run_id="r1").result
    assert result.exit_code == 0, result.error
    assert result.metrics["commit_attempts"] == 2
    table = ws.table()
    assert [p["dativo.run-id"] for p in snapshot_properties(table)] == ["r1"]
    assert [r["order_id"] for r in ws.rows()] == [1, 2]
    assert orphan_files(table) == [] and len(warehouse_data_files(ws.home)) == 1


def test_creation_unknown_every_time_fails_retryably_and_keeps_its_files(ws) -> None:
    ws.csv("orders.csv", *order_rows(1))
    job = ws.job(catalog=faulty_catalog(ws.home, "UnknownFailureCatalog", unknown_failures=99))
    result = ws.run(job, run_id="r1").result
    assert result.exit_code == 2 and result.error_type == "WriteError"
    assert "creating table acme.orders did not complete after 4 attempts" in result.error
    assert result.error.endswith("the table does not exist, retrying the run is safe")
    assert not ws.catalog().table_exists("acme.orders")
    # nothing proves a creation with an unknown outcome can never land: its file is kept
    assert len(warehouse_data_files(ws.home)) == 1

    retry = ws.run(ws.job(), run_id="r1").result
    assert retry.exit_code == 0, retry.error
    assert [r["order_id"] for r in ws.rows()] == [1]


def test_empty_first_load_creates_an_empty_table(ws) -> None:
    ws.csv("orders.csv")
    result = ws.run(ws.job(), run_id="r1").result
    assert result.exit_code == 0, result.error
    table = ws.table()
    assert table.current_snapshot() is None
    assert result.metrics["files_written"] == 0
