"""Sinks: where a run's valid records go, one per write mode, behind one small interface.

A sink takes the valid records batch by batch (:meth:`Sink.add`) and writes them straight away
as Parquet data files under the table's location, about :data:`FILE_TARGET_BYTES` of Arrow data
per file, so memory stays bounded whatever the input size. Nothing is visible until the run
commits: :meth:`Sink.commit` adds every file in ONE commit (exactly once per run id, retried on
conflicts, see :mod:`.commit`; a table that does not exist yet is created by that commit, see
:mod:`.creation`), or :meth:`Sink.discard` deletes them.

Every commit attempt stages against the table as it is at that moment:

* schema changes are planned against its current schema (:mod:`.evolution`) and applied in the
  same transaction; files written for another schema are rewritten, one at a time;
* the records are rebased on the cursor it holds (:func:`.state.rebase_cursor`): what another
  run loaded meanwhile (before its cursor, or at it and in its boundary) is left out, again by
  rewriting the files;
* then the mode's own operation, every snapshot carrying the run's properties:

  - ``append``: one fast append of the files;
  - ``overwrite``: a delete of every record, then the append; without records nothing is
    deleted (an empty input never wipes a table);
  - ``merge`` (:mod:`.merge`): the table's data files that can hold one of the change's keys
    are found from the manifests (partition values and the key columns' bounds prune the
    others), read one at a time, and those that hold some are rewritten without those
    records (copy-on-write) in an overwrite snapshot; then the change's files are appended.
    Memory holds the change's keys and one data file, never the table or the change.

Every data file is written for the table's layout (:mod:`.layout`): pyiceberg's writer splits
the records of a flush by the partition spec (one file per partition at least), and the
records are sorted by the table's sort order first, so each file holds one partition and is
sorted. The declared layout is applied to the table in the same transaction as the data
(partition-spec and sort-order evolution; :attr:`Sink.layout_change` says what changed).
Memory stays bounded the same way for partitioned tables: the buffer is
:data:`FILE_TARGET_BYTES` of Arrow data in total, never one buffer per partition; a flush
holds it, its sorted copy and the partitions cut from it (about three times the buffer).
"""

from __future__ import annotations

import itertools
import uuid
import warnings
from collections.abc import Callable

import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.catalog import Catalog
from pyiceberg.expressions import AlwaysTrue
from pyiceberg.manifest import DataFile
from pyiceberg.schema import Schema
from pyiceberg.table import StagedTable, Table, Transaction
from pyiceberg.table.metadata import TableMetadata

from airflow_provider_dativo.engine.checks.incremental import CursorProgress, CursorSpec
from airflow_provider_dativo.engine.iceberg._pyiceberg import write_data_files
from airflow_provider_dativo.engine.iceberg.commit import CommitOutcome, commit_with_retries, delete_files
from airflow_provider_dativo.engine.iceberg.creation import CreationUnresolved, create_with_first_load
from airflow_provider_dativo.engine.iceberg.evolution import apply_changes, changes_for, evolved_metadata
from airflow_provider_dativo.engine.iceberg.layout import (
    Layout,
    LayoutChange,
    apply_layout,
    describe,
    same_layout,
    sort_records,
)
from airflow_provider_dativo.engine.iceberg.state import Rebase, StagedCursor, rebase_cursor
from airflow_provider_dativo.engine.iceberg.tables import conform, is_staged

FILE_TARGET_BYTES = 128 << 20
"""Arrow bytes of valid records buffered per data file (the Parquet file is several times smaller)."""

Properties = Callable[[StagedCursor | None], dict[str, str]]
"""The snapshot properties of the run's commit, given the cursor it moves to (``None``: none)."""


class DataFileWriter:
    """Buffers records and writes them as data files of about :data:`FILE_TARGET_BYTES` of
    Arrow data (``auto_flush=False``: only when the caller flushes, as compaction does to cut
    files by their size on disk)."""

    def __init__(self, table: Table, metadata: TableMetadata, *, auto_flush: bool = True) -> None:
        self.table = table
        self.metadata = metadata
        self.auto_flush = auto_flush
        self.write_uuid = uuid.uuid4()
        self.counter = itertools.count(0)
        self.buffer: list[pa.Table] = []
        self.buffered = 0
        self.files: list[DataFile] = []

    def add(self, records: pa.Table) -> None:
        if records.num_rows == 0:
            return
        self.buffer.append(conform(self.metadata.schema(), records, self.table))
        self.buffered += records.nbytes
        if self.auto_flush and self.buffered >= FILE_TARGET_BYTES:
            self.flush()

    def flush(self) -> None:
        """Write the buffer: sorted by the table's sort order, one file per partition at least."""
        if not self.buffer:
            return
        data = sort_records(pa.concat_tables(self.buffer), self.metadata)
        self.buffer, self.buffered = [], 0
        self.files.extend(write_data_files(self.metadata, data, self.table.io, self.write_uuid, self.counter))

    def discard(self) -> None:
        self.buffer, self.buffered = [], 0
        delete_files(self.table, [f.file_path for f in self.files])
        self.files = []


class Sink:
    """Writes one run's valid records into ``table`` (existing, or staged for creation) and
    commits them once; subclasses add what their write mode does (see the module docstring)."""

    mode = "append"

    def __init__(
        self,
        table: Table,
        *,
        asset_schema: Schema,
        asset_name: str,
        cursor: CursorSpec | None = None,
        after: pa.Scalar | None = None,
        layout: Layout | None = None,
    ) -> None:
        self.table = table
        self.asset_schema = asset_schema
        self.asset_name = asset_name
        self.cursor = cursor
        self.after = after
        """The cursor the records were selected beyond (committed, or the job's ``start``)."""
        self.layout = layout
        """The declared table layout (``None``: the table's layout is left as it is)."""
        # Refuses a table that cannot take the asset's records before a single one is read.
        metadata = evolved_metadata(table, changes_for(table, asset_schema, asset_name), layout)
        self.written = metadata
        self.writer = DataFileWriter(table, metadata)
        self.staged_cursor: StagedCursor | None = None
        """The cursor the last staged commit attempt carries (``None``: the cursor does not move)."""
        self.layout_change: LayoutChange | None = None
        """The layout evolution the last staged commit attempt carries (``None``: none)."""

    @property
    def files(self) -> list[DataFile]:
        return self.writer.files

    def add(self, records: pa.Table) -> None:
        """Write valid, typed records (buffered up to a data file's worth)."""
        self.writer.add(records)

    def finish(self) -> None:
        """Write what is still buffered: the input is consumed."""
        self.writer.flush()

    def discard(self) -> None:
        """Delete every data file written so far: the run commits nothing."""
        self.writer.discard()

    def commit(
        self, catalog: Catalog, *, run_id: str | None, top: CursorProgress | None, properties: Properties
    ) -> CommitOutcome:
        """Commit every data file in one snapshot group, exactly once per run id; ``top`` is the
        greatest cursor of the run's records and its boundary. A staged table is created by this
        commit, unless another writer created it first: the files then go to that table like to
        any other."""

        def stage(current: Table, txn: Transaction) -> bool:
            return self._stage(current, txn, top, properties)

        table = self.table
        creation_attempts = 0
        if isinstance(table, StagedTable):
            try:
                created, creation_attempts = create_with_first_load(catalog, table, stage=stage)
            except CreationUnresolved:
                raise  # keeps the files: an unknown outcome might still land
            except BaseException:
                self.discard()
                raise
            if created is not None:
                return created
            try:
                table = catalog.load_table(table.name())
            except BaseException:
                self.discard()
                raise
        outcome = commit_with_retries(table, run_id=run_id, stage=stage, reused_files=self.reused_paths)
        outcome.attempts += creation_attempts
        return outcome

    def reused_paths(self) -> list[str]:
        """The data files written before the commit that every commit attempt may add (a failed
        attempt must not delete them): the records' files."""
        return [f.file_path for f in self.files]

    def _stage(
        self, table: Table, txn: Transaction, top: CursorProgress | None, properties: Properties
    ) -> bool:
        rebase = rebase_cursor(table, self.cursor, top)
        self.staged_cursor = rebase.staged
        before = describe(txn.table_metadata)
        apply_changes(txn, changes_for(table, self.asset_schema, self.asset_name), self.layout)
        if self.layout is not None:
            apply_layout(txn, self.layout)
        after = describe(txn.table_metadata)
        self.layout_change = None if after == before or is_staged(table) else LayoutChange(before, after)
        if rebase.leave_out is not None or not same_layout(txn.table_metadata, self.written):
            self._rewrite(table, txn.table_metadata, rebase)
        if not self.files and rebase.staged is None:
            return False
        self.stage_mode(table, txn, properties(rebase.staged))
        return True

    def stage_mode(self, table: Table, txn: Transaction, properties: dict[str, str]) -> None:
        """Stage this mode's snapshots of :attr:`files` in ``txn``."""
        append_files(txn, self.files, properties)

    def _rewrite(self, table: Table, metadata: TableMetadata, rebase: Rebase) -> None:
        """Rewrite the data files for ``metadata``'s schema, leaving out the records another
        run loaded (``rebase``); one file at a time, so memory stays bounded."""
        writer = DataFileWriter(table, metadata)
        try:
            for data_file in self.files:
                with table.io.new_input(data_file.file_path).open() as stream:
                    records = pq.read_table(stream)
                if self.cursor is not None:
                    records = rebase.keep(records, self.cursor)
                writer.add(records)
                writer.flush()
        except BaseException:
            writer.discard()
            raise
        self.writer.discard()
        self.writer = writer
        self.written = metadata


def append_files(txn: Transaction, files: list[DataFile], properties: dict[str, str]) -> None:
    """One fast-append snapshot of ``files`` (an empty one still commits the properties)."""
    with txn.update_snapshot(snapshot_properties=properties).fast_append() as snapshot:
        for data_file in files:
            snapshot.append_data_file(data_file)


class OverwriteSink(Sink):
    """Replaces the table's records: a delete of everything, then the append, in one commit."""

    mode = "overwrite"

    def stage_mode(self, table: Table, txn: Transaction, properties: dict[str, str]) -> None:
        if self.files and table.current_snapshot() is not None:
            # As pyiceberg's own overwrite: a delete snapshot, then the append; both carry the
            # run's properties. Without records nothing is deleted: an empty input never wipes.
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Delete operation did not match any records")
                txn.delete(delete_filter=AlwaysTrue(), snapshot_properties=properties)
        append_files(txn, self.files, properties)
