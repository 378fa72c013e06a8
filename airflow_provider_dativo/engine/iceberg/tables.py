"""Small facts about a target table and the records going into it: does it exist (without
creating anything), does it hold rows, what did a commit add, and records cast to its schema."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError
from pyiceberg.schema import Schema
from pyiceberg.table import StagedTable, Table
from pyiceberg.table.snapshots import Snapshot

from airflow_provider_dativo.engine.errors import WriteError
from airflow_provider_dativo.engine.iceberg.catalog import ensure_namespace


def prepare_table(catalog: Catalog, namespace: str, table_name: str, schema: Schema) -> Table:
    """Create the namespace and the table when missing; an existing table is returned as it is
    (:mod:`.evolution` decides whether it fits).

    Looked up before anything is created: pyiceberg's ``create_table_if_not_exists`` writes a
    new metadata file before it finds out the table exists, and leaves it behind as an orphan."""
    ensure_namespace(catalog, namespace)
    existing = load_existing_table(catalog, namespace, table_name)
    if existing is not None:
        return existing
    return catalog.create_table_if_not_exists(f"{namespace}.{table_name}", schema=schema)


def load_existing_table(catalog: Catalog, namespace: str, table_name: str) -> Table | None:
    """The table if it exists, without creating anything (reading state must leave no trace)."""
    try:
        return catalog.load_table(f"{namespace}.{table_name}")
    except (NoSuchTableError, NoSuchNamespaceError):
        return None


def is_staged(table: Table) -> bool:
    """Whether ``table`` does not exist yet: staged, to be created by the commit of a load."""
    return isinstance(table, StagedTable)


def has_rows(table: Table) -> bool:
    """Whether the table's current snapshot holds any record."""
    snapshot = table.current_snapshot()
    if snapshot is None or snapshot.summary is None:
        return False
    return int(snapshot.summary.additional_properties.get("total-records", 0)) > 0


@dataclass
class WriteResult:
    """What one commit added, summed over every snapshot it produced (an upsert makes several)."""

    files_written: int = 0
    total_bytes: int = 0
    records_written: int = 0
    snapshot_id: int | None = None

    @classmethod
    def from_snapshots(cls, snapshots: list[Snapshot]) -> WriteResult:
        result = cls(snapshot_id=snapshots[-1].snapshot_id if snapshots else None)
        for snapshot in snapshots:
            summary = snapshot.summary.additional_properties if snapshot.summary else {}
            result.files_written += int(summary.get("added-data-files", 0))
            result.total_bytes += int(summary.get("added-files-size", 0))
            result.records_written += int(summary.get("added-records", 0))
        return result


def conform(schema: Schema, data: pa.Table, table: Table) -> pa.Table:
    """Cast to ``schema``'s Arrow form: names, order, types and nullability must match, and a
    column the data lacks (one kept in a quarantine table) is filled with nulls."""
    target = schema.as_arrow()
    try:
        columns = [
            data.column(f.name) if f.name in data.column_names else pa.nulls(data.num_rows, f.type)
            for f in target
        ]
        return pa.Table.from_arrays(columns, names=target.names).cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise WriteError(f"records do not fit table {'.'.join(table.name())}: {exc}") from None
