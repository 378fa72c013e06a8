"""Tables for maintenance tests and benchmarks: many small appends of realistic rows, and an
order-insensitive digest of a table's rows."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa

EVENTS_SCHEMA = pa.schema(
    [
        pa.field("event_id", pa.int64(), nullable=False),
        pa.field("region", pa.string()),
        pa.field("created_at", pa.timestamp("us")),
        pa.field("updated_at", pa.timestamp("us", tz="UTC")),
        pa.field("event_date", pa.date32()),
        pa.field("amount", pa.decimal128(12, 2)),
        pa.field("note", pa.string()),
    ]
)
REGIONS = ["eu", "us", "apac", None]


def event_rows(start: int, count: int) -> pa.Table:
    """``count`` events from id ``start``: zone-less and zoned timestamps, dates, decimals,
    strings and nulls in every nullable column."""
    base = datetime(2026, 1, 1)
    ids = list(range(start, start + count))
    return pa.Table.from_pydict(
        {
            "event_id": ids,
            "region": [REGIONS[i % 3] if i % 11 else None for i in ids],
            "created_at": [base + timedelta(minutes=7 * i) if i % 13 else None for i in ids],
            "updated_at": [
                (base + timedelta(seconds=90 * i)).replace(tzinfo=timezone.utc) if i % 17 else None
                for i in ids
            ],
            "event_date": [date(2026, 1, 1) + timedelta(days=i % 5) for i in ids],
            "amount": [Decimal(i * 37 % 100_000) / 100 if i % 7 else None for i in ids],
            "note": [f"event {i} " + "x" * (i % 23) if i % 5 else None for i in ids],
        },
        schema=EVENTS_SCHEMA,
    )


def sql_catalog(home: Path) -> Any:
    """A real sqlite SQL catalog with its warehouse under ``home``."""
    from pyiceberg.catalog import load_catalog

    home.mkdir(parents=True, exist_ok=True)
    return load_catalog(
        "maint", type="sql", uri=f"sqlite:///{home}/catalog.db", warehouse=f"file://{home}/warehouse"
    )


def events_table(
    catalog: Any, name: str = "acme.events", *, partition_by: str | None = None, sort_by: str | None = None
) -> Any:
    """Create the events table, optionally identity-partitioned on a column and sorted on one
    (ascending, nulls last)."""
    from pyiceberg.transforms import IdentityTransform

    catalog.create_namespace_if_not_exists(name.split(".")[0])
    table = catalog.create_table(name, schema=EVENTS_SCHEMA)
    if partition_by is not None:
        with table.update_spec() as spec:
            spec.add_identity(partition_by)
    if sort_by is not None:
        with table.update_sort_order() as order:
            order.asc(sort_by, IdentityTransform())
    return table


def small_appends(table: Any, count: int, rows_each: int, start: int = 0) -> int:
    """``count`` appends of ``rows_each`` events each; returns the next free id."""
    for _ in range(count):
        table.append(event_rows(start, rows_each))
        start += rows_each
    return start


def rows_digest(records: pa.Table) -> tuple[int, str]:
    """Row count and an order-insensitive digest over every column of every row."""
    digests = sorted(
        hashlib.sha256(json.dumps(row, sort_keys=True, default=str).encode()).hexdigest()
        for row in records.to_pylist()
    )
    return len(digests), hashlib.sha256("".join(digests).encode()).hexdigest()


def data_file_count(table: Any) -> int:
    """Data files of the table's current snapshot."""
    return sum(1 for _ in table.scan().plan_files())
