"""What a table says about earlier runs: which run ids committed and how far the cursor got.

The table is the only source of truth. Each commit carries ``dativo.run-id``,
``dativo.job-name``, ``dativo.run-status`` and, for incremental jobs,
``dativo.cursor.<field>`` (the JSON-encoded cursor) as snapshot summary properties on every
snapshot it creates, so data and state land atomically: a crash before the
commit leaves both unchanged, a crash after it leaves both advanced. Readers walk the main
branch from the current snapshot back through its parents, so snapshots written by other tools
(compaction, manual fixes) are skipped rather than mistaken for a reset.

The optional ``state/<tenant>/<job>.json`` file under the dativo home is a mirror for people
and dashboards, written after the commit; the engine never reads it.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
from pyiceberg.table import Table
from pyiceberg.table.snapshots import Snapshot

from airflow_provider_dativo.engine.checks.incremental import CursorSpec, greater, to_cursor_scalar
from airflow_provider_dativo.engine.errors import ConfigError

RUN_ID_PROPERTY = "dativo.run-id"
JOB_NAME_PROPERTY = "dativo.job-name"
RUN_STATUS_PROPERTY = "dativo.run-status"
"""``success`` or ``partial`` (warn mode rejected records): what a retry of the run reports."""
CURSOR_PROPERTY_PREFIX = "dativo.cursor."

logger = logging.getLogger(__name__)


def cursor_property(cursor_field: str) -> str:
    """The snapshot property holding the cursor of ``cursor_field``."""
    return f"{CURSOR_PROPERTY_PREFIX}{cursor_field}"


def encode_cursor(value: Any) -> str:
    """JSON text of a cursor value; decimals and temporal values as ISO/exact strings."""
    if isinstance(value, (datetime, date)):
        return json.dumps(value.isoformat())
    if isinstance(value, Decimal):
        return json.dumps(str(value))
    return json.dumps(value)


def snapshot_properties(
    run_id: str | None,
    job_name: str,
    *,
    status: str | None = None,
    cursor: CursorSpec | None = None,
    cursor_value: pa.Scalar | None = None,
) -> dict[str, str]:
    """The properties every snapshot of a run's commit carries: the run id, the job name, the
    run's status (target tables) and the cursor it moves to (incremental jobs, when it moves)."""
    properties = {RUN_ID_PROPERTY: run_id or "", JOB_NAME_PROPERTY: job_name}
    if status is not None:
        properties[RUN_STATUS_PROPERTY] = status
    if cursor is not None and cursor_value is not None:
        properties[cursor_property(cursor.name)] = encode_cursor(cursor_value.as_py())
    return properties


def _properties(snapshot: Snapshot) -> dict[str, str]:
    return dict(snapshot.summary.additional_properties) if snapshot.summary else {}


def ancestors(table: Table) -> Iterator[Snapshot]:
    """The main branch's snapshots, newest first."""
    snapshot = table.current_snapshot()
    while snapshot is not None:
        yield snapshot
        parent = snapshot.parent_snapshot_id
        snapshot = table.snapshot_by_id(parent) if parent is not None else None


def find_run(table: Table, run_id: str | None) -> Snapshot | None:
    """The newest snapshot committed by ``run_id``; ``None`` for an empty run id (never matches)."""
    if not run_id:
        return None
    for snapshot in ancestors(table):
        if _properties(snapshot).get(RUN_ID_PROPERTY) == run_id:
            return snapshot
    return None


def run_status(snapshot: Snapshot) -> str:
    """The status the run that committed ``snapshot`` ended with (``success`` when not recorded)."""
    return _properties(snapshot).get(RUN_STATUS_PROPERTY, "success")


@dataclass(frozen=True)
class CommittedCursor:
    """The last committed cursor of a field: its JSON-decoded value and the snapshot holding it."""

    value: Any
    snapshot_id: int


def committed_cursor(table: Table | None, cursor_field: str) -> CommittedCursor | None:
    """The newest cursor committed for ``cursor_field``, or ``None`` when no run committed one."""
    if table is None:
        return None
    key = cursor_property(cursor_field)
    for snapshot in ancestors(table):
        raw = _properties(snapshot).get(key)
        if raw is not None:
            return CommittedCursor(json.loads(raw), snapshot.snapshot_id)
    return None


def committed_cursor_value(table: Table | None, spec: CursorSpec) -> pa.Scalar | None:
    """The cursor the table says was committed last for ``spec``, typed; ``None`` if none was."""
    found = committed_cursor(table, spec.name)
    if found is None:
        return None
    try:
        return to_cursor_scalar(found.value, spec.field)
    except ValueError as exc:
        raise ConfigError(
            f"the cursor committed for {spec.name!r} in snapshot {found.snapshot_id} cannot be read as "
            f"{spec.field.type}: {exc} (did the cursor field's type change?)"
        ) from None


def rebase_cursor(
    table: Table, spec: CursorSpec | None, after: pa.Scalar | None, top: pa.Scalar | None
) -> tuple[pa.Scalar | None, pa.Scalar | None]:
    """Rebase a run's records on the cursor ``table`` holds now; returns ``(leave_out_until,
    cursor_to_commit)``.

    The run selected its records beyond ``after``. When another run committed a different
    cursor since then, the records at or before that one were loaded by it: they are left out
    (``leave_out_until``), and this run's cursor ``top`` is committed only when it is greater.
    """
    if spec is None or top is None:
        return None, None
    committed = committed_cursor_value(table, spec)
    if committed is None or (after is not None and committed.equals(after)):
        return None, top
    return committed, (top if greater(top, committed) else None)


def write_mirror(home: Path, tenant_id: str, job_name: str, payload: dict[str, Any]) -> Path | None:
    """Write ``state/<tenant>/<job_name>.json`` atomically; a failure is logged, never raised,
    because the mirror is informational and the commit it describes already succeeded."""
    safe_name = job_name.replace(os.sep, "_").replace("/", "_") or "job"
    path = home / "state" / tenant_id / f"{safe_name}.json"
    document = {
        **payload,
        "updated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "note": "mirror of the Iceberg snapshot properties; the table is the source of truth",
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        logger.warning("could not write the state mirror %s: %s", path, exc)
        return None
    return path
