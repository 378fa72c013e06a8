"""Bounded memory: a 5,000,000-row CSV load, a 5,000,000-row JSON Lines load and a
5,000,000-row merge each peak under 1 GiB RSS (``slow``: a few minutes; figures in
docs/performance.md). Each load runs in a child process whose own peak RSS is measured."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.memory_load import generate, measured_run, write_data, write_job

ROWS = 5_000_000
LIMIT = 1 << 30


@pytest.mark.slow
def test_five_million_rows_load_in_bounded_memory(tmp_path: Path) -> None:
    """A 5,000,000-row (~540 MB) customers CSV loads with a peak RSS under 1 GiB."""
    generate(tmp_path, ROWS)
    metrics, peak, seconds = measured_run(tmp_path, "customers")
    print(f"csv {ROWS} rows: peak RSS {peak / 2**20:.0f} MiB, {seconds:.1f} s")
    assert metrics["exit_code"] == 0, metrics["error"]
    assert metrics["records_valid"] == ROWS
    assert metrics["files_written"] > 1  # streamed into several data files, one commit
    assert peak < LIMIT, f"peak RSS {peak / 2**20:.0f} MiB"


@pytest.mark.slow
def test_five_million_row_jsonl_load_in_bounded_memory(tmp_path: Path) -> None:
    write_job(tmp_path, "customers_jsonl", "customers.jsonl", connector="jsonl")
    write_data(tmp_path, "customers.jsonl", ROWS)
    metrics, peak, seconds = measured_run(tmp_path, "customers_jsonl")
    print(f"jsonl {ROWS} rows: peak RSS {peak / 2**20:.0f} MiB, {seconds:.1f} s")
    assert metrics["exit_code"] == 0, metrics["error"]
    assert metrics["records_valid"] == ROWS
    assert metrics["files_written"] > 1
    assert peak < LIMIT, f"peak RSS {peak / 2**20:.0f} MiB"


@pytest.mark.slow
def test_five_million_row_merge_in_bounded_memory(tmp_path: Path) -> None:
    """A table of 5,000,000 customers, then a merge of 5,000,000 more: half of them update
    existing customers (every data file of the table holds some), half are new."""
    write_job(tmp_path, "base", "base.csv")
    write_data(tmp_path, "base.csv", ROWS)
    base, _, _ = measured_run(tmp_path, "base")
    assert base["exit_code"] == 0, base["error"]
    write_job(tmp_path, "change", "change.csv", mode="merge", merge_keys=["id"])
    write_data(tmp_path, "change.csv", ROWS, start=ROWS // 2)
    (tmp_path / "data" / "base.csv").unlink()
    metrics, peak, seconds = measured_run(tmp_path, "change")
    print(f"merge {ROWS} rows into {ROWS}: peak RSS {peak / 2**20:.0f} MiB, {seconds:.1f} s")
    assert metrics["exit_code"] == 0, metrics["error"]
    assert metrics["records_valid"] == ROWS
    assert peak < LIMIT, f"peak RSS {peak / 2**20:.0f} MiB"

    from pyiceberg.catalog import load_catalog

    home = tmp_path / "home"
    table = load_catalog(
        "dativo", type="sql", uri=f"sqlite:///{home}/catalog.db", warehouse=f"file://{home}/warehouse"
    ).load_table("acme.customers")
    summary = table.current_snapshot().summary.additional_properties
    assert int(summary["total-records"]) == ROWS + ROWS // 2  # every key once
