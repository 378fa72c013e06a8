"""Streamed loads (append and overwrite): read, validate and write record batches, commit once.

An append or overwrite job never holds its whole input in memory. The source is read in record batches
(CSV blocks of :data:`CSV_BLOCK_SIZE` bytes, Parquet and JSON lines in :data:`BATCH_ROWS`-row
batches); each batch goes through the incremental selection (the cursor is compared row by row,
so per batch is the same as for the whole input) and validation, and its valid records are
buffered until :data:`FILE_TARGET_BYTES` of Arrow data, then written as Parquet data files
into the table's location (pyiceberg's writer: field ids, statistics, partitioning). Counts,
the failures per rule and the greatest cursor are added up across batches; rejected records
(warn mode) are kept, as text, for the quarantine table. Once the input is consumed, ONE
commit adds every data file with the same snapshot properties (run id, job name, run status,
cursor) and the same retry and clean-up rules as an in-memory load (:mod:`.commit`): files
of a load that does not commit are deleted. An overwrite commits a delete of every record
before that append, in the same commit, as pyiceberg's own overwrite does.

Strict mode commits nothing when any record is invalid, in a single pass: files are written
while the records are validated, and the first invalid record stops the writing and deletes
the files written so far (the rest of the input is still read, to count every invalid record
per rule). A table that does not exist yet is not created before the load commits: the files
go into the location the catalog will give it, and the one commit creates the table with them
(:mod:`.creation`), so a failed first load leaves no table behind (at most its namespace).

Limits: JSON lines are read one file at a time (then validated and written in batches), and
warn mode keeps the rejected records in memory until they are quarantined. Merge loads are
not streamed: pyiceberg's upsert compares them with the table's records in memory anyway.
Measured: a 5,000,000-row, 540 MB customers CSV peaks at about 740 MiB RSS (see
docs/performance.md).
"""

from __future__ import annotations

import itertools
import uuid
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from pyiceberg.catalog import Catalog
from pyiceberg.expressions import AlwaysTrue
from pyiceberg.io.pyarrow import _dataframe_to_data_files
from pyiceberg.manifest import DataFile
from pyiceberg.schema import Schema
from pyiceberg.table import StagedTable, Table, Transaction
from pyiceberg.table.metadata import TableMetadata

from airflow_provider_dativo.config.asset import Asset
from airflow_provider_dativo.engine.commit import CommitOutcome, commit_with_retries, delete_files
from airflow_provider_dativo.engine.creation import CreationUnresolved, create_with_first_load
from airflow_provider_dativo.engine.errors import SourceError
from airflow_provider_dativo.engine.evolution import SchemaChange, apply_changes, plan_changes
from airflow_provider_dativo.engine.iceberg_writer import conform, has_rows
from airflow_provider_dativo.engine.incremental import (
    CURSOR_RULE,
    CursorSpec,
    check_cursor_values,
    committed_cursor_value,
    max_cursor,
    newer_than,
    select_newer,
)
from airflow_provider_dativo.engine.quarantine import rejected_records
from airflow_provider_dativo.engine.sources.base import BatchSource
from airflow_provider_dativo.engine.sources.files import CsvSource, FileSource, ParquetSource
from airflow_provider_dativo.engine.state import (
    JOB_NAME_PROPERTY,
    RUN_ID_PROPERTY,
    RUN_STATUS_PROPERTY,
    cursor_property,
    encode_cursor,
)
from airflow_provider_dativo.engine.validation import RULES, validate

CSV_BLOCK_SIZE = 8 << 20
"""Bytes of CSV text per record batch."""
BATCH_ROWS = 64 * 1024
"""Rows per record batch of Parquet and JSON lines sources."""
FILE_TARGET_BYTES = 128 << 20
"""Arrow bytes of valid records buffered per data file (the Parquet file is several times smaller)."""


# --- reading --------------------------------------------------------------------------------


def iter_source(source: FileSource | BatchSource, after: pa.Scalar | None = None) -> Iterator[pa.Table]:
    """The source's records as shaped tables of bounded size, files in sorted path order;
    databases and APIs read their own batches, beyond ``after`` (the committed cursor)."""
    if not isinstance(source, FileSource):
        yield from source.batches(after)
        return
    for path in source.files():
        if path.stat().st_size == 0:
            yield source._empty()
            continue
        if isinstance(source, CsvSource):
            schema, batches = _csv_batches(source, path)
        elif isinstance(source, ParquetSource):
            schema, batches = _parquet_batches(path)
        else:  # JSON lines: one file at a time
            table = source._read_file(path)
            schema, batches = table.schema, iter(table.to_batches(max_chunksize=BATCH_ROWS))
        yield from _shaped(source, path, schema, batches)


def _shaped(
    source: FileSource, path: Path, schema: pa.Schema, batches: Iterator[pa.RecordBatch]
) -> Iterator[pa.Table]:
    """Shape every batch like the asset; columns are checked even when the file has no rows,
    and the incremental cursor once the whole file was seen (as an in-memory read does)."""
    empty = source._shape(schema.empty_table(), path, check_cursor=False)
    incremental = source.settings.incremental
    cursor = incremental.cursor_field if incremental is not None else None
    rows = with_cursor = 0
    produced = False
    for batch in batches:
        if batch.num_rows == 0:
            continue
        table = pa.Table.from_batches([batch])
        rows += table.num_rows
        if cursor is not None and cursor in table.column_names:
            with_cursor += table.num_rows - table.column(cursor).null_count
        produced = True
        yield source._shape(table, path, check_cursor=False)
    if not produced:
        yield empty
    if cursor is not None and rows and not with_cursor:
        # The same check and message as an in-memory read, on a stand-in of the file's columns.
        names = schema.names if cursor not in schema.names else [cursor]
        source._check_cursor(pa.table({n: pa.nulls(rows) for n in names}), path)


def _csv_batches(source: CsvSource, path: Path) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    errors = (pa.ArrowInvalid, LookupError, UnicodeDecodeError)
    try:
        reader = pacsv.open_csv(path, **source.csv_options(CSV_BLOCK_SIZE))
    except errors as exc:
        raise SourceError(f"{path}: cannot read CSV: {exc}") from None

    def batches() -> Iterator[pa.RecordBatch]:
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except errors as exc:
                raise SourceError(f"{path}: cannot read CSV: {exc}") from None
            yield batch

    return reader.schema, batches()


def _parquet_batches(path: Path) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    errors = (pa.ArrowInvalid, OSError)
    try:
        parquet = pq.ParquetFile(path)
        schema = parquet.schema_arrow
    except errors as exc:
        raise SourceError(f"{path}: cannot read Parquet: {exc}") from None

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            yield from parquet.iter_batches(batch_size=BATCH_ROWS)
        except errors as exc:
            raise SourceError(f"{path}: cannot read Parquet: {exc}") from None

    return schema, batches()


# --- validating -----------------------------------------------------------------------------


@dataclass
class Tally:
    """What the batches of one pass added up to; reads like a :class:`ValidationReport`."""

    rule_order: list[str]
    read: int = 0
    """Records read from the source."""
    total: int = 0
    """Records selected (all of them, or for an incremental job those beyond the cursor)."""
    skipped: int = 0
    invalid: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    cursor_max: pa.Scalar | None = None

    @property
    def valid(self) -> int:
        return self.total - self.invalid

    @property
    def invalid_by_rule(self) -> dict[str, int]:
        """Per ``<field>.<rule>``, in the order a whole-input validation reports them."""
        rank = {key: i for i, key in enumerate(self.rule_order)}
        return {k: self.counts[k] for k in sorted(self.counts, key=lambda k: rank.get(k, len(rank)))}

    def summary(self) -> str:
        return ", ".join(f"{key}={count}" for key, count in self.invalid_by_rule.items())


def _rule_order(asset: Asset, cursor: CursorSpec | None) -> list[str]:
    keys = [f"{f.name}.{rule}" for f in asset.fields for rule in RULES]
    if cursor is not None:
        keys.append(f"{cursor.name}.{CURSOR_RULE}")
    return keys


def _greater(a: pa.Scalar, b: pa.Scalar) -> bool:
    return bool(pc.greater(a, b).as_py())


@dataclass
class _Checked:
    valid: pa.Table
    rejected: pa.Table | None


class StreamedLoad:
    """One streamed append: passes over the source, data files written, the single commit."""

    def __init__(
        self,
        source: FileSource | BatchSource,
        asset: Asset,
        cursor: CursorSpec | None,
        after: pa.Scalar | None,
        *,
        run_id: str | None,
        job_name: str,
        overwrite: bool = False,
    ) -> None:
        self.source = source
        self.overwrite = overwrite
        """Replace the table's records (``target.mode: overwrite``) instead of adding to them."""
        self.asset = asset
        self.cursor = cursor
        self.after = after
        """The cursor the records are selected beyond (committed, or the job's ``start``)."""
        self.run_id = run_id
        self.job_name = job_name
        self.rejected_at = datetime.now(timezone.utc)
        self.files: list[DataFile] = []
        self.written_schema: Schema | None = None
        self.staged_cursor: pa.Scalar | None = None

    def _check(self, raw: pa.Table, tally: Tally, keep_rejected: bool) -> _Checked:
        tally.read += raw.num_rows
        if self.cursor is not None and self.after is not None:
            selection = select_newer(raw, self.cursor, self.after)
            raw = selection.records
            tally.skipped += selection.skipped
        report = validate(raw, self.asset)
        if self.cursor is not None:
            check_cursor_values(report, self.cursor)
            top = max_cursor(report.table, self.cursor)
            if top is not None and (tally.cursor_max is None or _greater(top, tally.cursor_max)):
                tally.cursor_max = top
        tally.total += raw.num_rows
        invalid = report.invalid
        tally.invalid += invalid
        for key, count in report.invalid_by_rule.items():
            tally.counts[key] = tally.counts.get(key, 0) + count
        rejected = None
        if invalid and keep_rejected:
            rejected = rejected_records(
                raw, report, run_id=self.run_id, job_name=self.job_name, rejected_at=self.rejected_at
            )
        return _Checked(report.valid_table(), rejected)

    def _tally(self) -> Tally:
        return Tally(rule_order=_rule_order(self.asset, self.cursor))

    def write(self, table: Table, *, keep_rejected: bool, strict: bool) -> tuple[Tally, pa.Table | None]:
        """Validate every record and write the valid ones as data files of ``table`` (an
        existing table as its schema will be once the asset's changes are applied, or a staged
        one); returns the tally and the rejected records. Files already written are deleted
        when this fails, and in ``strict`` mode as soon as a record is invalid (the remaining
        records are then only validated, so the tally counts every invalid one)."""
        tally = self._tally()
        rejected: list[pa.Table] = []
        metadata = _evolved_metadata(table, self.asset_changes(table))
        self.written_schema = metadata.schema()
        writer: _FileWriter | None = _FileWriter(table, metadata)
        try:
            for raw in iter_source(self.source, self.after):
                checked = self._check(raw, tally, keep_rejected)
                if checked.rejected is not None:
                    rejected.append(checked.rejected)
                if writer is None:
                    continue
                if strict and tally.invalid:
                    self.discard(table, writer.files)
                    writer = None
                    continue
                writer.add(checked.valid)
            if writer is not None:
                writer.flush()
        except BaseException:
            if writer is not None:
                self.discard(table, writer.files)
            raise
        if writer is None:
            return tally, None
        self.files = writer.files
        return tally, (pa.concat_tables(rejected) if rejected else None)

    @staticmethod
    def discard(table: Table, files: list[DataFile]) -> None:
        delete_files(table, [f.file_path for f in files])

    def asset_changes(self, table: Table) -> list[SchemaChange]:
        """What ``table`` needs to take the asset's records (raises when that would lose data)."""
        from airflow_provider_dativo.engine.schema import iceberg_schema

        return plan_changes(
            table.schema(),
            iceberg_schema(self.asset),
            table_has_rows=has_rows(table),
            table_name=".".join(table.name()),
            asset_name=self.asset.name,
        )

    def commit(
        self,
        table: Table,
        tally: Tally,
        properties: dict[str, str],
        *,
        catalog: Catalog,
    ) -> CommitOutcome:
        """Commit every data file in one snapshot, exactly once per run id (see :mod:`.commit`);
        a staged table is created by this commit (see :mod:`.creation`), unless another writer
        created it first: the files then go to that table like to any existing one."""

        def stage(current: Table, txn: Transaction) -> bool:
            return self._stage(current, txn, tally, properties)

        creation_attempts = 0
        if isinstance(table, StagedTable):
            try:
                created, creation_attempts = create_with_first_load(catalog, table, stage=stage)
            except CreationUnresolved:
                raise  # keeps the files: an unknown outcome might still land
            except BaseException:
                self.discard(table, self.files)
                raise
            if created is not None:
                return created
            try:
                table = catalog.load_table(table.name())
            except BaseException:
                self.discard(table, self.files)
                raise
        outcome = commit_with_retries(
            table,
            run_id=self.run_id,
            stage=stage,
            reused_files=lambda: [f.file_path for f in self.files],
        )
        outcome.attempts += creation_attempts
        return outcome

    def _stage(self, table: Table, txn: Transaction, tally: Tally, properties: dict[str, str]) -> bool:
        cursor_value = tally.cursor_max if self.cursor is not None else None
        keep = None
        if self.cursor is not None and cursor_value is not None:
            committed = committed_cursor_value(table, self.cursor)
            if committed is not None and (self.after is None or not committed.equals(self.after)):
                # Another run committed a cursor since the records were selected: leave out
                # what it loaded, like an in-memory batch rebased on the refreshed table.
                keep = committed
                if not _greater(cursor_value, committed):
                    cursor_value = None
        self.staged_cursor = cursor_value
        apply_changes(txn, self.asset_changes(table))
        schema = txn.table_metadata.schema()
        if (
            keep is not None
            or self.written_schema is None
            or schema.as_struct() != self.written_schema.as_struct()
        ):
            self._rewrite(table, txn.table_metadata, keep)
        if not self.files and cursor_value is None:
            return False
        props = dict(properties)
        if self.cursor is not None and cursor_value is not None:
            props[cursor_property(self.cursor.name)] = encode_cursor(cursor_value.as_py())
        if self.overwrite and self.files and table.current_snapshot() is not None:
            # As pyiceberg's own overwrite: a delete snapshot, then the append; both carry the
            # run's properties. Without records nothing is deleted: an empty input never wipes.
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Delete operation did not match any records")
                txn.delete(delete_filter=AlwaysTrue(), snapshot_properties=props)
        with txn.update_snapshot(snapshot_properties=props).fast_append() as snapshot:
            for data_file in self.files:
                snapshot.append_data_file(data_file)
        return True

    def _rewrite(self, table: Table, metadata: TableMetadata, after: pa.Scalar | None) -> None:
        """Rewrite the data files for ``metadata``'s schema, leaving out records at or before
        ``after``; one file at a time, so memory stays bounded."""
        writer = _FileWriter(table, metadata)
        try:
            for data_file in self.files:
                with table.io.new_input(data_file.file_path).open() as stream:
                    records = pq.read_table(stream)
                if after is not None and self.cursor is not None:
                    records = newer_than(records, self.cursor, after)
                writer.add(records)
                writer.flush()
        except BaseException:
            self.discard(table, writer.files)
            raise
        self.discard(table, self.files)
        self.files = writer.files
        self.written_schema = metadata.schema()


def _evolved_metadata(table: Table, changes: list[SchemaChange]) -> TableMetadata:
    """``table``'s metadata with ``changes`` applied (in a transaction that is never committed)."""
    if not changes:
        return table.metadata
    txn = table.transaction()
    apply_changes(txn, changes)
    return txn.table_metadata


class _FileWriter:
    """Buffers valid records and writes them as data files of about :data:`FILE_TARGET_BYTES`."""

    def __init__(self, table: Table, metadata: TableMetadata) -> None:
        self.table = table
        self.metadata = metadata
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
        if self.buffered >= FILE_TARGET_BYTES:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        data = pa.concat_tables(self.buffer)
        self.buffer, self.buffered = [], 0
        self.files.extend(_write(self.metadata, data, self.table, self.write_uuid, self.counter))


def _write(
    metadata: TableMetadata, data: pa.Table, table: Table, write_uuid: uuid.UUID, counter: Iterable[int]
) -> list[DataFile]:
    return list(
        _dataframe_to_data_files(
            table_metadata=metadata,
            df=data,
            io=table.io,
            write_uuid=write_uuid,
            counter=counter,  # type: ignore[arg-type]
        )
    )


def snapshot_properties(run_id: str | None, job_name: str, run_status: str) -> dict[str, str]:
    return {RUN_ID_PROPERTY: run_id or "", JOB_NAME_PROPERTY: job_name, RUN_STATUS_PROPERTY: run_status}
