"""Read-only checks of what a run left in an Iceberg table and its folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pyiceberg.table import Table


def _local(path: str) -> Path:
    return Path(path.removeprefix("file://"))


def referenced_files(table: Table) -> set[Path]:
    """Every data file, manifest and manifest list any snapshot of ``table`` references."""
    files: set[Path] = set()
    for snapshot in table.metadata.snapshots:
        files.add(_local(snapshot.manifest_list))
        for manifest in snapshot.manifests(table.io):
            files.add(_local(manifest.manifest_path))
            for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=False):
                files.add(_local(entry.data_file.file_path))
    return files


def warehouse_data_files(home: Path) -> list[Path]:
    """Every Parquet file under an embedded catalog's warehouse, referenced or not."""
    return sorted((home / "warehouse").rglob("*.parquet"))


def orphan_files(table: Table) -> list[Path]:
    """Parquet and Avro files in the table's folder that no snapshot references."""
    root = _local(table.location())
    present = {p for p in root.rglob("*") if p.suffix in (".parquet", ".avro")}
    return sorted(present - referenced_files(table))


def snapshot_properties(table: Table) -> list[dict[str, str]]:
    """Summary properties of every snapshot, oldest first."""
    return [dict(s.summary.additional_properties) for s in table.metadata.snapshots]


def cursor_of(table: Table, field: str) -> Any:
    """The JSON-decoded cursor of the newest snapshot that carries one (walking parents back)."""
    snapshot = table.current_snapshot()
    while snapshot is not None:
        raw = dict(snapshot.summary.additional_properties).get(f"dativo.cursor.{field}")
        if raw is not None:
            return json.loads(raw)
        parent = snapshot.parent_snapshot_id
        snapshot = table.snapshot_by_id(parent) if parent is not None else None
    return None


def order_ids(home: Path, identifier: str) -> list[int]:
    """The ``order_id`` values of an embedded catalog's table under ``home``, sorted ([] when
    the table does not exist)."""
    from tests.support.workspace import embedded_catalog

    catalog = embedded_catalog(home)
    if not catalog.table_exists(identifier):
        return []
    return sorted(int(r["order_id"]) for r in catalog.load_table(identifier).scan().to_arrow().to_pylist())
