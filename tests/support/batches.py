"""Orders data built vectorised (valid, or with some rows breaking rules) and the batch sizes
a test load runs with: many small batches and files, or the whole input in one."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest

from airflow_provider_dativo.engine.iceberg import sinks
from airflow_provider_dativo.engine.sources import files
from tests.support.workspace import Workspace


def orders(start: int, stop: int, *, bad_every: int | None = 997) -> pa.Table:
    """Orders as text, built vectorised; with ``bad_every``, some rows break one or two rules."""
    ids = pa.array(range(start, stop), pa.int64())
    text = pc.cast(ids, pa.string())
    email = pc.binary_join_element_wise("o", text, "@example.com", "")
    quantity = pc.cast(pc.add(pc.remainder(ids, 100), 1), pa.string())
    if bad_every:
        bad = pc.equal(pc.remainder(ids, bad_every), 3)
        email = pc.if_else(bad, pa.scalar("not-an-email"), email)
        quantity = pc.if_else(pc.equal(pc.remainder(ids, bad_every * 2), 3), pa.scalar("0"), quantity)
    statuses = pa.array(["paid", "shipped"])
    return pa.table(
        {
            "order_id": text,
            "email": email,
            "status": pc.take(statuses, pc.remainder(ids, 2)),
            "amount": pc.binary_join_element_wise(pc.cast(pc.remainder(ids, 1000), pa.string()), "25", "."),
            "quantity": quantity,
            "score": pc.cast(pc.divide(pc.cast(ids, pa.float64()), 7.0), pa.string()),
            "gift": pc.if_else(pc.equal(pc.remainder(ids, 3), 0), pa.scalar("true"), pa.scalar("false")),
            "ship_date": pc.take(pa.array(["2024-01-03", "2024-02-29"]), pc.remainder(ids, 2)),
            "ordered_at": pc.take(
                pa.array(["2024-01-02T03:04:05Z", "2024-01-02 03:04"]), pc.remainder(ids, 2)
            ),
        }
    )


def write_csv(ws: Workspace, table: pa.Table, name: str = "orders.csv") -> Path:
    path = ws.data(name, b"")
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="needed"))
    return path


def use_small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches and data files far smaller than the input, so a test load spans many of each."""
    monkeypatch.setattr(files, "CSV_BLOCK_SIZE", 64 * 1024)
    monkeypatch.setattr(files, "BATCH_ROWS", 5_000)
    monkeypatch.setattr(files, "JSONL_CHUNK_BYTES", 256 * 1024)
    monkeypatch.setattr(sinks, "FILE_TARGET_BYTES", 2 << 20)


def one_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole input in one batch and one data file: the reference a batched load must match."""
    monkeypatch.setattr(files, "CSV_BLOCK_SIZE", 1 << 30)
    monkeypatch.setattr(files, "BATCH_ROWS", 1 << 30)
    monkeypatch.setattr(files, "JSONL_CHUNK_BYTES", 1 << 30)
    monkeypatch.setattr(sinks, "FILE_TARGET_BYTES", 1 << 40)
