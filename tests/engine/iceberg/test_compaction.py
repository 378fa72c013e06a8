"""Compaction (engine/iceberg/compaction.py) on real tables in a real sqlite SQL catalog."""

from __future__ import annotations

from pathlib import Path

import pyarrow.compute as pc
import pytest
from pyiceberg.expressions import AlwaysTrue

from airflow_provider_dativo.engine.iceberg.compaction import COMPACTION, OPERATION_PROPERTY, compact_table
from airflow_provider_dativo.engine.iceberg.state import committed_cursor
from tests.support.iceberg_checks import orphan_files
from tests.support.maintenance import (
    data_file_count,
    event_rows,
    events_table,
    rows_digest,
    small_appends,
    sql_catalog,
)

TARGET = 1 << 20  # 1 MiB: every test file (a few KiB) is small


@pytest.fixture
def catalog(tmp_path: Path):
    return sql_catalog(tmp_path / "home")


def test_rows_are_identical_and_files_fewer(catalog) -> None:
    table = events_table(catalog)
    small_appends(table, 12, 50)
    before = rows_digest(table.scan().to_arrow())
    snapshots_before = len(table.metadata.snapshots)

    report = compact_table(table, target_file_size_bytes=TARGET)

    table = catalog.load_table("acme.events")
    assert rows_digest(table.scan().to_arrow()) == before
    assert (report.files_rewritten, report.files_written, data_file_count(table)) == (12, 1, 1)
    assert report.records_rewritten == 600
    assert len(table.metadata.snapshots) == snapshots_before + 1
    summary = table.current_snapshot().summary
    assert summary.operation.value == "overwrite"
    assert summary.additional_properties[OPERATION_PROPERTY] == COMPACTION
    assert orphan_files(table) == []  # nothing written that the commit does not reference


def test_each_partition_is_compacted_on_its_own(catalog) -> None:
    table = events_table(catalog, partition_by="event_date")
    small_appends(table, 8, 40)  # every append touches all 5 dates: 40 files
    assert data_file_count(table) == 40
    before = rows_digest(table.scan().to_arrow())

    report = compact_table(table, target_file_size_bytes=TARGET)

    table = catalog.load_table("acme.events")
    assert rows_digest(table.scan().to_arrow()) == before
    assert (report.groups, report.files_rewritten, data_file_count(table)) == (5, 40, 5)
    for task in table.scan().plan_files():  # one file per date, holding only that date
        dates = read_dates(table, task)
        assert len(set(dates)) == 1 and task.file.partition[0] is not None


def read_dates(table, task) -> list:
    from airflow_provider_dativo.engine.iceberg._pyiceberg import read_data_files

    return read_data_files(table.metadata, table.io, [task], columns=["event_date"]).column(0).to_pylist()


def test_output_rolls_at_the_target_size(catalog) -> None:
    table = events_table(catalog)
    small_appends(table, 10, 200)
    sizes = [task.file.file_size_in_bytes for task in table.scan().plan_files()]
    target = int(sum(sizes) / 3)  # about three inputs' worth per output... of 10 inputs

    report = compact_table(table, target_file_size_bytes=target)

    table = catalog.load_table("acme.events")
    assert 2 <= report.files_written <= 4 < report.files_rewritten
    assert table.scan().to_arrow().num_rows == 2000


def test_rows_follow_the_sort_order(catalog) -> None:
    table = events_table(catalog, sort_by="created_at")
    for start in (300, 0, 150, 450):  # appends out of order
        table.append(event_rows(start, 150))
    compact_table(table, target_file_size_bytes=TARGET)
    table = catalog.load_table("acme.events")
    [task] = list(table.scan().plan_files())
    from airflow_provider_dativo.engine.iceberg._pyiceberg import read_data_files

    created = read_data_files(table.metadata, table.io, [task], columns=["created_at"]).column(0)
    values = created.drop_null()
    assert created.null_count > 0 and not created[len(created) - 1].is_valid  # nulls last, as ordered
    assert pc.all(pc.greater_equal(values[1:], values[:-1])).as_py()


def test_nothing_to_do_commits_nothing(catalog) -> None:
    table = events_table(catalog)
    assert compact_table(table, target_file_size_bytes=TARGET).snapshot_id is None  # empty table
    table.append(event_rows(0, 10))
    snapshots = len(table.metadata.snapshots)
    report = compact_table(table, target_file_size_bytes=TARGET)  # one file: nothing to gain
    assert (report.snapshot_id, report.files_rewritten) == (None, 0)
    table.append(event_rows(10, 10))
    big = compact_table(table, target_file_size_bytes=1024)  # both files above 75% of 1 KiB
    table = catalog.load_table("acme.events")
    assert big.snapshot_id is None and len(table.metadata.snapshots) == snapshots + 1


def test_an_append_committed_during_the_compaction_is_kept_once(catalog) -> None:
    table = events_table(catalog)
    small_appends(table, 6, 30)
    other = catalog.load_table("acme.events")  # another writer, with its own table object

    report = compact_table(
        table, target_file_size_bytes=TARGET, before_commit=lambda: other.append(event_rows(1000, 7))
    )

    table = catalog.load_table("acme.events")
    ids = table.scan().to_arrow().column("event_id").to_pylist()
    assert sorted(ids) == sorted([*range(180), *range(1000, 1007)])  # neither lost nor duplicated
    assert report.attempts == 2 and report.files_rewritten == 6
    assert data_file_count(table) == 2  # the compacted file and the concurrent append's
    assert orphan_files(table) == []  # the failed attempt's manifests are gone too


def test_a_group_another_writer_rewrote_is_abandoned_and_its_files_deleted(catalog) -> None:
    table = events_table(catalog, partition_by="region")
    small_appends(table, 4, 30)
    other = catalog.load_table("acme.events")

    def overwrite_eu() -> None:
        other.delete(delete_filter="region == 'eu'")

    report = compact_table(table, target_file_size_bytes=TARGET, before_commit=overwrite_eu)

    table = catalog.load_table("acme.events")
    regions = table.scan().to_arrow().column("region").to_pylist()
    assert "eu" not in regions and len(regions) == 120 - sum(
        1 for r in event_rows(0, 120).column("region").to_pylist() if r == "eu"
    )
    assert report.groups_abandoned == 1 and report.groups == 3
    assert orphan_files(table) == []  # the abandoned group's new file was deleted


def test_the_cursor_of_an_incremental_job_survives(catalog) -> None:
    table = events_table(catalog)
    for i in range(3):
        table.append(event_rows(i * 10, 10), snapshot_properties={"dativo.cursor.event_id": str(i * 10 + 9)})
    compact_table(table, target_file_size_bytes=TARGET)
    table = catalog.load_table("acme.events")
    assert committed_cursor(table, "event_id").value == 29


def test_a_bad_target_is_refused(catalog) -> None:
    with pytest.raises(ValueError, match="positive"):
        compact_table(events_table(catalog), target_file_size_bytes=0)


def test_deleted_rows_stay_deleted(catalog) -> None:
    table = events_table(catalog)
    small_appends(table, 5, 20)
    table.delete(delete_filter="event_id < 15")  # copy-on-write: a rewritten first file
    before = rows_digest(table.scan(row_filter=AlwaysTrue()).to_arrow())
    compact_table(table, target_file_size_bytes=TARGET)
    assert rows_digest(catalog.load_table("acme.events").scan().to_arrow()) == before


def test_sort_fields_with_a_transform_and_a_direction(catalog) -> None:
    from pyiceberg.table.sorting import NullOrder
    from pyiceberg.transforms import DayTransform, IdentityTransform

    from airflow_provider_dativo.engine.iceberg._pyiceberg import read_data_files

    table = events_table(catalog)
    with table.update_sort_order() as order:
        order.asc("created_at", DayTransform(), NullOrder.NULLS_FIRST)
        order.desc("event_id", IdentityTransform())
    for start in (400, 0, 200):
        table.append(event_rows(start, 200))
    compact_table(table, target_file_size_bytes=TARGET)
    table = catalog.load_table("acme.events")
    [task] = list(table.scan().plan_files())
    rows = read_data_files(table.metadata, table.io, [task], columns=["created_at", "event_id"]).to_pylist()
    keys = [
        (r["created_at"] is not None, r["created_at"] and r["created_at"].date(), -r["event_id"])
        for r in rows
    ]
    assert keys == sorted(keys) and keys[0][0] is False  # nulls first, then day ascending, id descending
