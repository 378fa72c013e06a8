"""Boundary-safe cursors (issue 16): records that share the committed cursor value are loaded
when they arrive late, and never twice, in every write mode and validation mode."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest

from airflow_provider_dativo.engine.checks.boundary import MAX_BOUNDARY_IDS
from airflow_provider_dativo.engine.checks.incremental import window_start
from tests.support.examples import REPO
from tests.support.faults import faulty_catalog, kill_9_at_commit
from tests.support.iceberg_checks import snapshot_properties

FIELDS: list[dict[str, Any]] = [
    {"name": "id", "type": "long", "required": True},
    {"name": "updated_at", "type": "timestamp"},
    {"name": "amount", "type": "double", "min": 0},
]
HEADER = "id,updated_at,amount"
AT = "2026-03-01T10:00:00Z"
CURSOR = {"incremental": {"cursor_field": "updated_at"}}


def row(i: int, at: str = AT, amount: float = 1.0) -> str:
    return f"{i},{at},{amount}"


@pytest.fixture
def inc(ws):
    ws.asset(FIELDS)
    return ws


def ids(ws) -> list[int]:
    return sorted(r["id"] for r in ws.table().scan().to_arrow().to_pylist())


def amounts(ws) -> dict[int, float]:
    return {r["id"]: r["amount"] for r in ws.table().scan().to_arrow().to_pylist()}


def boundary_of(ws) -> dict[str, Any]:
    props = [p for p in snapshot_properties(ws.table()) if "dativo.boundary.updated_at" in p]
    return json.loads(props[-1]["dativo.boundary.updated_at"])


def test_tried_case_a_late_record_at_the_committed_second_is_loaded_once(inc) -> None:
    """Issue 16, tried case 1: two records at 10:00:00, then a third at that second and a newer."""
    job = inc.job(source=CURSOR)
    inc.csv("orders.csv", row(1), row(2), header=HEADER)
    first = inc.run(job, run_id="r1").result
    assert first.exit_code == 0, first.error
    assert boundary_of(inc)["count"] == 2 and len(boundary_of(inc)["ids"]) == 2

    inc.csv("orders.csv", row(1), row(2), row(3), row(4, "2026-03-01T10:05:00Z"), header=HEADER)
    second = inc.run(job, run_id="r2").result
    assert second.exit_code == 0, second.error
    assert ids(inc) == [1, 2, 3, 4]
    assert (second.metrics["records_extracted"], second.metrics["records_skipped_by_cursor"]) == (2, 2)
    assert second.metrics["cursor_after"] == "2026-03-01T10:05:00+00:00"

    third = inc.run(job, run_id="r3").result  # nothing new: nothing written, no snapshot
    assert third.exit_code == 0 and third.metrics["records_extracted"] == 0
    assert ids(inc) == [1, 2, 3, 4] and len(inc.table().metadata.snapshots) == 2


def test_boundary_grows_across_three_runs_without_the_cursor_moving(inc) -> None:
    job = inc.job(source=CURSOR)
    inc.csv("orders.csv", row(1), row(2), header=HEADER)
    assert inc.run(job, run_id="r1").result.exit_code == 0
    inc.csv("orders.csv", row(1), row(2), row(3), header=HEADER)
    second = inc.run(job, run_id="r2").result
    assert second.metrics["records_extracted"] == 1
    assert second.metrics["cursor_after"] == second.metrics["cursor_before"]
    assert boundary_of(inc)["count"] == 3  # the same value, one more record recorded
    inc.csv("orders.csv", row(3), row(2), row(5), row(1), header=HEADER)  # order does not matter
    third = inc.run(job, run_id="r3").result
    assert third.metrics["records_extracted"] == 1
    assert ids(inc) == [1, 2, 3, 5]
    assert inc.run(job, run_id="r4").result.metrics["records_extracted"] == 0
    assert ids(inc) == [1, 2, 3, 5]


def test_identical_records_at_the_boundary_are_each_loaded_once(inc) -> None:
    job = inc.job(source=CURSOR)
    inc.csv("orders.csv", row(1), row(1), header=HEADER)  # an export may repeat a record
    assert inc.run(job, run_id="r1").result.exit_code == 0
    inc.csv("orders.csv", row(1), row(1), row(2), header=HEADER)
    assert inc.run(job, run_id="r2").result.metrics["records_extracted"] == 1
    assert ids(inc) == [1, 1, 2]


def test_merge_keys_identify_the_boundary_and_late_records_merge(inc) -> None:
    job = inc.job(source=CURSOR, mode="merge", merge_keys=["id"])
    inc.csv("orders.csv", row(1), row(2), header=HEADER)
    assert inc.run(job, run_id="r1").result.exit_code == 0
    assert boundary_of(inc)["by"] == "keys"
    # a late record at the boundary, an update of 1 at a newer time, 2 again unchanged
    inc.csv("orders.csv", row(2), row(3), row(1, "2026-03-01T10:01:00Z", 9.0), header=HEADER)
    second = inc.run(job, run_id="r2").result
    assert second.exit_code == 0, second.error
    assert second.metrics["records_extracted"] == 2
    assert amounts(inc) == {1: 9.0, 2: 1.0, 3: 1.0}
    # by key: an older copy of a key recorded at the boundary is not merged over it again
    inc.csv("orders.csv", row(1, "2026-03-01T10:01:00Z", 9.0), row(4, "2026-03-01T10:01:00Z"), header=HEADER)
    third = inc.run(job, run_id="r3").result
    assert third.metrics["records_extracted"] == 1
    assert amounts(inc) == {1: 9.0, 2: 1.0, 3: 1.0, 4: 1.0}


def test_overwrite_mode_replaces_with_the_late_boundary_records_only(inc) -> None:
    job = inc.job(source=CURSOR, mode="overwrite")
    inc.csv("orders.csv", row(1), row(2), header=HEADER)
    assert inc.run(job, run_id="r1").result.exit_code == 0
    inc.csv("orders.csv", row(1), row(2), row(3), header=HEADER)
    second = inc.run(job, run_id="r2").result
    assert second.metrics["records_extracted"] == 1
    assert ids(inc) == [3]  # an incremental overwrite holds the last increment
    assert inc.run(job, run_id="r3").result.metrics["records_extracted"] == 0
    assert ids(inc) == [3]


def test_warn_mode_rejected_boundary_records_are_not_rejected_again(inc) -> None:
    job = inc.job(source=CURSOR, validation="warn")
    bad = row(2, amount=-1.0)
    inc.csv("orders.csv", row(1), bad, header=HEADER)
    first = inc.run(job, run_id="r1").result
    assert first.exit_code == 1 and boundary_of(inc)["count"] == 2
    inc.csv("orders.csv", row(1), bad, row(3), header=HEADER)
    second = inc.run(job, run_id="r2").result
    assert second.exit_code == 0, second.error
    assert second.metrics["records_extracted"] == 1 and second.metrics["records_invalid"] == 0
    assert ids(inc) == [1, 3]
    assert [r["id"] for r in inc.rows("acme.orders__rejected", key="id")] == ["2"]


def test_strict_failure_at_the_boundary_commits_nothing_and_the_next_run_loads_it(inc) -> None:
    job = inc.job(source=CURSOR)
    inc.csv("orders.csv", row(1), header=HEADER)
    assert inc.run(job, run_id="r1").result.exit_code == 0
    inc.csv("orders.csv", row(1), row(2, amount=-1.0), row(3), header=HEADER)
    assert inc.run(job, run_id="r2").result.exit_code == 2
    assert ids(inc) == [1]
    inc.csv("orders.csv", row(1), row(2), row(3), header=HEADER)
    assert inc.run(job, run_id="r3").result.exit_code == 0
    assert ids(inc) == [1, 2, 3]


def test_an_unparseable_field_is_fingerprinted_by_its_text(inc) -> None:
    job = inc.job(source=CURSOR, validation="warn")
    inc.csv("orders.csv", row(1), "2,2026-03-01T10:00:00Z,abc", header=HEADER)
    assert inc.run(job, run_id="r1").result.exit_code == 1
    inc.csv("orders.csv", row(1), "2,2026-03-01T10:00:00Z,abc", "2,2026-03-01T10:00:00Z,xyz", header=HEADER)
    second = inc.run(job, run_id="r2").result
    assert second.metrics["records_extracted"] == 1  # only the other text is new
    assert [r["amount"] for r in inc.rows("acme.orders__rejected", key="amount")] == ["abc", "xyz"]


def test_a_crash_after_the_write_before_the_commit_loses_nothing(inc) -> None:
    """An injected fault: the data files are written, the commit never lands (outcome unknown
    on every attempt). Nothing of the run is in the table; the next run loads it exactly once."""
    inc.csv("orders.csv", row(1), row(2), header=HEADER)
    assert inc.run(inc.job(source=CURSOR), run_id="r1").result.exit_code == 0
    inc.csv("orders.csv", row(1), row(2), row(3), row(4, "2026-03-01T11:00:00Z"), header=HEADER)
    broken = faulty_catalog(inc.home, "UnknownFailureCatalog", unknown_failures=10)
    failed = inc.run(inc.job(name="broken", source=CURSOR, catalog=broken), run_id="r2").result
    assert failed.exit_code == 2 and ids(inc) == [1, 2]
    result = inc.run(inc.job(source=CURSOR), run_id="r3").result
    assert result.exit_code == 0, result.error
    assert ids(inc) == [1, 2, 3, 4]


def test_kill_9_between_runs_loses_nothing_and_loads_nothing_twice(inc, tmp_path) -> None:
    inc.csv("orders.csv", row(1), row(2), header=HEADER)
    assert inc.run(inc.job(source=CURSOR), run_id="r1").result.exit_code == 0
    inc.csv("orders.csv", row(1), row(2), row(3), header=HEADER)
    marker = tmp_path / "written"
    slow = faulty_catalog(inc.home, "SlowCommitCatalog", marker=marker, sleep=120)
    job = inc.job(name="slow", source=CURSOR, catalog=slow)
    kill_9_at_commit(job.path, "r2", inc.home, marker, REPO)
    assert ids(inc) == [1, 2]
    inc.csv("orders.csv", row(1), row(2), row(3), row(4), header=HEADER)
    for run_id in ("r2", "r3"):  # the killed run's own retry, then a later run
        assert inc.run(inc.job(source=CURSOR), run_id=run_id).result.exit_code == 0
    assert ids(inc) == [1, 2, 3, 4]


def test_beyond_the_bound_the_table_tells_which_boundary_records_were_loaded(inc) -> None:
    many = MAX_BOUNDARY_IDS + 5
    inc.csv("orders.csv", *[row(i) for i in range(many)], header=HEADER)
    job = inc.job(source=CURSOR)
    assert inc.run(job, run_id="r1").result.exit_code == 0
    recorded = boundary_of(inc)
    assert recorded == {"by": "content", "count": many, "ids": None}
    inc.csv("orders.csv", *[row(i) for i in range(many + 2)], header=HEADER)
    second = inc.run(job, run_id="r2").result
    assert second.exit_code == 0, second.error
    assert second.metrics["records_extracted"] == 2
    assert ids(inc) == list(range(many + 2))
    assert boundary_of(inc)["count"] == many + 2


def test_a_cursor_committed_without_a_boundary_is_completed_from_the_table(inc) -> None:
    """Tables written before boundaries were recorded: the records at the cursor value are
    identified by reading them from the table."""
    job = inc.job(source=CURSOR)
    inc.csv("orders.csv", row(1), row(2), header=HEADER)
    assert inc.run(job, run_id="r1").result.exit_code == 0
    table = inc.table()
    legacy = {"dativo.cursor.updated_at": json.dumps("2026-03-01T10:00:00+00:00"), "dativo.run-id": "old"}
    table.append(table.schema().as_arrow().empty_table(), snapshot_properties=legacy)
    inc.csv("orders.csv", row(1), row(2), row(3), header=HEADER)
    result = inc.run(job, run_id="r2").result
    assert result.metrics["records_extracted"] == 1
    assert ids(inc) == [1, 2, 3]


# --- lookback ---------------------------------------------------------------------------


def test_lookback_loads_late_records_below_the_cursor_once_without_merge_keys(inc) -> None:
    source = {"incremental": {"cursor_field": "updated_at", "lookback": "PT1H"}}
    job = inc.job(source=source)
    inc.csv("orders.csv", row(1, "2026-03-01T09:00:00Z"), row(2), header=HEADER)
    assert inc.run(job, run_id="r1").result.exit_code == 0
    late = row(3, "2026-03-01T09:30:00Z")  # older than the cursor, arrived later
    too_late = row(4, "2026-03-01T08:00:00Z")  # before the window: not seen
    inc.csv("orders.csv", row(1, "2026-03-01T09:00:00Z"), row(2), late, too_late, header=HEADER)
    second = inc.run(job, run_id="r2").result
    assert second.exit_code == 0, second.error
    assert second.metrics["records_extracted"] == 1
    assert second.metrics["cursor_after"] == "2026-03-01T10:00:00+00:00"
    assert ids(inc) == [1, 2, 3]
    assert inc.run(job, run_id="r3").result.metrics["records_extracted"] == 0
    assert ids(inc) == [1, 2, 3]


def test_lookback_with_merge_keys_merges_late_updates_by_key(inc) -> None:
    source = {"incremental": {"cursor_field": "updated_at", "lookback": "PT1H"}}
    job = inc.job(source=source, mode="merge", merge_keys=["id"])
    inc.csv("orders.csv", row(1, "2026-03-01T09:30:00Z"), row(2), header=HEADER)
    assert inc.run(job, run_id="r1").result.exit_code == 0
    # id 1 changed at 09:45 but the export delivered it late; id 2 unchanged
    inc.csv("orders.csv", row(1, "2026-03-01T09:45:00Z", 7.0), row(2), header=HEADER)
    second = inc.run(job, run_id="r2").result
    assert second.exit_code == 0, second.error
    assert second.metrics["records_extracted"] == 1
    assert amounts(inc) == {1: 7.0, 2: 1.0}


def test_numeric_lookback_counts_cursor_units(ws) -> None:
    ws.asset([{"name": "id", "type": "long", "required": True}, {"name": "seq", "type": "long"}])
    job = ws.job(source={"incremental": {"cursor_field": "seq", "lookback": 5}})
    ws.csv("orders.csv", "1,10", "2,20", header="id,seq")
    assert ws.run(job, run_id="r1").result.exit_code == 0
    ws.csv("orders.csv", "1,10", "2,20", "3,16", "4,14", header="id,seq")
    assert ws.run(job, run_id="r2").result.metrics["records_extracted"] == 1
    assert sorted(r["id"] for r in ws.rows(key="id")) == [1, 2, 3]


@pytest.mark.parametrize(
    ("fields", "cursor", "lookback", "message"),
    [
        (FIELDS, "updated_at", 5, "a time cursor looks back by an ISO 8601 duration"),
        ([{"name": "id", "type": "long"}], "id", "PT1H", "a numeric cursor looks back by a number"),
        ([{"name": "id", "type": "string"}], "id", 3, "a string cursor has no distance to look back by"),
    ],
)
def test_a_lookback_that_does_not_fit_the_cursor_is_a_config_error(ws, fields, cursor, lookback, message):
    ws.asset(fields)
    ws.csv("orders.csv", "1", header=fields[0]["name"])
    job = ws.job(source={"incremental": {"cursor_field": cursor, "lookback": lookback}})
    result = ws.run(job).result
    assert result.exit_code == 2 and result.error_type == "ConfigError"
    assert message in result.error and "source.incremental.lookback" in result.error


def test_a_lookback_that_is_no_duration_is_refused_when_the_job_is_loaded(ws) -> None:
    from airflow_provider_dativo.config.errors import DativoConfigError

    ws.asset(FIELDS)
    with pytest.raises(DativoConfigError, match="lookback"):
        ws.job(source={"incremental": {"cursor_field": "updated_at", "lookback": "2 hours"}})


@pytest.mark.parametrize(
    ("after", "lookback", "expected"),
    [
        (pa.scalar(Decimal("10.25"), pa.decimal128(6, 2)), Decimal("0.001"), Decimal("10.24")),
        (pa.scalar(date(2024, 1, 10)), timedelta(hours=2), date(2024, 1, 9)),  # whole days
        (pa.scalar(5, pa.int32()), Decimal("2.5"), 2),  # whole units, rounded up
        (pa.scalar(1.5), Decimal("0.25"), 1.25),
        (
            pa.scalar(datetime(2026, 3, 1, 10, tzinfo=timezone.utc)),
            timedelta(minutes=90),
            datetime(2026, 3, 1, 8, 30, tzinfo=timezone.utc),
        ),
    ],
)
def test_the_window_never_starts_later_than_asked(after, lookback, expected) -> None:
    assert window_start(after, lookback).as_py() == expected
