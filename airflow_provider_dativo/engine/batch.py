"""What one run commits to its target table, and how it is staged in one transaction.

A batch is the run's valid records plus, for incremental jobs, the cursor they advance to. It
is staged afresh on every commit attempt (see :mod:`.commit`) against the table as it is at
that moment: if another run committed a newer cursor meanwhile, the records it already loaded
are left out (and if none is left the attempt commits nothing), the schema changes are planned
against the current schema, and records, schema changes, run id and cursor all go into the same
transaction, so they become visible together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.schema import Schema
from pyiceberg.table import Table, Transaction

from airflow_provider_dativo.engine.evolution import SchemaChange, apply_changes, plan_changes
from airflow_provider_dativo.engine.iceberg_writer import has_rows, stage_write
from airflow_provider_dativo.engine.incremental import CursorSpec, committed_cursor_value, newer_than
from airflow_provider_dativo.engine.state import (
    JOB_NAME_PROPERTY,
    RUN_ID_PROPERTY,
    RUN_STATUS_PROPERTY,
    cursor_property,
    encode_cursor,
)


@dataclass
class Batch:
    """The records and state one run commits to its target table."""

    records: pa.Table
    """Valid records, typed like the asset."""
    mode: str
    merge_keys: list[str]
    asset_schema: Schema
    asset_name: str
    run_id: str | None
    job_name: str
    run_status: str = "success"
    """``partial`` when warn mode rejected records: a retry of this run id reports it again."""
    cursor: CursorSpec | None = None
    cursor_value: pa.Scalar | None = None
    """The cursor this run moves to: the greatest of the records it handled (valid or rejected)."""
    staged_cursor: pa.Scalar | None = field(default=None, init=False)
    """The cursor the last staged attempt carries (``None``: the cursor does not move)."""

    def properties(self, cursor_value: pa.Scalar | None) -> dict[str, str]:
        properties = {
            RUN_ID_PROPERTY: self.run_id or "",
            JOB_NAME_PROPERTY: self.job_name,
            RUN_STATUS_PROPERTY: self.run_status,
        }
        if self.cursor is not None and cursor_value is not None:
            properties[cursor_property(self.cursor.name)] = encode_cursor(cursor_value.as_py())
        return properties

    def _rebased(self, table: Table) -> tuple[pa.Table, pa.Scalar | None]:
        """The records and cursor still to commit given the cursor ``table`` holds now."""
        if self.cursor is None or self.cursor_value is None:
            return self.records, None
        committed = committed_cursor_value(table, self.cursor)
        records = newer_than(self.records, self.cursor, committed)
        if committed is not None and not _greater(self.cursor_value, committed):
            return records, None
        return records, self.cursor_value

    def schema_changes(self, table: Table) -> list[SchemaChange]:
        """What ``table`` needs to take these records; raises :class:`SchemaIncompatible` when
        that would lose data. Checked once before anything is written (the quarantine
        included), then again on every attempt against the schema as it is then."""
        return plan_changes(
            table.schema(),
            self.asset_schema,
            table_has_rows=has_rows(table),
            table_name=".".join(table.name()),
            asset_name=self.asset_name,
        )

    def stage(self, table: Table, txn: Transaction) -> bool:
        """Stage this batch in ``txn``; ``False`` when nothing is left to commit."""
        records, cursor_value = self._rebased(table)
        self.staged_cursor = cursor_value
        if records.num_rows == 0 and cursor_value is None:
            return False
        apply_changes(txn, self.schema_changes(table))
        stage_write(
            txn,
            table,
            records,
            mode=self.mode,
            merge_keys=self.merge_keys,
            snapshot_properties=self.properties(cursor_value),
            properties_must_land=cursor_value is not None,
        )
        return True


def _greater(a: pa.Scalar, b: pa.Scalar) -> bool:
    return bool(pc.greater(a, b).as_py())
