"""Compaction: rewrite a table's small data files into files of about a target size.

Hand-written because pyiceberg 0.12 has no compaction (no ``rewrite_data_files``, unlike
Spark's procedure). Every load adds at least one data file, so a table fed by frequent small
loads ends up with thousands of small files, and every scan pays for opening each of them.

What it does, on the table's current snapshot:

* the live data files are grouped by partition (their spec id and partition value): files of
  different partitions are never mixed;
* in each group, the files smaller than :data:`SMALL_FRACTION` of the target are the
  candidates; a group with fewer than two has nothing to gain and is left alone, as are files
  with delete files attached (pyiceberg writes none; another engine might have);
* a group's candidates are read one at a time and written out again as files of about the
  target size (the on-disk size of the inputs decides when an output file is full), rows
  sorted by the table's sort order when it has one. Memory holds one output file's rows
  (about a target size of Parquet, decoded), never the group;
* ONE commit replaces every rewritten file by the new ones (an ``overwrite`` snapshot whose
  properties say ``dativo.operation=compaction``). The commit goes through
  :func:`.commit.commit_with_retries`: each attempt starts from the refreshed table and
  checks that every file a group replaces is still live. An append that committed meanwhile
  only makes the attempt fail and be re-staged on top of it (its files are kept: neither lost
  nor duplicated); a group some of whose files another writer removed (a merge, an overwrite)
  is abandoned and its new files deleted; the other groups still commit.

Readers of the dativo state (:mod:`.state`) walk past such snapshots, so a compaction never
moves an incremental job's cursor.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from pyiceberg.manifest import DataFile
from pyiceberg.table import FileScanTask, Table, Transaction
from pyiceberg.table.metadata import TableMetadata

from airflow_provider_dativo.engine.iceberg._pyiceberg import read_data_files
from airflow_provider_dativo.engine.iceberg.commit import commit_with_retries, delete_files
from airflow_provider_dativo.engine.iceberg.sinks import DataFileWriter

log = logging.getLogger(__name__)

DEFAULT_TARGET_FILE_SIZE_MB = 128
SMALL_FRACTION = 0.75
"""Files below this share of the target size are rewritten; bigger ones are left as they are."""
OPERATION_PROPERTY = "dativo.operation"
COMPACTION = "compaction"


@dataclass
class FileGroup:
    """The small files of one partition and what they were rewritten into."""

    spec_id: int
    partition: Any
    inputs: list[FileScanTask]
    outputs: list[DataFile] = field(default_factory=list)

    @property
    def input_paths(self) -> set[str]:
        return {task.file.file_path for task in self.inputs}

    @property
    def records(self) -> int:
        return sum(task.file.record_count for task in self.inputs)


@dataclass
class CompactionReport:
    """What :func:`compact_table` did."""

    groups: int = 0
    files_rewritten: int = 0
    files_written: int = 0
    records_rewritten: int = 0
    groups_abandoned: int = 0
    """Groups another writer changed before the commit: left as they were, their new files deleted."""
    snapshot_id: int | None = None
    attempts: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "compacted_groups": self.groups,
            "compacted_files_rewritten": self.files_rewritten,
            "compacted_files_written": self.files_written,
            "compacted_records": self.records_rewritten,
            "compaction_groups_abandoned": self.groups_abandoned,
            "compaction_snapshot_id": self.snapshot_id,
        }


def plan_groups(table: Table, target_bytes: int) -> list[FileGroup]:
    """The groups worth rewriting: two or more small files (and no delete files) of one partition."""
    threshold = target_bytes * SMALL_FRACTION
    by_partition: dict[tuple[int, tuple[Any, ...]], list[FileScanTask]] = {}
    for task in table.scan().plan_files():
        if task.delete_files or task.file.file_size_in_bytes >= threshold:
            continue
        key = (task.file.spec_id, tuple(task.file.partition))
        by_partition.setdefault(key, []).append(task)
    groups = []
    for (spec_id, _), tasks in by_partition.items():
        if len(tasks) < 2:
            continue
        tasks.sort(key=lambda t: t.file.file_path)
        groups.append(FileGroup(spec_id, tasks[0].file.partition, tasks))
    return groups


def _rewrite_group(table: Table, metadata: TableMetadata, group: FileGroup, target_bytes: int) -> None:
    """Write the group's rows as files of about ``target_bytes``, one output file in memory at a
    time: the inputs' size on disk decides when an output file is full."""
    writer = DataFileWriter(table, metadata, auto_flush=False)
    on_disk = 0

    def flush() -> None:
        writer.flush()
        group.outputs = list(writer.files)
        pa.default_memory_pool().release_unused()

    try:
        for task in group.inputs:
            if on_disk and on_disk + task.file.file_size_in_bytes > target_bytes:
                flush()
                on_disk = 0
            writer.add(read_data_files(metadata, table.io, [task]))
            on_disk += task.file.file_size_in_bytes
        flush()
    except BaseException:
        writer.discard()
        group.outputs = []
        raise


def live_files(table: Table) -> set[str]:
    """The data files of the table's current snapshot."""
    return {task.file.file_path for task in table.scan().plan_files()}


def compact_table(
    table: Table,
    *,
    target_file_size_bytes: int = DEFAULT_TARGET_FILE_SIZE_MB << 20,
    properties: dict[str, str] | None = None,
    before_commit: Callable[[], None] | None = None,
) -> CompactionReport:
    """Rewrite the small files of each partition of ``table`` into files of about
    ``target_file_size_bytes``, in one commit; nothing to do commits nothing.

    ``before_commit`` runs once, after the first attempt staged its changes and before it
    commits: tests use it to let another writer commit in between."""
    if target_file_size_bytes <= 0:
        raise ValueError("target_file_size_bytes must be positive")
    report = CompactionReport()
    table.refresh()
    if table.current_snapshot() is None:
        return report
    metadata = table.metadata
    groups = plan_groups(table, target_file_size_bytes)
    if not groups:
        log.info(
            "compaction of %s: no partition has two files below %d bytes",
            table.name(),
            target_file_size_bytes,
        )
        return report
    try:
        for group in groups:
            _rewrite_group(table, metadata, group, target_file_size_bytes)
    except BaseException:
        delete_files(table, [f.file_path for g in groups for f in g.outputs])
        raise
    hook = [before_commit] if before_commit is not None else []
    abandoned: list[FileGroup] = []

    def stage(current: Table, txn: Transaction) -> bool:
        live = live_files(current)
        for group in [g for g in groups if not g.input_paths <= live]:
            log.warning(
                "compaction of %s: %d files of a partition changed since they were read; left as they are",
                current.name(),
                len(group.inputs),
            )
            groups.remove(group)
            abandoned.append(group)
            delete_files(current, [f.file_path for f in group.outputs])
        if not groups:
            return False
        summary = {
            **(properties or {}),
            OPERATION_PROPERTY: COMPACTION,
            "dativo.compaction.files-rewritten": str(sum(len(g.inputs) for g in groups)),
            "dativo.compaction.target-file-size-bytes": str(target_file_size_bytes),
        }
        with txn.update_snapshot(snapshot_properties=summary).overwrite() as snapshot:
            for group in groups:
                for task in group.inputs:
                    snapshot.delete_data_file(task.file)
                for data_file in group.outputs:
                    snapshot.append_data_file(data_file)
        while hook:
            hook.pop()()
        return True

    outcome = commit_with_retries(
        table,
        run_id=None,
        stage=stage,
        reused_files=lambda: [f.file_path for g in groups for f in g.outputs],
    )
    report.attempts = outcome.attempts
    report.groups_abandoned = len(abandoned)
    if outcome.snapshots:
        report.snapshot_id = outcome.snapshot_id
        report.groups = len(groups)
        report.files_rewritten = sum(len(g.inputs) for g in groups)
        report.files_written = sum(len(g.outputs) for g in groups)
        report.records_rewritten = sum(g.records for g in groups)
    log.info(
        "compaction of %s: %d files in %d partitions rewritten into %d (%d partitions abandoned)",
        table.name(),
        report.files_rewritten,
        report.groups,
        report.files_written,
        report.groups_abandoned,
    )
    return report
