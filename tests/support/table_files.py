"""What a table's manifests say about its data files, and the table read by a second Iceberg
implementation (DuckDB's ``iceberg`` extension, C++, installed from PyPI as a package)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.table import Table

ORDER_FIELDS: list[dict[str, Any]] = [
    {"name": "order_id", "type": "long", "required": True},
    {"name": "status", "type": "string"},
    {"name": "amount", "type": "decimal(10,2)"},
    {"name": "ship_date", "type": "date"},
    {"name": "ordered_at", "type": "timestamp"},
]
"""An orders asset with something for every transform: a key, a string, a decimal, a date
and a timestamp (all but the key may be null)."""


@dataclass(frozen=True)
class LiveFile:
    """A data file of the current snapshot, as its manifest entry records it."""

    path: str
    spec_id: int
    partition: dict[str, Any]
    record_count: int

    def read(self) -> pa.Table:
        return pq.read_table(self.path.removeprefix("file://"))


def live_files(table: Table) -> list[LiveFile]:
    """The current snapshot's data files, read from its manifests (partition values by the
    name of the file's own spec's fields)."""
    snapshot = table.current_snapshot()
    if snapshot is None:
        return []
    files = []
    for manifest in snapshot.manifests(table.io):
        spec = table.specs()[manifest.partition_spec_id]
        for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True):
            data = entry.data_file
            values = {f.name: data.partition[i] for i, f in enumerate(spec.fields)}
            files.append(LiveFile(data.file_path, data.spec_id, values, data.record_count))
    return files


def duckdb_connection():
    """An in-memory DuckDB with the ``avro`` and ``iceberg`` extensions loaded from their
    PyPI packages (nothing is downloaded: autoinstall is off)."""
    import duckdb
    import duckdb_extension_avro
    import duckdb_extension_iceberg

    con = duckdb.connect()
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET TimeZone = 'UTC'")
    for package, name in ((duckdb_extension_avro, "avro"), (duckdb_extension_iceberg, "iceberg")):
        found = sorted(Path(package.__file__).parent.glob(f"extensions/*/{name}.duckdb_extension"))
        con.execute(f"LOAD '{found[-1]}'")
    return con


def duckdb_rows(table: Table, order_by: str) -> list[dict[str, Any]]:
    """The table's current rows as DuckDB's Iceberg reader sees them, from its metadata file."""
    con = duckdb_connection()
    try:
        result = con.execute(f"SELECT * FROM iceberg_scan(?) ORDER BY {order_by}", [table.metadata_location])
        return result.fetch_arrow_table().to_pylist()
    finally:
        con.close()
