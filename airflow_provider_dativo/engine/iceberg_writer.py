"""Open the Iceberg catalog, make sure the namespace and table exist, and stage one batch.

Staging happens inside a transaction that :mod:`.commit` commits (and retries); every snapshot
the batch creates carries the run id and job name (and, for incremental jobs, the cursor) as
snapshot properties, so a table's history says which run wrote what and how far it got.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.catalog import Catalog, load_catalog
from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError
from pyiceberg.schema import Schema
from pyiceberg.table import Table, Transaction
from pyiceberg.table.snapshots import Snapshot

from airflow_provider_dativo.config.job import TargetSettings
from airflow_provider_dativo.engine.errors import CatalogUnavailable, WriteError
from airflow_provider_dativo.engine.state import JOB_NAME_PROPERTY, RUN_ID_PROPERTY

_RETRY_HINT = "when the catalog is only temporarily unavailable, retrying the run helps"

__all__ = [
    "JOB_NAME_PROPERTY",
    "RUN_ID_PROPERTY",
    "WriteResult",
    "catalog_settings",
    "check_merge_keys",
    "conform",
    "ensure_namespace",
    "has_rows",
    "load_existing_table",
    "open_catalog",
    "prepare_table",
    "resolve_dativo_home",
    "stage_write",
]


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
        with _sqlite_setup_lock(properties):
            return load_catalog(target.catalog_name, **properties)
    except Exception as exc:
        raise CatalogUnavailable(
            f"Iceberg catalog {target.catalog_name!r}{_describe(properties)} cannot be reached: "
            f"{type(exc).__name__}: {exc} ({_RETRY_HINT})"
        ) from exc


@contextlib.contextmanager
def _sqlite_setup_lock(properties: dict[str, Any]) -> Iterator[None]:
    """Hold an exclusive file lock beside a sqlite catalog's database while it is opened.

    pyiceberg's ``SqlCatalog`` creates its tables when they are missing, by checking and then
    creating: two processes opening a new database at once (two tenants' first runs started by
    the same scheduler tick) both try, and one fails with ``table iceberg_tables already
    exists``. The lock serialises only that set-up; commits are not affected.
    """
    uri = str(properties.get("uri", ""))
    if not uri.startswith("sqlite:///") or ":memory:" in uri:
        yield
        return
    database = Path(uri.removeprefix("sqlite:///").split("?", 1)[0])
    if not database.parent.is_dir():  # sqlite will report the missing folder; create nothing
        yield
        return
    with open(f"{database}.lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def ensure_namespace(catalog: Catalog, namespace: str) -> None:
    """Create the namespace when missing (a table can be neither created nor staged without it)."""
    try:
        catalog.create_namespace_if_not_exists(namespace)
    except Exception as exc:
        raise CatalogUnavailable(
            f"Iceberg catalog {catalog.name!r} cannot be reached (creating namespace {namespace!r}): "
            f"{type(exc).__name__}: {exc} ({_RETRY_HINT})"
        ) from exc


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


def has_rows(table: Table) -> bool:
    """Whether the table's current snapshot holds any record."""
    snapshot = table.current_snapshot()
    if snapshot is None or snapshot.summary is None:
        return False
    return int(snapshot.summary.additional_properties.get("total-records", 0)) > 0


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


def stage_write(
    txn: Transaction,
    table: Table,
    data: pa.Table,
    *,
    mode: str,
    merge_keys: list[str] | None,
    snapshot_properties: dict[str, str],
    properties_must_land: bool = False,
) -> None:
    """Stage ``data`` with ``mode`` (append, overwrite, merge) in ``txn``; every snapshot the
    operation creates carries ``snapshot_properties``.

    With no records nothing is staged. When the properties must be committed anyway (a cursor
    moving past rejected records, or a merge that found nothing to change) they go in an empty
    append: never an empty overwrite, which would wipe the table.
    """
    staged_before = len(txn.table_metadata.snapshots)
    if data.num_rows:
        conformed = conform(txn.table_metadata.schema(), data, table)
        if mode == "append":
            txn.append(conformed, snapshot_properties=snapshot_properties)
        elif mode == "overwrite":
            with warnings.catch_warnings():
                # Overwriting a table with no rows yet is normal for a first run, not worth a warning.
                warnings.filterwarnings("ignore", message="Delete operation did not match any records")
                txn.overwrite(conformed, snapshot_properties=snapshot_properties)
        elif mode == "merge":
            txn.upsert(conformed, join_cols=list(merge_keys or []), snapshot_properties=snapshot_properties)
        else:
            raise WriteError(f"unknown write mode {mode!r}")
    if properties_must_land and len(txn.table_metadata.snapshots) == staged_before:
        empty = txn.table_metadata.schema().as_arrow().empty_table()
        txn.append(empty, snapshot_properties=snapshot_properties)
