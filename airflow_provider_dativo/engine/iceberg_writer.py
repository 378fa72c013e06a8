"""Open the Iceberg catalog, make sure the namespace and table exist, and commit one batch.

Each run commits its rows in a single catalog commit that carries the run id and job name as
snapshot properties, so a table's history says which run wrote what.
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.catalog import Catalog, load_catalog
from pyiceberg.schema import Schema
from pyiceberg.table import Table

from airflow_provider_dativo.config.job import TargetSettings
from airflow_provider_dativo.engine.errors import CatalogUnavailable, WriteError

_RETRY_HINT = "when the catalog is only temporarily unavailable, retrying the run helps"

RUN_ID_PROPERTY = "dativo.run-id"
JOB_NAME_PROPERTY = "dativo.job-name"


def resolve_dativo_home(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Where the embedded catalog lives: the argument, else ``$DATIVO_HOME``, else ``./.dativo``."""
    raw = explicit or os.environ.get("DATIVO_HOME") or ".dativo"
    home = Path(raw).expanduser().absolute()
    home.mkdir(parents=True, exist_ok=True)
    return home


def catalog_settings(target: TargetSettings, dativo_home: str | os.PathLike[str] | None) -> dict[str, Any]:
    """pyiceberg properties of the job's catalog; without any (``catalog`` absent, or only a
    ``name``), the embedded sqlite catalog registered under that name."""
    if target.catalog_properties():
        return target.catalog_properties()
    home = resolve_dativo_home(dativo_home)
    (home / "warehouse").mkdir(exist_ok=True)
    return {"type": "sql", "uri": f"sqlite:///{home}/catalog.db", "warehouse": f"file://{home}/warehouse"}


def _describe(properties: dict[str, Any]) -> str:
    """Where the catalog is, without any credential that may sit in its properties."""
    for key in ("uri", "warehouse"):
        if properties.get(key):
            return " at " + re.sub(r"//[^/@]*@", "//***@", str(properties[key]))
    return ""


def open_catalog(target: TargetSettings, dativo_home: str | os.PathLike[str] | None = None) -> Catalog:
    """Load the catalog; any failure is reported as unreachable (retryable)."""
    properties = catalog_settings(target, dativo_home)
    try:
        return load_catalog(target.catalog_name, **properties)
    except Exception as exc:
        raise CatalogUnavailable(
            f"Iceberg catalog {target.catalog_name!r}{_describe(properties)} cannot be reached: "
            f"{type(exc).__name__}: {exc} ({_RETRY_HINT})"
        ) from exc


def prepare_table(catalog: Catalog, namespace: str, table_name: str, schema: Schema) -> Table:
    """Create the namespace and table when missing and check the table fits the asset."""
    try:
        catalog.create_namespace_if_not_exists(namespace)
    except Exception as exc:
        raise CatalogUnavailable(
            f"Iceberg catalog {catalog.name!r} cannot be reached (creating namespace {namespace!r}): "
            f"{type(exc).__name__}: {exc} ({_RETRY_HINT})"
        ) from exc
    table = catalog.create_table_if_not_exists(f"{namespace}.{table_name}", schema=schema)
    table_columns = [f.name for f in table.schema().fields]
    asset_columns = [f.name for f in schema.fields]
    missing = [c for c in asset_columns if c not in table_columns]
    extra = [c for c in table_columns if c not in asset_columns]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"columns missing from the table: {', '.join(missing)}")
        if extra:
            parts.append(f"table columns not in the asset: {', '.join(extra)}")
        raise WriteError(
            f"table {namespace}.{table_name} does not match the asset ({'; '.join(parts)}); "
            "schema evolution is not supported yet"
        )
    return table


def check_merge_keys(data: pa.Table, merge_keys: list[str]) -> None:
    """Merge keys must exist, be non-null and be unique within the batch (upsert is ambiguous otherwise)."""
    unknown = [k for k in merge_keys if k not in data.column_names]
    if unknown:
        raise WriteError(f"merge_keys {unknown} are not columns of the asset")
    for key in merge_keys:
        nulls = data.column(key).null_count
        if nulls:
            raise WriteError(f"merge key {key!r} is null in {nulls} records; merge keys must always be set")
    counts = data.group_by(merge_keys).aggregate([([], "count_all")])
    duplicates = counts.filter(pc.greater(counts.column("count_all"), 1))
    if duplicates.num_rows:
        examples = [
            ", ".join(f"{k}={row[k]!r}" for k in merge_keys) for row in duplicates.slice(0, 5).to_pylist()
        ]
        raise WriteError(
            f"merge keys ({', '.join(merge_keys)}) are not unique in this batch: "
            f"{duplicates.num_rows} keys appear more than once, e.g. {'; '.join(examples)}"
        )


@dataclass
class WriteResult:
    """What one commit added, summed over every snapshot it produced (an upsert makes several)."""

    files_written: int = 0
    total_bytes: int = 0
    records_written: int = 0
    snapshot_id: int | None = None


def _conform(table: Table, data: pa.Table) -> pa.Table:
    """Cast to the table's own Arrow schema: names, order, types and nullability must match."""
    target = table.schema().as_arrow()
    try:
        return data.select(target.names).cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, KeyError) as exc:
        raise WriteError(f"records do not fit table {table.name()}: {exc}") from None


def _added_since(table: Table, previous_id: int | None) -> WriteResult:
    result = WriteResult()
    snapshot = table.current_snapshot()
    if snapshot is None or snapshot.snapshot_id == previous_id:
        return result
    result.snapshot_id = snapshot.snapshot_id
    while snapshot is not None and snapshot.snapshot_id != previous_id:
        summary = snapshot.summary.additional_properties if snapshot.summary else {}
        result.files_written += int(summary.get("added-data-files", 0))
        result.total_bytes += int(summary.get("added-files-size", 0))
        result.records_written += int(summary.get("added-records", 0))
        parent = snapshot.parent_snapshot_id
        snapshot = table.snapshot_by_id(parent) if parent is not None else None
    return result


def write(
    table: Table,
    data: pa.Table,
    *,
    mode: str,
    merge_keys: list[str] | None = None,
    snapshot_properties: dict[str, str] | None = None,
) -> WriteResult:
    """Commit ``data`` with ``mode`` (append, overwrite, merge) in one commit.

    An empty batch writes nothing in every mode: a run that read no records must not wipe the
    table (overwrite) nor leave an empty snapshot behind.
    """
    if data.num_rows == 0:
        return WriteResult()
    properties = dict(snapshot_properties or {})
    previous = table.current_snapshot()
    previous_id = previous.snapshot_id if previous else None
    conformed = _conform(table, data)
    if mode == "append":
        table.append(conformed, snapshot_properties=properties)
    elif mode == "overwrite":
        with warnings.catch_warnings():
            # Overwriting a table with no rows yet is normal for a first run, not worth a warning.
            warnings.filterwarnings("ignore", message="Delete operation did not match any records")
            table.overwrite(conformed, snapshot_properties=properties)
    elif mode == "merge":
        table.upsert(conformed, join_cols=list(merge_keys or []), snapshot_properties=properties)
    else:
        raise WriteError(f"unknown write mode {mode!r}")
    return _added_since(table, previous_id)
