"""Every load is streamed: record batches are selected, validated and written as they are read,
then committed once; the table ends up exactly as when the whole input is one batch."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from pyiceberg.types import StringType

from airflow_provider_dativo.engine import pipeline
from airflow_provider_dativo.engine.sources import files
from tests.support.batches import one_batch, orders, use_small_batches, write_csv
from tests.support.iceberg_checks import cursor_of, orphan_files, snapshot_properties
from tests.support.workspace import ORDERS_FIELDS, Workspace

ROWS = 200_000
COMPARED_METRICS = (
    "status",
    "records_extracted",
    "records_valid",
    "records_invalid",
    "invalid_by_rule",
    "records_quarantined",
    "records_skipped_by_cursor",
    "cursor_before",
    "cursor_after",
)


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    use_small_batches(monkeypatch)


def _both(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prepare, **job_args):
    """Run the same job in many small batches and in one batch, in two workspaces; returns both
    (ws, results)."""
    out = []
    for kind in ("streamed", "memory"):
        ws = Workspace(root=tmp_path / kind / "tmp", home=tmp_path / kind / "home")
        with monkeypatch.context() as patch:
            (use_small_batches if kind == "streamed" else one_batch)(patch)
            results = [ws.run(ws.job(**job_args), run_id=run_id).result for run_id in prepare(ws)]
        out.append((ws, results))
    return out


def _rejected(ws: Workspace) -> list[dict]:
    rows = ws.rows("acme.orders__rejected", key="order_id")
    return sorted(({k: v for k, v in r.items() if k != "_dativo_rejected_at"} for r in rows), key=str)


def test_streamed_append_matches_a_single_batch_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def prepare(ws: Workspace) -> list[str]:
        write_csv(ws, orders(0, ROWS))
        return ["run-1"]

    (streamed, [s]), (memory, [m]) = _both(tmp_path, monkeypatch, prepare, validation="warn")
    assert s.exit_code == m.exit_code == 1
    assert s.error == m.error
    assert {k: s.metrics.get(k) for k in COMPARED_METRICS} == {k: m.metrics.get(k) for k in COMPARED_METRICS}
    assert s.metrics["records_extracted"] == ROWS and 0 < s.metrics["records_invalid"] < ROWS
    assert list(s.metrics["invalid_by_rule"]) == ["email.pattern", "quantity.min"]
    assert streamed.rows() == memory.rows()
    assert _rejected(streamed) == _rejected(memory)
    # many batches and several data files, all in ONE snapshot carrying the run's properties
    table = streamed.table()
    assert len(table.metadata.snapshots) == 1
    assert s.metrics["files_written"] > 1
    [properties] = snapshot_properties(table)
    assert properties["dativo.run-id"] == "run-1" and properties["dativo.run-status"] == "partial"
    assert orphan_files(table) == []
    assert table.scan().to_arrow().num_rows == s.metrics["records_valid"]


def test_streamed_incremental_selects_per_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def prepare(ws: Workspace) -> list[str]:
        write_csv(ws, orders(0, ROWS // 2, bad_every=None))
        ws.run(ws.job(source={"incremental": {"cursor_field": "order_id"}}), run_id="first")
        write_csv(ws, orders(0, ROWS, bad_every=None))  # the first half again, then new records
        return ["second"]

    job = {"source": {"incremental": {"cursor_field": "order_id"}}}
    (streamed, [s]), (memory, [m]) = _both(tmp_path, monkeypatch, prepare, **job)
    assert s.exit_code == m.exit_code == 0
    assert {k: s.metrics.get(k) for k in COMPARED_METRICS} == {k: m.metrics.get(k) for k in COMPARED_METRICS}
    assert s.metrics["records_skipped_by_cursor"] == ROWS // 2
    assert s.metrics["cursor_before"] == ROWS // 2 - 1 and s.metrics["cursor_after"] == ROWS - 1
    assert streamed.rows() == memory.rows()
    assert [r["order_id"] for r in streamed.rows()] == list(range(ROWS))
    assert cursor_of(streamed.table(), "order_id") == ROWS - 1
    assert orphan_files(streamed.table()) == []


def test_streamed_parquet_matches_a_single_batch_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def prepare(ws: Workspace) -> list[str]:
        data = orders(0, 50_000)
        typed = data.set_column(0, "order_id", pc.cast(data.column("order_id"), pa.int64()))
        pq.write_table(typed, ws.data("orders.parquet", b""), row_group_size=7_000)
        return ["run-1"]

    job = {"connector": "parquet", "path": "../../data/orders.parquet", "validation": "warn"}
    (streamed, [s]), (memory, [m]) = _both(tmp_path, monkeypatch, prepare, **job)
    assert {k: s.metrics.get(k) for k in COMPARED_METRICS} == {k: m.metrics.get(k) for k in COMPARED_METRICS}
    assert streamed.rows() == memory.rows()
    assert _rejected(streamed) == _rejected(memory)


def test_streamed_overwrite_matches_a_single_batch_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def prepare(ws: Workspace) -> list[str]:
        write_csv(ws, orders(ROWS, ROWS + 1_000, bad_every=None))
        ws.run(ws.job(), run_id="before")  # records the overwrite must replace
        write_csv(ws, orders(0, ROWS))
        return ["run-1"]

    (streamed, [s]), (memory, [m]) = _both(
        tmp_path, monkeypatch, prepare, validation="warn", mode="overwrite"
    )
    assert s.exit_code == m.exit_code == 1
    assert {k: s.metrics.get(k) for k in COMPARED_METRICS} == {k: m.metrics.get(k) for k in COMPARED_METRICS}
    assert streamed.rows() == memory.rows()
    assert min(r["order_id"] for r in streamed.rows()) == 0
    assert max(r["order_id"] for r in streamed.rows()) < ROWS  # the earlier records are gone
    # one commit: a delete of everything, then one append of many files, both of this run
    table = streamed.table()
    own = [x for x in table.metadata.snapshots if x.summary.additional_properties["dativo.run-id"] == "run-1"]
    assert [x.summary.operation.value for x in own] == ["delete", "append"]
    assert s.metrics["files_written"] > 1
    assert orphan_files(table) == []


@pytest.mark.usefixtures("small_batches")
def test_strict_overwrite_with_an_invalid_record_keeps_the_table(ws: Workspace) -> None:
    write_csv(ws, orders(0, 1_000, bad_every=None))
    assert ws.run(ws.job(), run_id="before").result.exit_code == 0
    before = ws.table().current_snapshot().snapshot_id
    write_csv(ws, orders(0, ROWS, bad_every=50_000))
    result = ws.run(ws.job(mode="overwrite"), run_id="run-1").result
    assert result.exit_code == 2 and result.error_type == "ValidationError"
    assert ws.table().current_snapshot().snapshot_id == before
    assert len(ws.rows()) == 1_000
    assert orphan_files(ws.table()) == []


@pytest.mark.usefixtures("small_batches")
def test_strict_load_with_an_invalid_record_in_the_last_batch_writes_nothing(ws: Workspace) -> None:
    data = orders(0, ROWS, bad_every=None)
    last = ROWS - 1
    email = pc.if_else(
        pc.equal(pc.cast(data.column("order_id"), pa.int64()), last), "bad", data.column("email")
    )
    write_csv(ws, data.set_column(1, "email", email))
    result = ws.run(ws.job()).result
    assert result.exit_code == 2 and result.error_type == "ValidationError"
    assert result.metrics["invalid_by_rule"] == {"email.pattern": 1}
    assert result.metrics["records_extracted"] == ROWS
    assert not ws.catalog().table_exists("acme.orders")
    assert not list(ws.home.rglob("*.parquet"))


@pytest.mark.usefixtures("small_batches")
def test_a_source_error_in_a_later_file_leaves_no_data_file(ws: Workspace) -> None:
    write_csv(ws, orders(0, 20_000), "a.csv")
    ws.csv("b.csv", "1,2", header="order_id,surprise")
    result = ws.run(ws.job(path="../../data/*.csv", validation="warn")).result
    assert result.exit_code == 2 and result.error_type == "SourceError"
    assert "columns not in asset 'orders': 'surprise'" in result.error
    assert not list(ws.home.rglob("*.parquet"))


@pytest.mark.usefixtures("small_batches")
def test_files_are_rewritten_when_the_schema_changed_before_the_commit(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer changes the table's schema while the data files are written: they are
    rewritten (one at a time) for the schema the commit sees, and the old ones deleted."""
    ws.asset(fields=[*ORDERS_FIELDS, {"name": "note", "type": "string"}])
    write_csv(ws, orders(0, 30_000, bad_every=None).append_column("note", pa.array(["n"] * 30_000)))
    ws.create_table()
    original = pipeline.Pipeline.run

    def write_then_evolve(self, batches):
        done = original(self, batches)
        # "note" dropped and added back: same name and type, a new field id
        with ws.table().update_schema(allow_incompatible_changes=True) as update:
            update.delete_column("note")
        with ws.table().update_schema() as update:
            update.add_column("note", StringType())
        return done

    monkeypatch.setattr(pipeline.Pipeline, "run", write_then_evolve)
    result = ws.run(ws.job()).result
    assert result.exit_code == 0, result.error
    table = ws.table()
    note_id = table.schema().find_field("note").field_id
    assert len(table.metadata.snapshots) == 1
    rows = ws.rows()
    assert [r["order_id"] for r in rows] == list(range(30_000))
    assert {r["note"] for r in rows} == {"n"}
    files = [t.file.file_path.removeprefix("file://") for t in table.scan().plan_files()]
    assert len(files) == result.metrics["files_written"] > 1
    for path in files:
        field = pq.read_schema(path).field("note")
        assert int(field.metadata[b"PARQUET:field_id"]) == note_id
    assert orphan_files(table) == []


def _jsonl(table: pa.Table) -> bytes:
    """JSON Lines of ``table``: numbers as JSON numbers, text as strings, nulls left out."""
    typed = table.set_column(0, "order_id", pc.cast(table.column("order_id"), pa.int64()))
    lines = [json.dumps({k: v for k, v in row.items() if v is not None}) for row in typed.to_pylist()]
    return ("\n".join(lines) + "\n").encode()


def test_streamed_jsonl_matches_a_single_batch_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def prepare(ws: Workspace) -> list[str]:
        ws.data("orders.jsonl", _jsonl(orders(0, 50_000)))
        return ["run-1"]

    job = {"connector": "jsonl", "path": "../../data/orders.jsonl", "validation": "warn"}
    (streamed, [s]), (memory, [m]) = _both(tmp_path, monkeypatch, prepare, **job)
    assert s.exit_code == m.exit_code == 1
    assert {k: s.metrics.get(k) for k in COMPARED_METRICS} == {k: m.metrics.get(k) for k in COMPARED_METRICS}
    assert s.metrics["records_extracted"] == 50_000
    assert streamed.rows() == memory.rows()
    assert _rejected(streamed) == _rejected(memory)
    assert s.metrics["files_written"] > 1


@pytest.mark.usefixtures("small_batches")
def test_a_jsonl_parse_error_names_the_file_and_line_in_a_later_chunk(ws: Workspace) -> None:
    data = _jsonl(orders(0, 20_000, bad_every=None))
    assert len(data) > 4 * files.JSONL_CHUNK_BYTES  # the bad line is chunks away from the start
    path = ws.data("orders.jsonl", data + b'{"order_id": 20000, "email": \n' + _jsonl(orders(20_001, 20_010)))
    result = ws.run(ws.job(connector="jsonl", path="../../data/orders.jsonl")).result
    assert result.exit_code == 2 and result.error_type == "SourceError"
    assert str(path) in result.error and "at line 20001" in result.error, result.error
    assert not list(ws.home.rglob("*.parquet"))
