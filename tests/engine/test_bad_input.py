"""Bad input and crashes lose nothing: the table and its cursor stay as they were, the next run
loads every record exactly once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_dativo.engine.iceberg.orphans import remove_orphan_files
from tests.support.examples import REPO
from tests.support.faults import faulty_catalog, kill_9_at_commit
from tests.support.iceberg_checks import cursor_of, orphan_files

FIELDS: list[dict[str, Any]] = [
    {"name": "id", "type": "long", "required": True},
    {"name": "seq", "type": "long"},
    {"name": "amount", "type": "double"},
]
HEADER = "id,seq,amount"
SOURCE = {"incremental": {"cursor_field": "seq"}}
FIRST = [f"{i},{i * 10},{i}.5" for i in (1, 2)]
LATER = [f"{i},{i * 10},{i}.5" for i in (3, 4, 5)]

RUN_IN_CHILD = """
import sys
from airflow_provider_dativo.config.loader import load_job
from airflow_provider_dativo.engine.run import run_job

result = run_job(load_job(sys.argv[1]), job_name="orders_job", run_id=sys.argv[2], dativo_home=sys.argv[3])
sys.exit(result.exit_code)
"""


@pytest.fixture
def loaded(ws):
    """An incremental table that committed ids 1 and 2 (cursor 20)."""
    ws.asset(FIELDS)
    ws.csv("orders.csv", *FIRST, header=HEADER)
    assert ws.run(ws.job(source=SOURCE), run_id="r1").result.exit_code == 0
    return ws


def _unchanged(ws, snapshot_id: int) -> None:
    table = ws.table()
    assert table.current_snapshot().snapshot_id == snapshot_id
    assert cursor_of(table, "seq") == 20
    assert sorted(r["id"] for r in table.scan().to_arrow().to_pylist()) == [1, 2]


def _loads_the_rest_exactly_once(ws, run_id: str) -> None:
    ws.csv("orders.csv", *FIRST, *LATER, header=HEADER)
    result = ws.run(ws.job(source=SOURCE), run_id=run_id).result
    assert result.exit_code == 0, result.error
    assert result.metrics["records_extracted"] == 3
    table = ws.table()
    assert sorted(r["id"] for r in table.scan().to_arrow().to_pylist()) == [1, 2, 3, 4, 5]
    assert cursor_of(table, "seq") == 50


def test_wrong_header_changes_nothing(loaded) -> None:
    ws = loaded
    before = ws.table().current_snapshot().snapshot_id
    path = ws.csv("orders.csv", *FIRST, *LATER, header="id,sequence,amount")
    result = ws.run(ws.job(source=SOURCE), run_id="r2").result
    assert result.exit_code == 2 and result.error_type == "SourceError"
    assert result.error == (
        f"SourceError: {path}: columns not in asset 'orders': 'sequence' (asset columns: id, seq, amount)"
    )
    _unchanged(ws, before)
    _loads_the_rest_exactly_once(ws, "r2")


def test_unparseable_value_in_strict_mode_changes_nothing(loaded) -> None:
    ws = loaded
    before = ws.table().current_snapshot().snapshot_id
    ws.csv("orders.csv", *FIRST, *LATER, "6,60,one", header=HEADER)
    result = ws.run(ws.job(source=SOURCE), run_id="r2").result
    assert result.exit_code == 2
    assert result.error == "validation failed (strict): 1 of 4 records invalid: amount.type=1"
    _unchanged(ws, before)
    _loads_the_rest_exactly_once(ws, "r2")


def test_kill_9_in_the_middle_of_a_write_changes_nothing(loaded, tmp_path) -> None:
    ws = loaded
    before = ws.table().current_snapshot().snapshot_id
    ws.csv("orders.csv", *FIRST, *LATER, header=HEADER)
    marker = tmp_path / "data-files-written"
    slow = faulty_catalog(ws.home, "SlowCommitCatalog", marker=marker, sleep=120)
    job = ws.job(name="slow", source=SOURCE, catalog=slow)
    kill_9_at_commit(job.path, "airflow-try", ws.home, marker, REPO)

    _unchanged(ws, before)
    table = ws.table()
    # the killed run had written its data file: it is there, but no snapshot references it
    orphans = orphan_files(table)
    assert [p.suffix for p in orphans].count(".parquet") == 1
    # the clean-up for such files: kept while they may belong to a running load, then deleted
    young = remove_orphan_files(table)
    assert (young.orphans, young.too_young, young.deleted) == ([], len(orphans), 0)
    cleaned = remove_orphan_files(table, older_than=timedelta(0))
    assert [Path(o.removeprefix("file://")) for o in cleaned.orphans] == orphans
    assert cleaned.deleted == len(orphans) and orphan_files(table) == []
    # the retry (same run id, as Airflow would use) finds nothing committed and loads it all once
    _loads_the_rest_exactly_once(ws, "airflow-try")
