"""What a table says about earlier runs: which run ids committed and how far the cursor got.

The table is the only source of truth. Each commit carries ``dativo.run-id``,
``dativo.job-name``, ``dativo.run-status`` and, for incremental jobs,
``dativo.cursor.<field>`` (the JSON-encoded cursor) with ``dativo.boundary.<field>`` (what
identifies the records committed at that cursor value, :mod:`..checks.boundary`) as snapshot
summary properties on every snapshot it creates, so data and state land atomically: a crash before the
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
import pyarrow.compute as pc
from pyiceberg.table import Table
from pyiceberg.table.snapshots import Snapshot

from airflow_provider_dativo.engine.checks.boundary import Boundary, row_mask
from airflow_provider_dativo.engine.checks.incremental import (
    CursorProgress,
    CursorSpec,
    greater,
    to_cursor_scalar,
)
from airflow_provider_dativo.engine.errors import CommitConflict, ConfigError

RUN_ID_PROPERTY = "dativo.run-id"
JOB_NAME_PROPERTY = "dativo.job-name"
RUN_STATUS_PROPERTY = "dativo.run-status"
"""``success`` or ``partial`` (warn mode rejected records): what a retry of the run reports."""
CURSOR_PROPERTY_PREFIX = "dativo.cursor."
BOUNDARY_PROPERTY_PREFIX = "dativo.boundary."

logger = logging.getLogger(__name__)


def cursor_property(cursor_field: str) -> str:
    """The snapshot property holding the cursor of ``cursor_field``."""
    return f"{CURSOR_PROPERTY_PREFIX}{cursor_field}"


def boundary_property(cursor_field: str) -> str:
    """The snapshot property holding the boundary of ``cursor_field``'s committed value."""
    return f"{BOUNDARY_PROPERTY_PREFIX}{cursor_field}"


@dataclass(frozen=True)
class StagedCursor:
    """The cursor a commit moves to and the records it holds at that value."""

    value: pa.Scalar
    boundary: Boundary


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
    staged: StagedCursor | None = None,
) -> dict[str, str]:
    """The properties every snapshot of a run's commit carries: the run id, the job name, the
    run's status (target tables) and the cursor it moves to with its boundary (incremental
    jobs, when either changes)."""
    properties = {RUN_ID_PROPERTY: run_id or "", JOB_NAME_PROPERTY: job_name}
    if status is not None:
        properties[RUN_STATUS_PROPERTY] = status
    if cursor is not None and staged is not None:
        properties[cursor_property(cursor.name)] = encode_cursor(staged.value.as_py())
        properties[boundary_property(cursor.name)] = staged.boundary.to_property()
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
    """The last committed cursor of a field: its JSON-decoded value, the snapshot holding it and
    the boundary recorded with it (``None`` for a commit of a version that recorded none)."""

    value: Any
    snapshot_id: int
    boundary: Boundary | None = None


def committed_cursor(table: Table | None, cursor_field: str) -> CommittedCursor | None:
    """The newest cursor committed for ``cursor_field``, or ``None`` when no run committed one."""
    if table is None:
        return None
    key = cursor_property(cursor_field)
    for snapshot in ancestors(table):
        properties = _properties(snapshot)
        raw = properties.get(key)
        if raw is not None:
            boundary = properties.get(boundary_property(cursor_field))
            return CommittedCursor(
                json.loads(raw),
                snapshot.snapshot_id,
                Boundary.from_property(boundary) if boundary is not None else None,
            )
    return None


@dataclass(frozen=True)
class CommittedState:
    """The typed committed cursor, its snapshot and its boundary."""

    value: pa.Scalar
    snapshot_id: int
    boundary: Boundary | None


def committed_state(table: Table | None, spec: CursorSpec) -> CommittedState | None:
    """The cursor the table says was committed last for ``spec``, typed; ``None`` if none was."""
    found = committed_cursor(table, spec.name)
    if found is None:
        return None
    try:
        value = to_cursor_scalar(found.value, spec.field)
    except ValueError as exc:
        raise ConfigError(
            f"the cursor committed for {spec.name!r} in snapshot {found.snapshot_id} cannot be read as "
            f"{spec.field.type}: {exc} (did the cursor field's type change?)"
        ) from None
    return CommittedState(value, found.snapshot_id, found.boundary)


def committed_cursor_value(table: Table | None, spec: CursorSpec) -> pa.Scalar | None:
    """The cursor the table says was committed last for ``spec``, typed; ``None`` if none was."""
    state = committed_state(table, spec)
    return state.value if state is not None else None


def _literal(value: pa.Scalar) -> Any:
    python = value.as_py()
    return python.isoformat() if isinstance(python, (datetime, date)) else python


def committed_record_ids(table: Table, spec: CursorSpec, low: pa.Scalar | None, high: pa.Scalar) -> set[str]:
    """Content digests (:mod:`..checks.boundary`) of the table's records whose cursor is in
    ``[low, high]`` (``low`` ``None``: no lower end), read batch by batch.

    Used when the committed boundary is not enough: beyond its bound, for a cursor committed
    before boundaries were recorded, and for the lookback window. Memory: one digest per record
    in the range."""
    from pyiceberg.expressions import And, GreaterThanOrEqual, LessThanOrEqual

    assert spec.identity is not None
    names = [f.name for f in spec.identity.fields if f.name in {c.name for c in table.schema().fields}]
    expression: Any = LessThanOrEqual(spec.name, _literal(high))
    if low is not None and low.is_valid:
        expression = And(GreaterThanOrEqual(spec.name, _literal(low)), expression)
    ids: set[str] = set()
    reader = table.scan(row_filter=expression, selected_fields=tuple(names)).to_arrow_batch_reader()
    for batch in reader:
        records = pa.Table.from_batches([batch])
        column = records.column(spec.name).cast(high.type)
        within = pc.less_equal(column, high)
        if low is not None and low.is_valid:
            within = pc.and_(within, pc.greater_equal(column, low))
        records = records.filter(pc.fill_null(within, False))
        ids.update(content for _, content in spec.identity.ids(records))
    return ids


@dataclass
class Rebase:
    """What a commit attempt does about a cursor another run committed since this one started."""

    leave_out: CommittedState | None = None
    """The other run's state: its records (before its cursor, or at it and in its boundary) are
    left out of this run's files."""
    staged: StagedCursor | None = None
    """The cursor (and boundary) this commit records; ``None`` when it does not move."""

    def keep(self, records: pa.Table, spec: CursorSpec) -> pa.Table:
        """Typed ``records`` that the other run did not load."""
        if self.leave_out is None or records.num_rows == 0:
            return records
        cursor = records.column(spec.name)
        other = self.leave_out
        keep = pc.fill_null(pc.greater(cursor, other.value), False)
        at = pc.indices_nonzero(pc.fill_null(pc.equal(cursor, other.value), False))
        if len(at) and spec.identity is not None:
            ids = spec.identity.ids(records.take(at))
            loaded = other.boundary.ids if other.boundary and other.boundary.ids is not None else set()
            fresh = [r for r, (a, _) in zip(at.to_pylist(), ids, strict=True) if a not in loaded]
            keep = pc.or_(keep, row_mask(records.num_rows, fresh))
        return records.filter(keep)


def rebase_cursor(table: Table, spec: CursorSpec | None, progress: CursorProgress | None) -> Rebase:
    """Rebase a run's records on the cursor ``table`` holds now.

    The run selected its records against the cursor committed when it started
    (``progress.base_snapshot_id``). When another run committed since, the records it loaded
    are left out, and this run's cursor is committed only when it is not behind: at the same
    value, with both runs' boundary records. A boundary beyond the bound cannot be told apart
    from this run's records: the attempt fails with :class:`CommitConflict`, and a retry of
    the run re-reads the source against the new cursor.
    """
    if spec is None or progress is None:
        return Rebase()
    staged = (
        StagedCursor(progress.value, progress.boundary)
        if progress.moved and progress.value is not None
        else None
    )
    state = committed_state(table, spec)
    if state is None or state.snapshot_id == progress.base_snapshot_id:
        return Rebase(staged=staged)
    if state.boundary is None or state.boundary.ids is None:
        raise CommitConflict(
            f"another run committed cursor {spec.name!r} = {encode_cursor(state.value.as_py())} while this "
            "run was loading, with more boundary records than can be told apart here; nothing was "
            "written; retrying the run helps"
        )
    if progress.value is None or greater(state.value, progress.value):
        return Rebase(leave_out=state)
    if greater(progress.value, state.value):
        return Rebase(leave_out=state, staged=staged)
    both = Boundary(state.boundary.by, set(state.boundary.ids), state.boundary.count)
    if progress.boundary.ids is None:
        both.ids, both.count = None, both.count + progress.boundary.count
    elif not both.add(sorted(progress.boundary.ids)):
        return Rebase(leave_out=state)  # the other run committed every record at the value
    return Rebase(leave_out=state, staged=StagedCursor(progress.value, both))


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
