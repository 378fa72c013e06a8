"""Commit safety against real concurrent writers on the sqlite catalog: retries, idempotence, cleanup."""

from __future__ import annotations

import pyarrow as pa
import pytest
from pyiceberg.exceptions import CommitFailedException

from tests.support.faults import faulty_catalog, race, racing_catalog
from tests.support.iceberg_checks import cursor_of, orphan_files, snapshot_properties, warehouse_data_files
from tests.support.workspace import order_rows


def test_pyiceberg_alone_leaves_the_data_file_of_a_failed_commit(ws) -> None:
    """Why the engine cleans up: a conflicting pyiceberg commit keeps its data file on disk."""
    catalog = ws.catalog()
    catalog.create_namespace("acme")
    schema = pa.schema([pa.field("x", pa.int64())])
    # no retries: fail at once instead of replaying the append on top of the other writer's
    table = catalog.create_table("acme.t", schema=schema, properties={"commit.retry.num-retries": "0"})
    stale = catalog.load_table("acme.t")
    table.append(pa.table({"x": pa.array([1], pa.int64())}))
    txn = stale.transaction()
    txn.append(pa.table({"x": pa.array([2], pa.int64())}))
    with pytest.raises(CommitFailedException):
        txn.commit_transaction()
    assert len(orphan_files(catalog.load_table("acme.t"))) == 1


def test_conflict_is_retried_against_the_refreshed_table(ws) -> None:
    ws.csv("orders.csv", *order_rows(1, 2))
    ws.create_table()  # an existing table (first loads create theirs: test_creation.py)
    job = ws.job(catalog=faulty_catalog(ws.home, "ConflictingCatalog", conflicts=1))
    result = ws.run(job, run_id="r1").result
    assert result.exit_code == 0, result.error
    assert result.metrics["commit_attempts"] == 2
    table = ws.table()
    assert [p.get("writer", p.get("dativo.run-id")) for p in snapshot_properties(table)] == ["other", "r1"]
    assert [r["order_id"] for r in ws.rows()] == [1, 2]
    assert orphan_files(table) == []
    assert "commit.retry.num-retries" not in table.properties  # the override stays in memory


def test_commit_that_always_conflicts_fails_and_leaves_no_files(ws) -> None:
    ws.csv("orders.csv", *order_rows(1, 2))
    ws.create_table()  # an existing table (first loads create theirs: test_creation.py)
    job = ws.job(catalog=faulty_catalog(ws.home, "ConflictingCatalog", conflicts=99))
    result = ws.run(job, run_id="r1").result
    assert result.exit_code == 2
    assert result.error_type == "CommitConflict"
    assert result.error.startswith(
        "CommitConflict: table acme.orders was changed by other writers during each of 4 commit attempts; "
        "nothing was written (CommitFailedException: "
    )
    assert result.error.endswith("retrying the run helps")
    table = ws.table()
    assert [p.get("writer") for p in snapshot_properties(table)] == ["other"] * 4
    assert table.scan().to_arrow().num_rows == 0
    assert warehouse_data_files(ws.home) == []  # the four attempts each wrote one, all removed
    assert orphan_files(table) == []


def test_lost_response_after_a_landed_commit_counts_as_committed(ws) -> None:
    ws.csv("orders.csv", *order_rows(1, 2))
    ws.create_table()  # an existing table (first loads create theirs: test_creation.py)
    job = ws.job(catalog=faulty_catalog(ws.home, "LostResponseCatalog", lost_responses=1))
    result = ws.run(job, run_id="r1").result
    assert result.exit_code == 0, result.error
    assert result.metrics["commit_attempts"] == 1
    table = ws.table()
    assert [p["dativo.run-id"] for p in snapshot_properties(table)] == ["r1"]
    assert result.metrics["snapshot_id"] == table.current_snapshot().snapshot_id
    assert result.metrics["files_written"] == 1
    assert [r["order_id"] for r in ws.rows()] == [1, 2]
    assert orphan_files(table) == []


def test_unknown_outcome_that_did_not_land_is_retried_and_its_files_removed(ws) -> None:
    ws.csv("orders.csv", *order_rows(1, 2))
    ws.create_table()  # an existing table (first loads create theirs: test_creation.py)
    job = ws.job(catalog=faulty_catalog(ws.home, "UnknownFailureCatalog", unknown_failures=1))
    result = ws.run(job, run_id="r1").result
    assert result.exit_code == 0, result.error
    assert result.metrics["commit_attempts"] == 2
    table = ws.table()
    assert [p["dativo.run-id"] for p in snapshot_properties(table)] == ["r1"]
    assert [r["order_id"] for r in ws.rows()] == [1, 2]
    # the first attempt's files could only be deleted once the head moved past its base
    assert orphan_files(table) == [] and len(warehouse_data_files(ws.home)) == 1


def test_outcome_unknown_every_time_fails_and_keeps_files_that_might_land(ws) -> None:
    ws.csv("orders.csv", *order_rows(1))
    ws.create_table()  # an existing table (first loads create theirs: test_creation.py)
    job = ws.job(catalog=faulty_catalog(ws.home, "UnknownFailureCatalog", unknown_failures=99))
    result = ws.run(job, run_id="r1").result
    assert result.exit_code == 2 and result.error_type == "WriteError"
    assert "outcome stayed unknown after 4 attempts" in result.error
    assert ws.table().current_snapshot() is None
    # nothing proves those commits can never land (the head never moved), so they are kept;
    # an append is streamed: its data file is written once and every attempt commits that file
    assert len(warehouse_data_files(ws.home)) == 1


def test_concurrent_appends_both_land_once(ws) -> None:
    ws.csv("orders.csv", *order_rows(1, 2))
    assert ws.run(ws.job(), run_id="seed").result.exit_code == 0
    a = ws.job(name="a", catalog=racing_catalog(ws, 2))
    b = ws.job(
        name="b",
        catalog=racing_catalog(ws, 2)
        | {"test.barrier": a.config.target.catalog_properties()["test.barrier"]},
    )
    results = race(ws, [(a, "run-a"), (b, "run-b")])
    assert [r.exit_code for r in results] == [0, 0], [r.error for r in results]
    assert sorted(r.metrics["commit_attempts"] for r in results) == [1, 2]
    table = ws.table()
    assert sorted(p["dativo.run-id"] for p in snapshot_properties(table)) == ["run-a", "run-b", "seed"]
    assert [r["order_id"] for r in ws.rows()] == [1, 1, 1, 2, 2, 2]
    assert orphan_files(table) == []


def test_concurrent_incremental_runs_load_every_record_exactly_once(ws) -> None:
    ws.asset([{"name": "id", "type": "long", "required": True}, {"name": "seq", "type": "long"}])
    ws.csv("orders.csv", header="id,seq")
    source = {"incremental": {"cursor_field": "seq"}}
    assert ws.run(ws.job(source=source), run_id="create").result.exit_code == 0  # empty: table only
    ws.csv("orders.csv", "1,10", "2,20", "3,30", header="id,seq")
    catalog = racing_catalog(ws, 2)
    a = ws.job(name="a", source=source, catalog=catalog)
    b = ws.job(name="b", source=source, catalog=catalog)
    results = race(ws, [(a, "run-a"), (b, "run-b")])
    assert [r.exit_code for r in results] == [0, 0], [r.error for r in results]
    # both read "no cursor yet" and staged all three records; the loser re-read the cursor and
    # found nothing left to write
    assert sorted(r.metrics["files_written"] for r in results) == [0, 1]
    assert sorted(r.metrics["commit_attempts"] for r in results) == [1, 2]
    table = ws.table()
    assert sorted(r["id"] for r in table.scan().to_arrow().to_pylist()) == [1, 2, 3]
    assert len(table.metadata.snapshots) == 1
    assert cursor_of(table, "seq") == 30
    assert orphan_files(table) == []
