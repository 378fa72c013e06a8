"""Table maintenance: expire old snapshots (keeping the newest and every branch or tag head),
then delete the files nothing references any more (:mod:`.orphans`).

Every run adds a snapshot, so without expiry a table's metadata grows forever. pyiceberg's
``expire_snapshots`` rewrites metadata only and leaves the expired snapshots' data files on
storage; the orphan clean-up removes them (and what a killed run left behind) once they are
older than a guard that keeps running loads safe. Callers: the ``iceberg_maintenance``
workflow (:mod:`airflow_provider_dativo.workflows.builtins.maintenance`).
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError
from pyiceberg.table import Table

from airflow_provider_dativo.engine.iceberg.orphans import remove_orphan_files

log = logging.getLogger(__name__)
DAY_MS = 86_400_000


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


def maintain_table(
    catalog: Catalog,
    namespace: str,
    table_name: str,
    *,
    older_than_days: float,
    retain_last: int,
    orphans_older_than_hours: float | None,
) -> dict[str, Any]:
    """Expire the table's old snapshots, then (unless ``orphans_older_than_hours`` is ``None``)
    delete its unreferenced files older than that; returns what was there and what went. A
    table that does not exist yet has nothing to maintain."""
    table_id = f"{namespace}.{table_name}"
    try:
        table = catalog.load_table((namespace, table_name))
    except (NoSuchTableError, NoSuchNamespaceError):
        log.warning("table %s does not exist yet: nothing to maintain", table_id)
        return {"snapshots_before": 0, "snapshots_expired": 0, "snapshots_after": 0}
    metadata = table.metadata
    expire = snapshots_to_expire(
        [(s.snapshot_id, s.timestamp_ms) for s in metadata.snapshots],
        {ref.snapshot_id for ref in metadata.refs.values()},
        now_ms=int(time.time() * 1000),
        older_than_days=older_than_days,
        retain_last=retain_last,
    )
    if expire:
        table.maintenance.expire_snapshots().by_ids(expire).commit()
    before = len(metadata.snapshots)
    log.info("expired %d of %d snapshots of %s", len(expire), before, table_id)
    result: dict[str, Any] = {
        "snapshots_before": before,
        "snapshots_expired": len(expire),
        "snapshots_after": before - len(expire),
        "expired_snapshot_ids": expire,
    }
    if orphans_older_than_hours is not None:
        result.update(_remove_orphans(table, orphans_older_than_hours, table_id))
    return result


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
