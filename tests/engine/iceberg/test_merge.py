"""Merge loads in bounded memory: the change is staged as data files while it streams, and only
the table's data files that can hold its keys are read and rewritten, in one commit."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from tests.support.batches import orders, use_small_batches, write_csv
from tests.support.faults import faulty_catalog, race, racing_catalog
from tests.support.iceberg_checks import cursor_of, orphan_files, snapshot_properties, warehouse_data_files
from tests.support.workspace import Workspace, embedded_catalog


def _data_files(ws: Workspace) -> set[str]:
    return {task.file.file_path for task in ws.table().scan().plan_files()}


def _three_days(ws: Workspace) -> list[set[str]]:
    """Three appends of 1,000 orders each (ids 0-999, 1000-1999, 2000-2999): one file per day."""
    files: list[set[str]] = []
    for day in range(3):
        write_csv(ws, orders(day * 1000, (day + 1) * 1000, bad_every=None))
        assert ws.run(ws.job(), run_id=f"day-{day}").result.exit_code == 0
        before = set().union(*files) if files else set()
        files.append(_data_files(ws) - before)
    return files


def test_merge_rewrites_only_the_files_that_hold_changed_keys(ws: Workspace) -> None:
    day0, day1, day2 = _three_days(ws)
    change = orders(1500, 1510, bad_every=None)  # ten orders of day 1, now shipped
    change = change.set_column(2, "status", pa.array(["shipped"] * 10))
    new = orders(9000, 9005, bad_every=None)  # and five new orders
    write_csv(ws, pa.concat_tables([change, new]))
    result = ws.run(ws.job(mode="merge", merge_keys=["order_id"]), run_id="merge-1").result
    assert result.exit_code == 0, result.error

    after = _data_files(ws)
    assert day0 <= after and day2 <= after  # the days without a changed key are untouched
    assert not day1 & after  # day 1's file was rewritten
    rows = ws.rows()
    assert len(rows) == 3005
    by_id = {r["order_id"]: r["status"] for r in rows}
    assert all(by_id[i] == "shipped" for i in range(1500, 1510))
    assert by_id[1499] == orders(1499, 1500, bad_every=None).column("status")[0].as_py()
    assert all(i in by_id for i in range(9000, 9005))
    # one commit of this run: an overwrite (day 1 rewritten) and an append (the change)
    own = [p for p in snapshot_properties(ws.table()) if p["dativo.run-id"] == "merge-1"]
    assert len(own) == 2
    assert orphan_files(ws.table()) == []


def test_merge_of_a_change_spanning_many_batches(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    use_small_batches(monkeypatch)
    write_csv(ws, orders(0, 60_000, bad_every=None))
    assert ws.run(ws.job(), run_id="load").result.exit_code == 0
    write_csv(ws, orders(30_000, 90_000, bad_every=None))  # half updates, half new
    result = ws.run(ws.job(mode="merge", merge_keys=["order_id"]), run_id="merge").result
    assert result.exit_code == 0, result.error
    assert result.metrics["records_valid"] == 60_000
    ids = [r["order_id"] for r in ws.rows()]
    assert ids == list(range(90_000))  # every key once
    assert result.metrics["files_written"] > 2


def test_duplicate_keys_in_different_batches_commit_nothing(ws: Workspace, monkeypatch) -> None:
    use_small_batches(monkeypatch)
    data = orders(0, 40_000, bad_every=None)
    write_csv(ws, pa.concat_tables([data, orders(7, 8, bad_every=None)]))  # order 7 again, at the end
    result = ws.run(ws.job(mode="merge", merge_keys=["order_id"])).result
    assert result.exit_code == 2 and result.error_type == "WriteError"
    assert "not unique" in result.error and "order_id=7" in result.error
    assert not ws.catalog().table_exists("acme.orders")
    assert warehouse_data_files(ws.home) == []


def _merge_after_one_conflict(ws: Workspace) -> None:
    """A merge by ``order_id`` whose first commit attempt loses to another writer's append."""
    job = ws.job(
        mode="merge",
        merge_keys=["order_id"],
        catalog=faulty_catalog(ws.home, "ConflictingCatalog", conflicts=1),
    )
    result = ws.run(job, run_id="merge").result
    assert result.exit_code == 0, result.error
    assert result.metrics["commit_attempts"] == 2


def test_merge_retried_after_a_conflict_rewrites_against_the_refreshed_table(ws: Workspace) -> None:
    write_csv(ws, orders(0, 100, bad_every=None))
    assert ws.run(ws.job(), run_id="load").result.exit_code == 0
    write_csv(ws, orders(50, 150, bad_every=None))
    _merge_after_one_conflict(ws)
    assert [r["order_id"] for r in ws.rows()] == list(range(150))
    assert orphan_files(ws.table()) == []


@pytest.mark.parametrize(
    "merge_keys",
    [["email"], ["ordered_at", "order_id"], ["amount", "ship_date"]],
    ids=["string", "timestamp+long", "decimal+date"],
)
def test_merge_keys_of_every_type_prune_and_replace(ws: Workspace, merge_keys: list[str]) -> None:
    """Keys of any asset type find their stored rows (the range filter and the file bounds are
    compared in the key's own type), alone or together."""
    for day in range(2):  # two files: ids 0-499 and 500-999
        write_csv(ws, orders(day * 500, (day + 1) * 500, bad_every=None))
        assert ws.run(ws.job(), run_id=f"day-{day}").result.exit_code == 0
    before = _data_files(ws)
    change = orders(600, 610, bad_every=None)
    write_csv(ws, change.set_column(5, "score", pa.array(["99.5"] * 10)))
    result = ws.run(ws.job(mode="merge", merge_keys=merge_keys), run_id="merge").result
    assert result.exit_code == 0, result.error
    rows = ws.rows()
    assert [r["order_id"] for r in rows] == list(range(1000))
    assert [r["order_id"] for r in rows if r["score"] == 99.5] == list(range(600, 610))
    after = _data_files(ws)
    assert len(before & after) == 1  # the file of ids 0-499 was left alone


def test_concurrent_incremental_merges_load_every_record_exactly_once(ws: Workspace) -> None:
    """Two merges stage the same new records against the same cursor; the one that commits
    second finds the cursor moved, rebases its change on it and has nothing left to write."""
    ws.asset([{"name": "id", "type": "long", "required": True}, {"name": "seq", "type": "long"}])
    ws.csv("orders.csv", "1,10", "2,20", header="id,seq")
    source = {"incremental": {"cursor_field": "seq"}}
    merge = {"mode": "merge", "merge_keys": ["id"], "source": source}
    assert ws.run(ws.job(**merge), run_id="first").result.exit_code == 0
    ws.csv("orders.csv", "1,10", "2,25", "3,30", header="id,seq")  # 2 updated, 3 new
    catalog = racing_catalog(ws, 2)
    a = ws.job(name="a", catalog=catalog, **merge)
    b = ws.job(name="b", catalog=catalog, **merge)
    results = race(ws, [(a, "run-a"), (b, "run-b")])
    assert [r.exit_code for r in results] == [0, 0], [r.error for r in results]
    assert sorted(r.metrics["commit_attempts"] for r in results) == [1, 2]
    assert sorted(r.metrics["files_written"] for r in results)[0] == 0
    table = ws.table()
    assert sorted((r["id"], r["seq"]) for r in table.scan().to_arrow().to_pylist()) == [
        (1, 10),
        (2, 25),
        (3, 30),
    ]
    assert cursor_of(table, "seq") == 30
    assert orphan_files(table) == []


def _without_column_bounds(ws: Workspace) -> None:
    """The job's table, created up front so that its data files carry no column bounds: only
    partitions can prune them."""
    table = ws.create_table()
    with table.transaction() as txn:
        txn.set_properties({"write.metadata.metrics.default": "none"})


def _files_by_partition(ws: Workspace) -> dict[object, set[str]]:
    """The table's data files by the value of their (one) partition field."""
    found: dict[object, set[str]] = {}
    for task in ws.table().scan().plan_files():
        found.setdefault(task.file.partition[0], set()).add(task.file.file_path)
    return found


def _reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The data files the merge reads (the real reader runs; each call's files are noted)."""
    from airflow_provider_dativo.engine.iceberg import merge

    read: list[str] = []
    real = merge.read_data_files

    def noting(metadata, io, tasks, columns=None):  # type: ignore[no-untyped-def]
        tasks = list(tasks)
        read.extend(task.file.file_path for task in tasks)
        return real(metadata, io, tasks, columns=columns)

    monkeypatch.setattr(merge, "read_data_files", noting)
    return read


def test_merge_into_a_partitioned_table_reads_only_the_partitions_of_the_changed_keys(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Partitioned by a merge key column (``ship_date``): a partition none of the change's keys
    maps to is neither read nor rewritten, although its key range overlaps the change's and its
    files carry no column bounds (so only the partition values can prune it)."""
    _without_column_bounds(ws)
    layout = {"partition_by": ["ship_date"]}
    days = pa.array(["2024-01-03", "2024-02-29", "2024-03-15"])
    data = orders(0, 3000, bad_every=None)
    day_of = pc.remainder(data["order_id"].cast(pa.int64()), 3)
    data = data.set_column(7, "ship_date", pc.take(days, day_of))
    write_csv(ws, data)
    assert ws.run(ws.job(**layout), run_id="load").result.exit_code == 0
    before = _files_by_partition(ws)
    assert len(before) == 3  # one file per day, each spanning ids 0-2999
    assert all(not task.file.lower_bounds for task in ws.table().scan().plan_files())

    change = data.take([30, 33, 302, 305])  # ids 30, 33 (2024-01-03) and 302, 305 (2024-03-15)
    write_csv(ws, change.set_column(2, "status", pa.array(["shipped"] * 4)))
    read = _reads(monkeypatch)
    result = ws.run(
        ws.job(mode="merge", merge_keys=["order_id", "ship_date"], **layout), run_id="merge"
    ).result
    assert result.exit_code == 0, result.error

    untouched = before[(dt.date(2024, 2, 29) - dt.date(1970, 1, 1)).days]  # dates partition as days
    assert not untouched & set(read)  # the partition between the changed ones was never read
    after = {path for files in _files_by_partition(ws).values() for path in files}
    assert untouched <= after
    assert not (set().union(*before.values()) - untouched) & after  # the other two were rewritten
    rows = ws.rows()
    assert [r["order_id"] for r in rows] == list(range(3000))
    shipped = {r["order_id"] for r in rows if r["status"] == "shipped"}
    assert {30, 302} <= shipped and not {32, 300} & shipped  # even ids were paid


def test_a_partition_column_that_is_not_a_merge_key_does_not_prune(ws: Workspace) -> None:
    """Partitioned by ``status``, merged by ``order_id``: an order whose status changed is
    stored in the old status's partition, which the merge must still rewrite."""
    layout = {"partition_by": ["status"]}
    write_csv(ws, orders(0, 100, bad_every=None))  # even ids paid, odd ids shipped
    assert ws.run(ws.job(**layout), run_id="load").result.exit_code == 0
    change = orders(0, 6, bad_every=None).take([0, 2, 4])  # paid orders 0, 2, 4 ...
    write_csv(ws, change.set_column(2, "status", pa.array(["shipped"] * 3)))  # ... now shipped
    result = ws.run(ws.job(mode="merge", merge_keys=["order_id"], **layout), run_id="merge").result
    assert result.exit_code == 0, result.error
    rows = ws.rows()
    assert [r["order_id"] for r in rows] == list(range(100))  # no order twice
    assert {r["order_id"]: r["status"] for r in rows}[2] == "shipped"


def test_partition_match_compares_the_partitions_of_key_columns_only(tmp_path: Path) -> None:
    """A table file may hold a changed key only if its partition values of the key columns are
    those of some change record; partitions of other columns decide nothing."""
    from airflow_provider_dativo.engine.iceberg._pyiceberg import write_data_files
    from airflow_provider_dativo.engine.iceberg.merge import PartitionMatch

    catalog = embedded_catalog(tmp_path)
    catalog.create_namespace("acme")
    schema = pa.schema(
        [pa.field("id", pa.int64()), pa.field("region", pa.string()), pa.field("day", pa.date32())]
    )
    table = catalog.create_table("acme.t", schema=schema)
    with table.update_spec() as spec:
        spec.add_identity("region")
        spec.add_identity("day")
    days = [dt.date(2024, 1, d) for d in (1, 2)]
    rows = [(i, region, day) for i, (region, day) in enumerate(itertools.product(["eu", "us", "ap"], days))]
    table.append(pa.Table.from_pylist([dict(zip(schema.names, r, strict=True)) for r in rows], schema=schema))
    change = pa.Table.from_pylist([{"id": 0, "region": "eu", "day": days[1]}], schema=schema)
    change = change.cast(table.schema().as_arrow())
    files = write_data_files(table.metadata, change, table.io, uuid.uuid4(), itertools.count())
    stored = [task.file for task in table.scan().plan_files()]
    assert len(stored) == 6

    def held(keys: list[str]) -> list[tuple[object, ...]]:
        match = PartitionMatch(table.metadata, table.spec(), files, keys)
        return sorted(tuple(f.partition) for f in stored if match.may_hold(f))

    day2 = (days[1] - dt.date(1970, 1, 1)).days
    assert held(["id", "region", "day"]) == [("eu", day2)]
    assert held(["id", "region"]) == [("eu", day2 - 1), ("eu", day2)]
    assert len(held(["id"])) == 6  # no partition column among the keys: nothing is pruned


def test_a_retried_commit_reuses_the_rewrites_of_files_that_did_not_change(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer's commit (an append) made the first attempt fail; the retry finds the same
    file holding the change's keys and adds the rewrite it already wrote, without reading again."""
    _three_days(ws)
    write_csv(ws, orders(1500, 1510, bad_every=None))
    read = _reads(monkeypatch)
    _merge_after_one_conflict(ws)
    assert len(read) == 2  # day 1's file: its key column, then whole; once, in the first attempt
    assert [r["order_id"] for r in ws.rows()] == list(range(3000))
    assert orphan_files(ws.table()) == []


def test_racing_merges_of_different_keys_in_one_file_both_land(ws: Workspace) -> None:
    """Two merges rewrite the same file for different keys; the one that commits second finds
    that file replaced, drops its rewrite of it and rewrites the file that replaced it."""
    write_csv(ws, orders(0, 1000, bad_every=None))
    assert ws.run(ws.job(), run_id="load").result.exit_code == 0
    for name, ids, score in (("a.csv", range(10, 15), "-1"), ("b.csv", range(500, 505), "-2")):
        change = orders(ids.start, ids.stop, bad_every=None)
        write_csv(ws, change.set_column(5, "score", pa.array([score] * 5)), name)
    catalog = racing_catalog(ws, 2)
    common = {"mode": "merge", "merge_keys": ["order_id"], "catalog": catalog}
    a = ws.job(name="a", path="../../data/a.csv", **common)
    b = ws.job(name="b", path="../../data/b.csv", **common)
    results = race(ws, [(a, "run-a"), (b, "run-b")])
    assert [r.exit_code for r in results] == [0, 0], [r.error for r in results]
    assert sorted(r.metrics["commit_attempts"] for r in results) == [1, 2]
    rows = ws.rows()
    assert [r["order_id"] for r in rows] == list(range(1000))
    score = {r["order_id"]: r["score"] for r in rows}
    assert [i for i in score if score[i] == -1] == list(range(10, 15))
    assert [i for i in score if score[i] == -2] == list(range(500, 505))
    assert orphan_files(ws.table()) == []


def test_merge_into_a_table_bucketed_by_the_key_reads_only_the_changed_keys_buckets(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``partition_by: bucket(4, order_id)``: every bucket's file spans the whole key range, so
    only the partition values can prune; 300 changed keys (too many to plan with ``In``), all in
    one bucket, read and rewrite that bucket's file alone."""
    from pyiceberg.transforms import BucketTransform
    from pyiceberg.types import LongType

    bucket_of = BucketTransform(4).transform(LongType())
    layout = {"partition_by": ["bucket(4, order_id)"]}
    write_csv(ws, orders(0, 4000, bad_every=None))
    assert ws.run(ws.job(**layout), run_id="load").result.exit_code == 0
    before = _files_by_partition(ws)
    assert sorted(before) == [0, 1, 2, 3]
    changed = [i for i in range(4000) if bucket_of(i) == 2][:300]
    change = orders(0, 4000, bad_every=None).take(changed)
    write_csv(ws, change.set_column(5, "score", pa.array(["-1"] * len(changed))))
    read = _reads(monkeypatch)
    result = ws.run(ws.job(mode="merge", merge_keys=["order_id"], **layout), run_id="merge").result
    assert result.exit_code == 0, result.error
    assert set(read) == before[2]  # the one bucket that holds the keys, and no other
    after = _files_by_partition(ws)
    assert all(before[b] <= after[b] for b in (0, 1, 3)) and not before[2] & after[2]
    rows = ws.rows()
    assert [r["order_id"] for r in rows] == list(range(4000))
    assert sorted(r["order_id"] for r in rows if r["score"] == -1) == changed
