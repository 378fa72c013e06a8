"""Warn mode keeps the records it rejects, with the reasons, in ``<table>__rejected``.

Dropping bad records silently would leave no way to find, fix and reload them. Each run that
rejects records in warn mode appends them to an Iceberg table in the target's namespace named
after the target plus ``__rejected``. Its columns:

* every asset field, by name, as an optional **string** holding the value exactly as the source
  gave it (CSV text verbatim; typed sources' values rendered as text by Arrow). Strings because
  the values that failed are precisely the ones that do not fit the asset's types;
* ``_dativo_reasons`` (list of strings): the rules each record broke, as
  ``<field>.<rule>``, e.g. ``["amount.min", "email.pattern"]``, matching ``invalid_by_rule``;
* ``_dativo_run_id``, ``_dativo_job_name`` (strings) and ``_dativo_rejected_at`` (timestamptz).

A field added to the asset later becomes another optional string column; a removed field stays
and is null in later rows. The write is committed like the target's (see :mod:`.commit`), with
the run id as a snapshot property, so a retried run never quarantines the same records twice.
Strict mode never gets here: it writes nothing anywhere.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.catalog import Catalog
from pyiceberg.schema import Schema
from pyiceberg.table import Table, Transaction
from pyiceberg.types import ListType, NestedField, StringType, TimestamptzType

from airflow_provider_dativo.engine.checks.validation import ValidationReport
from airflow_provider_dativo.engine.iceberg.commit import CommitOutcome, Stage, commit_with_retries
from airflow_provider_dativo.engine.iceberg.state import snapshot_properties
from airflow_provider_dativo.engine.iceberg.tables import conform, prepare_table

QUARANTINE_SUFFIX = "__rejected"
REASONS_COLUMN = "_dativo_reasons"
RUN_ID_COLUMN = "_dativo_run_id"
JOB_NAME_COLUMN = "_dativo_job_name"
REJECTED_AT_COLUMN = "_dativo_rejected_at"


def quarantine_table_name(table_name: str) -> str:
    return f"{table_name}{QUARANTINE_SUFFIX}"


def rejected_records(
    raw: pa.Table,
    report: ValidationReport,
    *,
    run_id: str | None,
    job_name: str,
    rejected_at: datetime | None = None,
) -> pa.Table:
    """The invalid records of ``raw`` as text, each with the rules it broke and the run's identity."""
    mask = report.invalid_mask
    rows = raw.filter(mask)
    columns: dict[str, pa.Array | pa.ChunkedArray] = {
        name: pc.cast(rows.column(name), pa.string()) for name in raw.column_names
    }
    reasons = _reasons(report, _plain(mask))
    when = rejected_at or datetime.now(timezone.utc)
    columns[REASONS_COLUMN] = reasons
    columns[RUN_ID_COLUMN] = pa.repeat(pa.scalar(run_id or "", pa.string()), rows.num_rows)
    columns[JOB_NAME_COLUMN] = pa.repeat(pa.scalar(job_name, pa.string()), rows.num_rows)
    columns[REJECTED_AT_COLUMN] = pa.repeat(pa.scalar(when, pa.timestamp("us", tz="UTC")), rows.num_rows)
    return pa.table(columns)


def _plain(mask: pa.Array | pa.ChunkedArray) -> pa.Array:
    return mask.combine_chunks() if isinstance(mask, pa.ChunkedArray) else mask


def _reasons(report: ValidationReport, invalid: pa.Array) -> pa.Array:
    """Per rejected record, the rules it broke in rule order, built as one list array.

    (row, rule) pairs are gathered per rule, plus one empty sentinel per row so every row is
    counted, sorted by row, and cut into lists by per-row counts; all vectorised. (pyarrow's
    element-wise string join drops rows whose inputs are all null, so it cannot build these.)
    """
    rows_total = int(pc.sum(invalid).as_py() or 0)
    int32, text = pa.int32(), pa.string()
    rows = [pa.array(range(rows_total), pa.int64())]
    orders = [pa.repeat(pa.scalar(-1, int32), rows_total)]
    labels = [pa.nulls(rows_total, text)]
    for order, (key, rule_mask) in enumerate(report.failure_masks.items()):
        hits = pc.indices_nonzero(pc.filter(_plain(rule_mask), invalid))
        rows.append(pc.cast(hits, pa.int64()))
        orders.append(pa.repeat(pa.scalar(order, int32), len(hits)))
        labels.append(pa.repeat(pa.scalar(key, text), len(hits)))
    pairs = pa.table(
        {"row": pa.concat_arrays(rows), "order": pa.concat_arrays(orders), "label": pa.concat_arrays(labels)}
    ).sort_by([("row", "ascending"), ("order", "ascending")])
    per_row = pairs.group_by("row").aggregate([([], "count_all")]).sort_by("row").column("count_all")
    reasons_per_row = pc.subtract(per_row, 1)  # without the sentinel
    offsets = pc.cast(pc.cumulative_sum(reasons_per_row), int32).combine_chunks()
    offsets = pa.concat_arrays([pa.array([0], int32), offsets])
    values = pc.drop_null(pairs.column("label")).combine_chunks()
    return pa.ListArray.from_arrays(offsets, values)


def quarantine_schema(field_names: list[str]) -> Schema:
    """Asset fields as optional strings, then the reasons and the run's identity."""
    fields = [
        NestedField(i, name, StringType(), required=False) for i, name in enumerate(field_names, start=1)
    ]
    n = len(fields)
    fields += [
        NestedField(
            n + 1, REASONS_COLUMN, ListType(n + 5, StringType(), element_required=False), required=False
        ),
        NestedField(n + 2, RUN_ID_COLUMN, StringType(), required=False),
        NestedField(n + 3, JOB_NAME_COLUMN, StringType(), required=False),
        NestedField(n + 4, REJECTED_AT_COLUMN, TimestamptzType(), required=False),
    ]
    return Schema(*fields)


def _stage_rejected(records: pa.Table, properties: dict[str, str]) -> Stage:
    """Stage an append of ``records``, first adding the columns the quarantine table lacks."""

    def stage(table: Table, txn: Transaction) -> bool:
        existing = {f.name for f in table.schema().fields}
        missing = [name for name in records.column_names if name not in existing]
        if missing:
            with txn.update_schema() as update:
                for name in missing:
                    update.add_column(name, StringType())
        txn.append(conform(txn.table_metadata.schema(), records, table), snapshot_properties=properties)
        return True

    return stage


def write_rejected(
    catalog: Catalog,
    namespace: str,
    table_name: str,
    records: pa.Table,
    *,
    field_names: list[str],
    run_id: str | None,
    job_name: str,
) -> CommitOutcome:
    """Append ``records`` (from :func:`rejected_records`) to the quarantine table of ``table_name``."""
    table = prepare_table(
        catalog, namespace, quarantine_table_name(table_name), quarantine_schema(field_names)
    )
    properties = snapshot_properties(run_id, job_name)
    return commit_with_retries(table, run_id=run_id, stage=_stage_rejected(records, properties))
