"""Find and delete files under a table's location that no snapshot or metadata version references.

Why: the engine deletes the files of a load that does not commit, but a process killed between
writing its data files and committing (``kill -9``, an OOM kill, a lost machine) cannot clean
up after itself. The table stays correct (nothing references those files) and the next run
loads everything once; the files only cost storage. This is the clean-up for them, the same
job Spark's ``remove_orphan_files`` procedure does, which pyiceberg does not have.

A file is an orphan when it is under the table's location, is not referenced by the current
metadata (its metadata file and logged predecessors, every snapshot's manifest list, every
manifest, every data and delete file any manifest lists as live, statistics files), and was last
modified more than ``older_than`` ago. The age guard is what makes this safe next to running
loads: a load's data files are not referenced until it commits, so files younger than any load
can take are never touched (default 3 days, as Spark's).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from pyiceberg.io.pyarrow import PyArrowFileIO
from pyiceberg.table import Table

DEFAULT_MIN_AGE = timedelta(days=3)


@dataclass
class OrphanReport:
    """What :func:`remove_orphan_files` found (and, unless a dry run, deleted)."""

    orphans: list[str] = field(default_factory=list)
    """Unreferenced files old enough to delete, as locations (``file:///...``, ``s3://...``)."""
    too_young: int = 0
    """Unreferenced files kept because they may belong to a load that has not committed yet."""
    deleted: int = 0
    referenced: int = 0


def referenced_files(table: Table) -> set[str]:
    """Every location the table's metadata references, normalised by :func:`_key`."""
    metadata = table.metadata
    paths = {table.metadata_location, *(entry.metadata_file for entry in metadata.metadata_log)}
    paths.update(stats.statistics_path for stats in metadata.statistics)
    paths.update(stats.statistics_path for stats in metadata.partition_statistics)
    seen_manifests: set[str] = set()
    for snapshot in metadata.snapshots:
        paths.add(snapshot.manifest_list)
        for manifest in snapshot.manifests(table.io):
            if manifest.manifest_path in seen_manifests:
                continue
            seen_manifests.add(manifest.manifest_path)
            paths.add(manifest.manifest_path)
            # Live entries only: a file a snapshot records as DELETED (replaced by an overwrite,
            # a merge or a compaction) is still listed as ADDED or EXISTING by that snapshot's
            # parent while the parent is kept; once the parent is expired, nothing reads it.
            for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True):
                paths.add(entry.data_file.file_path)
    return {_key(path) for path in paths if path}


def remove_orphan_files(
    table: Table,
    *,
    older_than: timedelta = DEFAULT_MIN_AGE,
    dry_run: bool = False,
    now: datetime | None = None,
) -> OrphanReport:
    """Delete the table's orphan files older than ``older_than`` (list them only if ``dry_run``)."""
    if older_than < timedelta(0):
        raise ValueError("older_than cannot be negative")
    io = table.io
    if not isinstance(io, PyArrowFileIO):
        raise ValueError(
            f"finding orphan files needs pyiceberg's PyArrowFileIO to list the table location; "
            f"this table uses {type(io).__name__} (set py-io-impl to pyiceberg.io.pyarrow.PyArrowFileIO)"
        )
    from pyarrow.fs import FileSelector, FileType

    table.refresh()
    referenced = referenced_files(table)
    scheme, netloc, root = PyArrowFileIO.parse_location(table.location(), io.properties)
    filesystem = io.fs_by_scheme(scheme, netloc)
    cutoff = (now or datetime.now(timezone.utc)) - older_than
    report = OrphanReport(referenced=len(referenced))
    infos = filesystem.get_file_info(FileSelector(root.rstrip("/"), recursive=True, allow_not_found=True))
    for info in infos:
        # a listed path is already in the file system's form (``/tmp/x``, ``bucket/key``)
        if info.type != FileType.File or info.path in referenced:
            continue
        modified = info.mtime
        if modified is not None and modified.tzinfo is None:
            modified = modified.replace(tzinfo=timezone.utc)
        if modified is None or modified > cutoff:
            report.too_young += 1
            continue
        report.orphans.append(_location(scheme, info.path))
    report.orphans.sort()
    if not dry_run:
        for location in report.orphans:
            io.delete(location)
            report.deleted += 1
    return report


def _key(location: str) -> str:
    """A location without its scheme, as the file system lists it (``/tmp/x``, ``bucket/key``)."""
    _, _, path = PyArrowFileIO.parse_location(location)
    return path


def _location(scheme: str, path: str) -> str:
    return f"{scheme}://{path}" if scheme != "file" else f"file://{path}"
