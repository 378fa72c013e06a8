"""Partitioned and sorted tables: created with their layout in the first load's commit, evolved
later in a commit, written one partition per file with sorted rows, in every write mode."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from pyiceberg.transforms import BucketTransform

from tests.support.faults import race, racing_catalog
from tests.support.iceberg_checks import orphan_files, snapshot_properties
from tests.support.table_files import ORDER_FIELDS as FIELDS
from tests.support.table_files import live_files

HEADER = "order_id,status,amount,ship_date,ordered_at"
PARTITION = ["day(ordered_at)", "bucket(4, order_id)"]
SORT = ["status desc", "order_id"]


def row(order_id: int, day: int | None, status: str | None = "paid", hour: int = 3) -> str:
    """One CSV row; ``day=None`` leaves the timestamp (the partition source) null."""
    ordered = "" if day is None else f"2024-01-{day:02d}T{hour:02d}:04:05Z"
    ship = "" if day is None else f"2024-01-{day:02d}"
    return f"{order_id},{status or ''},{order_id}.25,{ship},{ordered}"


def spread(ids: range, status_of=lambda i: ("paid", "shipped", None)[i % 3]) -> list[str]:
    """Rows over four days (and some without a timestamp), statuses mixed with nulls."""
    return [row(i, None if i % 11 == 0 else 1 + i % 4, status_of(i), hour=i % 24) for i in ids]


def layout_job(ws, **target: Any):
    ws.asset(FIELDS)
    settings = {"partition_by": PARTITION, "sort_by": SORT, **target}
    return ws.job(**settings)


def _day(value: datetime | None) -> int | None:
    return None if value is None else (value.date() - date(1970, 1, 1)).days


def _bucket(order_id: int, n: int = 4) -> int:
    from pyiceberg.types import LongType

    return BucketTransform(n).transform(LongType())(order_id)


def assert_files_partitioned_and_sorted(table) -> None:
    """Every live data file holds one partition only (the one its manifest entry records) and
    its rows in the table's sort order: status descending, nulls last, then order_id."""
    files = live_files(table)
    assert files
    for data_file in files:
        records = data_file.read()
        days = {_day(v) for v in records.column("ordered_at").to_pylist()}
        buckets = {_bucket(v) for v in records.column("order_id").to_pylist()}
        assert days == {data_file.partition["ordered_at_day"]}, data_file
        assert buckets == {data_file.partition["order_id_bucket_4"]}, data_file
        keys = [(r["status"], r["order_id"]) for r in records.select(["status", "order_id"]).to_pylist()]
        expected = sorted(keys, key=lambda k: (k[0] is None, _desc(k[0]), k[1]))
        assert keys == expected, data_file.path


def _desc(text: str | None) -> tuple[int, ...]:
    return (*(-ord(c) for c in text or ""), 1)  # descending text, a prefix after longer


def _iceberg_value(value: Any) -> Any:
    """A Python value as pyiceberg's single-value transforms take it (days, micros, unscaled)."""
    if isinstance(value, datetime):
        return int((value - datetime(1970, 1, 1, tzinfo=timezone.utc)).total_seconds() * 1_000_000)
    if isinstance(value, date):
        return (value - date(1970, 1, 1)).days
    return value


def ids(ws) -> list[int]:
    return [r["order_id"] for r in ws.rows()]


def test_a_new_table_gets_the_layout_in_the_commit_of_its_first_load(ws) -> None:
    ws.csv("orders.csv", *spread(range(1, 41)), header=HEADER)
    run = ws.run(layout_job(ws, mode="merge", merge_keys=["order_id"]), run_id="first")
    assert run.result.exit_code == 0, run.result.error
    table = ws.table()
    assert [str(f) for f in table.spec().fields] == [
        "1000: ordered_at_day: day(5)",
        "1001: order_id_bucket_4: bucket[4](1)",
    ]
    assert [(f.source_id, str(f.direction), str(f.null_order)) for f in table.sort_order().fields] == [
        (2, "DESC", "NULLS LAST"),
        (1, "ASC", "NULLS FIRST"),
    ]
    assert table.schema().identifier_field_names() == {"order_id"}
    # one commit created the table and its first snapshot: no earlier metadata version
    assert len(table.metadata.snapshots) == 1 and table.metadata.metadata_log == []
    assert "table_layout_evolved" not in run.event_types
    assert_files_partitioned_and_sorted(table)
    assert ids(ws) == list(range(1, 41))


def test_append_writes_one_partition_per_file_with_sorted_rows(ws) -> None:
    job = layout_job(ws)
    ws.csv("orders.csv", *spread(range(1, 61)), header=HEADER)
    assert ws.run(job, run_id="a").result.exit_code == 0
    ws.csv("orders.csv", *spread(range(61, 121)), header=HEADER)
    assert ws.run(job, run_id="b").result.exit_code == 0
    table = ws.table()
    assert_files_partitioned_and_sorted(table)
    partitions = {tuple(f.partition.values()) for f in live_files(table)}
    assert (None, _bucket(11)) in partitions  # rows without a timestamp have a partition of their own
    assert ids(ws) == list(range(1, 121))
    # a scan of one day prunes the other days' files
    one_day = "ordered_at >= '2024-01-02T00:00:00+00:00' and ordered_at < '2024-01-03T00:00:00+00:00'"
    day_files = list(table.scan(row_filter=one_day).plan_files())
    assert 0 < len(day_files) < len(live_files(table))


def test_overwrite_of_a_partitioned_table_replaces_every_row(ws) -> None:
    job = layout_job(ws, mode="overwrite")
    ws.csv("orders.csv", *spread(range(1, 41)), header=HEADER)
    assert ws.run(job, run_id="a").result.exit_code == 0
    ws.csv("orders.csv", *spread(range(100, 110)), header=HEADER)
    result = ws.run(job, run_id="b").result
    assert result.exit_code == 0, result.error
    assert ids(ws) == list(range(100, 110))
    assert_files_partitioned_and_sorted(ws.table())


def test_merge_into_a_partitioned_table_moves_rows_between_partitions(ws) -> None:
    job = layout_job(ws, mode="merge", merge_keys=["order_id"])
    ws.csv("orders.csv", *spread(range(1, 41)), header=HEADER)
    assert ws.run(job, run_id="a").result.exit_code == 0
    # ids 5..14 change: new status and a different day (so another partition); 41..45 are new
    change = [row(i, 28, "shipped") for i in range(5, 15)] + [row(i, 27, None) for i in range(41, 46)]
    ws.csv("orders.csv", *change, header=HEADER)
    result = ws.run(job, run_id="b").result
    assert result.exit_code == 0, result.error
    rows = {r["order_id"]: r for r in ws.rows()}
    assert sorted(rows) == list(range(1, 46))
    assert all(rows[i]["status"] == "shipped" and rows[i]["ordered_at"].day == 28 for i in range(5, 15))
    assert rows[4]["status"] == ("paid", "shipped", None)[4 % 3]
    assert_files_partitioned_and_sorted(ws.table())


def test_layout_change_is_an_evolution_reported_and_old_files_stay(ws) -> None:
    ws.asset(FIELDS)
    ws.csv("orders.csv", *spread(range(1, 31)), header=HEADER)
    assert ws.run(ws.job(partition_by=["day(ordered_at)"]), run_id="a").result.exit_code == 0
    first_files = {f.path: f.spec_id for f in live_files(ws.table())}

    ws.csv("orders.csv", *spread(range(31, 61)), header=HEADER)
    job = ws.job(partition_by=["month(ordered_at)", "truncate(2, status)"], sort_by=["order_id desc"])
    run = ws.run(job, run_id="b")
    assert run.result.exit_code == 0, run.result.error
    [event] = [e for e in run.events if e["event_type"] == "table_layout_evolved"]
    assert event["before"] == {"partition_by": ["day(ordered_at)"], "sort_by": [], "identifier_fields": []}
    assert event["after"] == {
        "partition_by": ["month(ordered_at)", "truncate(2, status)"],
        "sort_by": ["order_id desc nulls last"],
        "identifier_fields": [],
    }
    change = "partition_by ['day(ordered_at)'] -> ['month(ordered_at)', 'truncate(2, status)']"
    assert change in event["message"]
    table = ws.table()
    assert [str(f.transform) for f in table.spec().fields] == ["month", "truncate[2]"]
    # the evolution landed in the run's commit: one snapshot per run, no extra metadata commit
    assert [p["dativo.run-id"] for p in snapshot_properties(table)] == ["a", "b"]
    live = {f.path: f for f in live_files(table)}
    assert all(live[path].spec_id == spec for path, spec in first_files.items())  # untouched
    new = [f for path, f in live.items() if path not in first_files]
    assert new and {f.spec_id for f in new} == {table.spec().spec_id} != {0}
    for data_file in new:
        ordered = data_file.read().column("order_id")
        assert ordered.to_pylist() == sorted(ordered.to_pylist(), reverse=True)
    assert ids(ws) == list(range(1, 61))

    again = ws.run(job, run_id="c")  # the same layout: nothing to evolve
    assert "table_layout_evolved" not in again.event_types


def test_incremental_exactly_once_on_a_partitioned_table(ws) -> None:
    ws.asset(FIELDS)
    job = ws.job(
        partition_by=PARTITION,
        sort_by=SORT,
        mode="merge",
        merge_keys=["order_id"],
        source={"incremental": {"cursor_field": "ordered_at", "lookback": "PT1H"}},
    )
    day1 = [row(i, 1 + i % 2, hour=i) for i in range(1, 21)]
    ws.csv("orders.csv", *day1, header=HEADER)
    assert ws.run(job, run_id="r1").result.exit_code == 0
    retry = ws.run(job, run_id="r1").result  # a retry of a committed run writes nothing
    assert retry.exit_code == 0 and retry.metrics["already_committed"]
    later = [row(i, 3, hour=i % 24) for i in range(21, 31)]
    ws.csv("orders.csv", *day1, *later, header=HEADER)  # the file grew; old rows are re-read
    second = ws.run(job, run_id="r2").result
    assert second.exit_code == 0, second.error
    assert ids(ws) == list(range(1, 31))
    assert [p["dativo.run-id"] for p in snapshot_properties(ws.table()) if "dativo.run-id" in p][-1] == "r2"
    assert_files_partitioned_and_sorted(ws.table())


def test_optional_merge_keys_are_not_identifier_fields_and_the_run_says_so(ws) -> None:
    fields = [{**f, "required": False} if f["name"] == "order_id" else f for f in FIELDS]
    ws.asset(fields)
    ws.csv("orders.csv", *spread(range(1, 5)), header=HEADER)
    run = ws.run(ws.job(mode="merge", merge_keys=["order_id"]))
    assert run.result.exit_code == 0, run.result.error
    assert ws.table().schema().identifier_field_names() == set()
    [note] = [e for e in run.events if e["event_type"] == "table_layout_note"]
    assert "'order_id' is optional (set required: true in the asset)" in note["message"]


def test_sort_honours_nulls_first_and_last(ws) -> None:
    ws.asset(FIELDS)
    ws.csv("orders.csv", *spread(range(1, 13)), header=HEADER)
    job = ws.job(sort_by=["status asc nulls last", "order_id desc"])
    assert ws.run(job).result.exit_code == 0
    [data_file] = live_files(ws.table())
    records = data_file.read()
    statuses = records.column("status")
    nulls = pc.is_null(statuses).to_pylist()
    assert nulls == sorted(nulls)  # nulls last
    valid = records.filter(pc.is_valid(statuses))
    keys = list(zip(valid.column("status").to_pylist(), valid.column("order_id").to_pylist(), strict=True))
    assert keys == sorted(keys, key=lambda k: (k[0], -k[1]))


def test_unknown_column_and_unfit_transform_fail_the_run_naming_file_line_and_field(ws) -> None:
    ws.asset(FIELDS)
    ws.csv("orders.csv", *spread(range(1, 3)), header=HEADER)
    job = ws.job(partition_by=["day(amount)", "created"], sort_by=["nope"])
    result = ws.run(job).result
    assert result.exit_code == 2 and result.error_type == "ConfigError"
    path = str(job.path)
    assert f"{path}:" in result.error
    unfit = "target.partition_by[0]: 'day(amount)': transform day does not apply to column 'amount'"
    assert unfit in result.error
    assert "target.partition_by[1]: column 'created' is not a field of asset 'orders'" in result.error
    assert "target.sort_by[0]: column 'nope' is not a field of asset 'orders'" in result.error
    assert not ws.catalog().table_exists("acme.orders")


def test_day_partition_values_match_the_written_timestamps(ws) -> None:
    """The partition value is the UTC day of each timestamp (pyiceberg-core's transform)."""
    ws.asset(FIELDS)
    ws.csv("orders.csv", row(1, 5, hour=23), row(2, 6, hour=0), header=HEADER)
    assert ws.run(ws.job(partition_by=["day(ordered_at)"])).result.exit_code == 0
    values = sorted(f.partition["ordered_at_day"] for f in live_files(ws.table()))
    first = datetime(2024, 1, 5, tzinfo=timezone.utc).date()
    assert values == [(first - date(1970, 1, 1)).days, (first - date(1970, 1, 1)).days + 1]
    assert pa.types.is_timestamp(ws.table().scan().to_arrow().schema.field("ordered_at").type)


def test_a_merge_key_made_optional_later_stops_being_an_identifier_field(ws) -> None:
    ws.asset(FIELDS)
    job = ws.job(mode="merge", merge_keys=["order_id"])
    ws.csv("orders.csv", *spread(range(1, 5)), header=HEADER)
    assert ws.run(job, run_id="a").result.exit_code == 0
    assert ws.table().schema().identifier_field_names() == {"order_id"}
    ws.asset([{**f, "required": False} for f in FIELDS])  # the asset relaxes the key
    ws.csv("orders.csv", *spread(range(3, 8)), header=HEADER)
    run = ws.run(job, run_id="b")
    assert run.result.exit_code == 0, run.result.error
    table = ws.table()
    assert table.schema().identifier_field_names() == set()
    assert not table.schema().find_field("order_id").required
    [event] = [e for e in run.events if e["event_type"] == "table_layout_evolved"]
    assert (event["before"]["identifier_fields"], event["after"]["identifier_fields"]) == (["order_id"], [])
    assert ids(ws) == list(range(1, 8))


def test_partitioned_writes_buffer_one_file_target_in_total_not_one_per_partition(ws, monkeypatch) -> None:
    """Memory bound: records of many partitions share one buffer, flushed at FILE_TARGET_BYTES
    into one file per partition it holds."""
    from airflow_provider_dativo.engine.iceberg import sinks

    ws.asset(FIELDS)
    ws.csv("orders.csv", *spread(range(1, 3)), header=HEADER)
    assert ws.run(ws.job(partition_by=["day(ordered_at)"], sort_by=["order_id"])).result.exit_code == 0
    table = ws.table()
    monkeypatch.setattr(sinks, "FILE_TARGET_BYTES", 4096)
    writer = sinks.DataFileWriter(table, table.metadata)
    arrow = table.schema().as_arrow()
    batches = 0
    for start in range(0, 3000, 300):
        batch = pa.table(
            {
                "order_id": pa.array(range(start + 300, start, -1), pa.int64()),
                "status": pa.array(["paid"] * 300),
                "amount": pa.array([None] * 300, arrow.field("amount").type),
                "ship_date": pa.array([None] * 300, pa.date32()),
                "ordered_at": pa.array(
                    [datetime(2024, 2, 1 + i % 28, tzinfo=timezone.utc) for i in range(300)],
                    arrow.field("ordered_at").type,
                ),
            }
        )
        writer.add(batch)
        batches += 1
        assert writer.buffered < sinks.FILE_TARGET_BYTES  # flushed as soon as the target is reached
    writer.flush()
    assert len(writer.files) == batches * 28  # each flush: one file per partition it held
    for data_file in writer.files:
        written = pq.read_table(data_file.file_path.removeprefix("file://"))
        assert {_day(v) for v in written.column("ordered_at").to_pylist()} == {data_file.partition[0]}
        ordered = written.column("order_id").to_pylist()
        assert ordered == sorted(ordered)  # sorted although each batch came in descending
    assert len({f.partition[0] for f in writer.files}) == 28
    writer.discard()


@pytest.mark.parametrize(
    "partition",
    [
        "status",
        "amount",
        "ship_date",
        "ordered_at",
        "year(ship_date)",
        "month(ordered_at)",
        "hour(ordered_at)",
        "bucket(3, status)",
        "bucket(3, amount)",
        "bucket(3, ship_date)",
        "bucket(3, ordered_at)",
        "truncate(2, status)",
        "truncate(10, amount)",
        "truncate(7, order_id)",
    ],
)
def test_every_transform_the_validation_accepts_writes_one_value_per_file(ws, partition: str) -> None:
    ws.asset(FIELDS)
    ws.csv("orders.csv", *spread(range(1, 25)), header=HEADER)
    result = ws.run(ws.job(partition_by=[partition])).result
    assert result.exit_code == 0, result.error
    table = ws.table()
    assert ids(ws) == list(range(1, 25))
    assert len(live_files(table)) > 1  # the records were split
    assert_one_partition_per_file(table)


def assert_one_partition_per_file(table) -> None:
    """Every live data file holds only records of the partition its manifest entry records,
    under the spec it was written for."""
    schema = table.schema()
    for data_file in live_files(table):
        records = data_file.read()
        for field in table.specs()[data_file.spec_id].fields:
            source = schema.find_field(field.source_id)
            transform = field.transform.transform(source.field_type)
            values = {transform(_iceberg_value(v)) for v in records.column(source.name).to_pylist()}
            assert values == {data_file.partition[field.name]}, (field, data_file)


def test_a_commit_that_lost_a_race_to_another_layout_rewrites_its_files_for_the_new_spec(ws) -> None:
    ws.asset(FIELDS)
    ws.csv("orders.csv", *spread(range(1, 11)), header=HEADER)
    assert ws.run(ws.job(), run_id="seed").result.exit_code == 0
    ws.csv("orders.csv", *spread(range(11, 41)), header=HEADER)
    catalog = racing_catalog(ws, 2)
    a = ws.job(name="a", catalog=catalog, partition_by=["month(ordered_at)"])
    b = ws.job(name="b", catalog=catalog, partition_by=["truncate(2, status)"], sort_by=["order_id desc"])
    results = race(ws, [(a, "run-a"), (b, "run-b")])
    assert [r.exit_code for r in results] == [0, 0], [r.error for r in results]
    assert sorted(r.metrics["commit_attempts"] for r in results) == [1, 2]
    table = ws.table()
    # both layouts were written for a spec the second of them (the loser) no longer had when it
    # committed: its files were rewritten for the spec it then made
    assert len(table.specs()) == 3
    assert {f.spec_id for f in live_files(table)} == {0, 1, 2} and table.spec().spec_id == 2
    assert_one_partition_per_file(table)
    assert sorted(r["order_id"] for r in table.scan().to_arrow().to_pylist()) == sorted(
        [*range(1, 11), *range(11, 41), *range(11, 41)]
    )
    assert orphan_files(table) == []
