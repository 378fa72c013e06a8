"""Table maintenance: compact small files (:mod:`.compaction`), expire old snapshots (keeping
the newest, every branch or tag head, and the dativo state), then delete the files nothing
references any more (:mod:`.orphans`). Each step can be left out (:class:`MaintenanceSteps`).

Every run adds a snapshot, so without expiry a table's metadata grows forever. pyiceberg's
``expire_snapshots`` rewrites metadata only and leaves the expired snapshots' data files on
storage; the orphan clean-up removes them (and what a killed run left behind) once they are
older than a guard that keeps running loads safe.

Expiry also keeps the state of incremental jobs reachable: readers find the committed cursor by
walking the main branch back from its head (:mod:`.state`), and an expired snapshot cuts that
walk. So every snapshot from the head back to the newest one carrying a ``dativo.cursor.*``
property is kept, however old: without it, the next run would load everything again.

Callers: ``dativo maintain`` (:mod:`airflow_provider_dativo.cli.maintain`), the
``iceberg_maintenance`` workflow (:mod:`airflow_provider_dativo.workflows.builtins.maintenance`)
and the ``<schedule>__maintenance`` DAGs (:mod:`airflow_provider_dativo.operators.maintenance`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError
from pyiceberg.table import Table

from airflow_provider_dativo.config.maintenance import (
    DEFAULT_EXPIRE_HOURS,
    DEFAULT_KEEP_LAST,
    DEFAULT_ORPHAN_HOURS,
    DEFAULT_TARGET_FILE_SIZE_MB,
    MaintenanceSettings,
)
from airflow_provider_dativo.engine.iceberg.compaction import compact_table
from airflow_provider_dativo.engine.iceberg.orphans import remove_orphan_files
from airflow_provider_dativo.engine.iceberg.state import CURSOR_PROPERTY_PREFIX, ancestors

if TYPE_CHECKING:
    from airflow_provider_dativo.config.loader import ResolvedJob

log = logging.getLogger(__name__)
DAY_MS = 86_400_000
HOUR_MS = 3_600_000


@dataclass(frozen=True)
class MaintenanceSteps:
    """Which steps run, in this order, and their settings (``None``: the step is left out)."""

    compact_target_file_size_mb: float | None = None
    """Compact files below 75% of this size into files of about this size."""
    expire_older_than_hours: float | None = DEFAULT_EXPIRE_HOURS
    keep_last_snapshots: int = 1
    remove_orphans_older_than_hours: float | None = DEFAULT_ORPHAN_HOURS

    @classmethod
    def for_job(
        cls,
        settings: MaintenanceSettings | None,
        *,
        compact: bool = True,
        expire: bool = True,
        remove_orphans: bool = True,
    ) -> MaintenanceSteps:
        """The steps a job's ``target.maintenance`` asks for (its defaults without the block),
        narrowed to the chosen ones (``dativo maintain --compact`` ...)."""
        if settings is None:
            target, hours, keep, orphans = (
                DEFAULT_TARGET_FILE_SIZE_MB,
                DEFAULT_EXPIRE_HOURS,
                DEFAULT_KEEP_LAST,
                DEFAULT_ORPHAN_HOURS,
            )
            compact_enabled = True
        else:
            target, hours = settings.target_file_size_mb, settings.expire_snapshots_older_than_hours
            keep, orphans = settings.keep_last_snapshots, settings.remove_orphans_older_than_hours
            compact_enabled = settings.compact
        return cls(
            compact_target_file_size_mb=target if compact and compact_enabled else None,
            expire_older_than_hours=hours if expire else None,
            keep_last_snapshots=keep,
            remove_orphans_older_than_hours=orphans if remove_orphans else None,
        )

    def names(self) -> list[str]:
        """The steps that run, as ``dativo maintain`` names them."""
        chosen = [
            ("compact", self.compact_target_file_size_mb),
            ("expire_snapshots", self.expire_older_than_hours),
            ("remove_orphans", self.remove_orphans_older_than_hours),
        ]
        return [name for name, value in chosen if value is not None]


def snapshots_to_expire(
    snapshots: list[tuple[int, int]],
    protected: set[int],
    *,
    now_ms: int,
    older_than_days: float,
    retain_last: int,
) -> list[int]:
    """Ids of ``(snapshot_id, timestamp_ms)`` older than the cutoff, minus the newest
    ``retain_last`` and the ``protected`` ones (branch and tag heads)."""
    newest_first = sorted(snapshots, key=lambda s: s[1], reverse=True)
    kept = {snapshot_id for snapshot_id, _ in newest_first[:retain_last]} | protected
    cutoff = now_ms - older_than_days * DAY_MS
    return [sid for sid, ts in sorted(snapshots, key=lambda s: s[1]) if ts < cutoff and sid not in kept]


def maintain_job_table(
    job: ResolvedJob, steps: MaintenanceSteps, dativo_home: str | None = None
) -> dict[str, Any]:
    """Maintain a loaded job's target table (its catalog, its namespace)."""
    from airflow_provider_dativo.engine.iceberg.catalog import open_catalog

    target = job.config.target
    catalog = open_catalog(target, dativo_home)
    result: dict[str, Any] = {"table": f"{job.namespace}.{target.table}", "steps": steps.names()}
    result.update(maintain_table(catalog, job.namespace, target.table, steps))
    return result


def state_snapshots(table: Table) -> set[int]:
    """The main branch's snapshots from its head back to the newest one that carries a dativo
    cursor: what a run walks to find its committed cursor (empty without one)."""
    walked: list[int] = []
    for snapshot in ancestors(table):
        walked.append(snapshot.snapshot_id)
        properties = snapshot.summary.additional_properties if snapshot.summary else {}
        if any(key.startswith(CURSOR_PROPERTY_PREFIX) for key in properties):
            return set(walked)
    return set()


def maintain_table(
    catalog: Catalog, namespace: str, table_name: str, steps: MaintenanceSteps
) -> dict[str, Any]:
    """Run ``steps`` on the table; returns what was there and what changed. A table that does
    not exist yet has nothing to maintain."""
    table_id = f"{namespace}.{table_name}"
    try:
        table = catalog.load_table((namespace, table_name))
    except (NoSuchTableError, NoSuchNamespaceError):
        log.warning("table %s does not exist yet: nothing to maintain", table_id)
        return {"table_exists": False, "snapshots_before": 0, "snapshots_expired": 0, "snapshots_after": 0}
    result: dict[str, Any] = {"table_exists": True, "snapshots_before": len(table.metadata.snapshots)}
    if steps.compact_target_file_size_mb is not None:
        report = compact_table(
            table, target_file_size_bytes=int(steps.compact_target_file_size_mb * (1 << 20))
        )
        result.update(report.as_dict())
        table.refresh()
    if steps.expire_older_than_hours is not None:
        result.update(_expire(table, steps.expire_older_than_hours, steps.keep_last_snapshots, table_id))
    result["snapshots_after"] = len(table.metadata.snapshots)
    if steps.remove_orphans_older_than_hours is not None:
        result.update(_remove_orphans(table, steps.remove_orphans_older_than_hours, table_id))
    return result


def _expire(table: Table, older_than_hours: float, keep_last: int, table_id: str) -> dict[str, Any]:
    metadata = table.metadata
    protected = {ref.snapshot_id for ref in metadata.refs.values()} | state_snapshots(table)
    expire = snapshots_to_expire(
        [(s.snapshot_id, s.timestamp_ms) for s in metadata.snapshots],
        protected,
        now_ms=int(time.time() * 1000),
        older_than_days=older_than_hours * HOUR_MS / DAY_MS,
        retain_last=keep_last,
    )
    if expire:
        table.maintenance.expire_snapshots().by_ids(expire).commit()
        table.refresh()
    log.info("expired %d of %d snapshots of %s", len(expire), len(metadata.snapshots), table_id)
    return {"snapshots_expired": len(expire), "expired_snapshot_ids": expire}


def _remove_orphans(table: Table, older_than_hours: float, table_id: str) -> dict[str, Any]:
    report = remove_orphan_files(table, older_than=timedelta(hours=older_than_hours))
    log.info(
        "deleted %d unreferenced files of %s (%d younger than %s h kept)",
        report.deleted,
        table_id,
        report.too_young,
        older_than_hours,
    )
    return {"orphan_files_deleted": report.deleted, "orphan_files_too_young": report.too_young}
