"""Merge (upsert by ``merge_keys``), copy-on-write, at a cost that follows the change, not the table.

Hand-written because pyiceberg 0.12's ``Table.upsert`` holds the whole change and every matching
table row in memory at once and compares them row by row; here only the change's key columns and
one data file are in memory at a time.

When the run commits (each commit attempt starts from the refreshed table):

1. the change's keys are read back from its staged data files (key columns only, Arrow);
2. the table's files are planned ONCE (:func:`files_holding`): pyiceberg's scan planning on the
   keys' range (and, for a key column with few distinct values, on those values) prunes
   manifests by their partition summaries and files by their column bounds; then each remaining
   file is pruned by its own partition values (a partition field whose source column is a merge
   key must equal that of some change record: :class:`PartitionMatch`) and by its key bounds
   (:func:`_keys_within_bounds`, vectorised over the keys);
3. each candidate file is read on its key columns only; a file that really holds a changed key
   is read whole, its records with changed keys are dropped (``pc.is_in`` on one key, a semi join
   on several; the row order is kept) and the rest is written as new files (:func:`rewrite_without`);
4. one overwrite snapshot removes the rewritten files and adds their rewrites, one fast append
   adds the change; both carry the run's properties (exactly once, see :mod:`.commit`).

A commit attempt that lost to another writer is retried against the refreshed table: planning
runs again (cheap: metadata only), but a file the previous attempt already read and rewrote is
not read again when it is still in the table (:data:`Rewrites`); the rewrites of files another
writer replaced meanwhile are deleted, and the files that replaced them are read instead.

Partition pruning is only sound for partition fields whose source column is a merge key: a
record's other columns (an ``updated_at``, a ``status``) may change between loads, so the table
may hold the key in another partition than the change's record.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyiceberg.conversions import from_bytes
from pyiceberg.expressions import AlwaysTrue, And, BooleanExpression, GreaterThanOrEqual, In, LessThanOrEqual
from pyiceberg.manifest import DataFile
from pyiceberg.partitioning import PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import FileScanTask, Table, Transaction
from pyiceberg.table.metadata import TableMetadata

from airflow_provider_dativo.engine.iceberg._pyiceberg import read_data_files
from airflow_provider_dativo.engine.iceberg.commit import delete_files
from airflow_provider_dativo.engine.iceberg.sinks import DataFileWriter, Sink, append_files

Rewrites = dict[str, "list[DataFile] | None"]
"""Per table data file (its path) an attempt read: the files of its records without the change's
keys, or ``None`` when it held none of them. A data file never changes, so a commit attempt
that finds the same file in the refreshed table reuses what an earlier attempt found instead
of reading and rewriting it again."""

IN_LIST_LIMIT = 200
"""A key column with at most this many distinct values in the change also plans with ``In``
(pyiceberg's metrics evaluator ignores longer lists); it prunes identity-partitioned manifests."""


class MergeSink(Sink):
    """Upserts by ``merge_keys``: the table's records with one of the change's keys are replaced
    by the change's records, the others are added (copy-on-write, see the module docstring)."""

    mode = "merge"

    def __init__(self, table: Table, *, merge_keys: list[str], **settings: Any) -> None:
        super().__init__(table, **settings)
        self.merge_keys = merge_keys
        self.rewrites: Rewrites = {}
        """What the last commit attempt found in the table's files it read (see :data:`Rewrites`)."""
        self._rewrites_for: tuple[Any, ...] = ()

    def reused_paths(self) -> list[str]:
        """The change's files and the rewrites a retry may add again."""
        return super().reused_paths() + [f.file_path for files in self.rewrites.values() for f in files or ()]

    def stage_mode(self, table: Table, txn: Transaction, properties: dict[str, str]) -> None:
        metadata = txn.table_metadata
        # Rewrites are reused only for the same change, written for the same schema and spec.
        made_for = (
            tuple(f.file_path for f in self.files),
            metadata.current_schema_id,
            metadata.default_spec_id,
        )
        if made_for != self._rewrites_for:
            self._forget_rewrites(table, set())
            self._rewrites_for = made_for
        if self.files and table.current_snapshot() is not None:
            keys = self._change_keys(table)
            matcher = PartitionMatch(table.metadata, self.writer.metadata.spec(), self.files, self.merge_keys)
            earlier, self.rewrites = self.rewrites, {}
            try:
                removed, added = rewrite_without(
                    table, metadata, keys, self.merge_keys, matcher, earlier=earlier, found=self.rewrites
                )
            except BaseException:
                self.rewrites = {**earlier, **self.rewrites}  # still to be cleaned up with the rest
                raise
            del keys
            self._forget_rewrites(table, set(self.rewrites), earlier)
            if removed:
                with txn.update_snapshot(snapshot_properties=properties).overwrite() as snapshot:
                    for data_file in removed:
                        snapshot.delete_data_file(data_file)
                    for data_file in added:
                        snapshot.append_data_file(data_file)
        append_files(txn, self.files, properties)

    def _forget_rewrites(self, table: Table, keep: set[str], rewrites: Rewrites | None = None) -> None:
        """Delete the rewrites of files no longer in ``keep``: the table changed under them (an
        attempt that added them was based on a table state that is gone, so it never lands)."""
        rewrites = self.rewrites if rewrites is None else rewrites
        stale = [f.file_path for path, files in rewrites.items() if path not in keep for f in files or ()]
        delete_files(table, stale)
        if rewrites is self.rewrites:
            self.rewrites = {path: files for path, files in rewrites.items() if path in keep}

    def _change_keys(self, table: Table) -> pa.Table:
        """The merge keys of every change record, read back from the change's data files."""
        parts = []
        for data_file in self.files:
            with table.io.new_input(data_file.file_path).open() as stream:
                parts.append(pq.read_table(stream, columns=self.merge_keys))
        return pa.concat_tables(parts).combine_chunks()


# --- which files can hold the change's keys ----------------------------------------------------


def _planning_filter(keys: pa.Table) -> BooleanExpression:
    """Rows whose every key column lies within the change's range of that column and, for a
    column with few distinct values, among them."""
    expression: BooleanExpression = AlwaysTrue()
    for name in keys.column_names:
        column = keys.column(name)
        bounds = pc.min_max(column)
        low, high = bounds["min"].as_py(), bounds["max"].as_py()
        expression = And(expression, And(GreaterThanOrEqual(name, low), LessThanOrEqual(name, high)))
        distinct = _few_distinct(column, IN_LIST_LIMIT)
        if distinct is not None and len(distinct) > 1:
            expression = And(expression, In(name, distinct))
    return expression


def _few_distinct(column: pa.ChunkedArray, limit: int, step: int = 65_536) -> list[Any] | None:
    """The distinct values of ``column`` if there are at most ``limit`` of them, else ``None``.
    Counted slice by slice, giving up beyond ``limit``: a hash table of millions of distinct
    keys would cost hundreds of MB (measured: a 5M-key merge's peak RSS went 750 -> 1,300 MiB)."""
    seen: pa.Array | None = None
    for offset in range(0, len(column), step):
        part = pc.unique(column.slice(offset, step))
        seen = part if seen is None else pc.unique(pa.concat_arrays([seen, part]))
        if len(seen) > limit:
            return None
    return [] if seen is None else seen.to_pylist()


class PartitionMatch:
    """Whether a table data file's partition can hold one of the change's keys.

    The change's own data files were written for the table's current partition spec, so their
    partition values are those of the change's records, computed by pyiceberg itself. A table file
    can hold a changed key only if, for every partition field of its spec whose source column is
    a merge key (and whose transform the change's ``spec`` has too), its value is one the
    change's records have: compared as tuples, so a key's partition values are matched together."""

    def __init__(
        self, metadata: TableMetadata, spec: PartitionSpec, change: list[DataFile], merge_keys: list[str]
    ) -> None:
        schema = metadata.schema()
        key_ids = {schema.find_field(name).field_id for name in merge_keys}
        self.specs = metadata.specs()
        self.key_ids = key_ids
        self.change: list[tuple[dict[tuple[int, str], Any], DataFile]] = []
        for data_file in change:  # written for ``spec`` (files not yet committed carry no spec id)
            values = {
                (field.source_id, str(field.transform)): data_file.partition[pos]
                for pos, field in enumerate(spec.fields)
                if field.source_id in key_ids
            }
            self.change.append((values, data_file))
        self._allowed: dict[tuple[tuple[int, str], ...], set[tuple[Any, ...]]] = {}

    def _fields(self, data_file: DataFile) -> list[tuple[int, tuple[int, str]]]:
        """The positions in ``data_file``'s partition that the change's partitions can decide."""
        spec = self.specs.get(data_file.spec_id)
        if spec is None or not self.change:
            return []
        comparable = self.change[0][0].keys()
        fields = []
        for pos, field in enumerate(spec.fields):
            name = (field.source_id, str(field.transform))
            if field.source_id in self.key_ids and name in comparable:
                fields.append((pos, name))
        return fields

    def may_hold(self, data_file: DataFile) -> bool:
        fields = self._fields(data_file)
        if not fields:
            return True
        names = tuple(name for _, name in fields)
        allowed = self._allowed.get(names)
        if allowed is None:
            allowed = {tuple(values[name] for name in names) for values, _ in self.change}
            self._allowed[names] = allowed
        return tuple(data_file.partition[pos] for pos, _ in fields) in allowed


def _keys_within_bounds(task: FileScanTask, keys: pa.Table, schema: Schema) -> pa.Table:
    """The change's keys that fall within the file's lower and upper bounds of every key column
    (all of them where a bound is missing: the manifests then cannot prune)."""
    mask = None
    for name in keys.column_names:
        field = schema.find_field(name)
        column = keys.column(name)
        for bounds, compare in (
            (task.file.lower_bounds, pc.greater_equal),
            (task.file.upper_bounds, pc.less_equal),
        ):
            raw = (bounds or {}).get(field.field_id)
            if raw is None:
                continue
            try:
                bound = pa.scalar(from_bytes(field.field_type, raw), type=column.type)
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
                continue
            within = compare(column, bound)
            mask = within if mask is None else pc.and_(mask, within)
    return keys if mask is None else keys.filter(mask)


def files_holding(
    table: Table, keys: pa.Table, partitions: PartitionMatch | None = None
) -> Iterator[tuple[FileScanTask, pa.Table]]:
    """The table's data files that may hold one of ``keys``, each with the keys it may hold:
    planned once by pyiceberg on the keys' range (manifests pruned by partition summaries, files
    by column statistics), then each file by its partition (``partitions``) and its own bounds."""
    schema = table.schema()
    for task in table.scan(row_filter=_planning_filter(keys)).plan_files():
        if partitions is not None and not partitions.may_hold(task.file):
            continue
        candidates = _keys_within_bounds(task, keys, schema)
        if candidates.num_rows:
            yield task, candidates


# --- rewriting the files that hold them --------------------------------------------------------


def _held(stored: pa.Table, probe: pa.Table, merge_keys: list[str]) -> pa.ChunkedArray | pa.Array:
    """For each row of ``stored``, whether its key is one of ``probe``'s (never null)."""
    if len(merge_keys) == 1:
        (name,) = merge_keys
        return pc.is_in(stored.column(name), value_set=probe.column(name).combine_chunks())
    rows = pa.array(range(stored.num_rows), pa.int64()) if stored.num_rows else pa.array([], pa.int64())
    numbered = stored.select(merge_keys).append_column("__row", rows)
    matched = numbered.join(probe, keys=merge_keys, join_type="left semi").column("__row")
    return pc.is_in(rows, value_set=matched.combine_chunks())


def rewrite_without(
    table: Table,
    metadata: TableMetadata,
    keys: pa.Table,
    merge_keys: list[str],
    partitions: PartitionMatch | None = None,
    *,
    earlier: Rewrites | None = None,
    found: Rewrites | None = None,
) -> tuple[list[DataFile], list[DataFile]]:
    """The data files that hold some of ``keys`` and, written for ``metadata``, their records
    without those keys: ``(removed, added)``. A file is first read on its key columns only;
    only a file that does hold changed keys is read whole, one file in memory at a time; its
    kept records stay in their order. What an ``earlier`` attempt found for a file is reused;
    what this call finds is noted in ``found``."""
    pa.default_memory_pool().release_unused()  # what the streamed change held goes back first
    earlier = earlier or {}
    found = {} if found is None else found
    removed: list[DataFile] = []
    added: list[DataFile] = []
    writer = DataFileWriter(table, metadata)
    try:
        for task, candidates in files_holding(table, keys, partitions):
            path = task.file.file_path
            if path in earlier:
                found[path] = earlier[path]
            else:
                found[path] = _rewrite(table, task, candidates, merge_keys, writer)
            if found[path] is not None:
                removed.append(task.file)
                added.extend(found[path] or ())
    except BaseException:
        writer.discard()
        for path in set(found) - set(earlier):
            del found[path]
        raise
    return removed, added


def _rewrite(
    table: Table, task: FileScanTask, candidates: pa.Table, merge_keys: list[str], writer: DataFileWriter
) -> list[DataFile] | None:
    """The files of ``task``'s records without ``candidates``' keys (``None``: it holds none)."""
    stored = read_data_files(table.metadata, table.io, [task], columns=merge_keys).select(merge_keys)
    probe = candidates.cast(stored.schema, safe=False)
    if not pc.any(_held(stored, probe, merge_keys)).as_py():
        return None
    del stored
    records = read_data_files(table.metadata, table.io, [task])
    kept = records.filter(pc.invert(_held(records, probe, merge_keys)))
    del records
    before = len(writer.files)
    writer.add(kept)
    del kept
    writer.flush()
    pa.default_memory_pool().release_unused()
    return writer.files[before:]
