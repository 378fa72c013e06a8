"""Incremental loads: pick the records not loaded yet and compute the next cursor.

A job with ``source.incremental.cursor_field`` loads the records whose cursor is at or beyond
the one the table says was committed last, less those the commit recorded as already loaded
at exactly that value (the **boundary**, :mod:`.boundary`), so a record that shares the
committed cursor value but arrived later is loaded, and none twice. On the first run the
records beyond ``start`` (exclusive) are loaded. With ``lookback`` the window below the
committed cursor is re-read as well, less the records the table already holds there. The
cursor is compared in the field's own type (numbers numerically, dates and timestamps in time
order, strings lexicographically) after parsing with the same parser validation uses, so
``"10"`` comes after ``"9"`` for a long cursor.

A record whose cursor is missing or unparseable cannot be placed before or after the committed
cursor. It is never silently skipped: it stays in the selection and fails the ``<field>.cursor``
rule, so strict mode refuses the batch and warn mode quarantines it (again on every run, until
the source is fixed, since no cursor can ever move past it).

The next cursor is the greatest cursor among the selected records, valid or quarantined, and
the boundary the identifiers of every selected record at it: the rejected ones are kept in the
quarantine table, so moving past them loses nothing and keeps the next run from rejecting them
a second time.

:class:`CursorSelection` is the stage of the pipeline that does this batch by batch; reading
the committed cursor from a table is :func:`..iceberg.state.committed_cursor_value`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_dativo.config.asset import Asset, AssetField
from airflow_provider_dativo.config.job import parse_duration
from airflow_provider_dativo.config.loader import ResolvedJob
from airflow_provider_dativo.engine.checks.boundary import (
    MAX_BOUNDARY_IDS,
    Boundary,
    RecordIdentity,
    row_mask,
)
from airflow_provider_dativo.engine.checks.casting import parse_text
from airflow_provider_dativo.engine.checks.validation import ValidationReport, to_typed
from airflow_provider_dativo.engine.errors import ConfigError

CURSOR_RULE = "cursor"
"""Rule name (``<field>.cursor``) of records without a usable cursor value."""


NUMERIC_CURSORS = ("int", "long", "double")
TIME_CURSORS = ("timestamp", "date")


@dataclass(frozen=True)
class CursorSpec:
    """The cursor field of an incremental job, its typed ``start`` (exclusive), how the job
    identifies a record at the boundary, and its ``lookback`` (a duration or cursor units)."""

    field: AssetField
    start: pa.Scalar | None
    identity: RecordIdentity | None = None
    lookback: timedelta | Decimal | None = None

    @property
    def name(self) -> str:
        return self.field.name


def _cursor_text(value: Any) -> str:
    """Text of a cursor value from YAML (``start``) or JSON (a committed cursor), for the parser."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not a cursor value")
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def to_cursor_scalar(value: Any, cursor: AssetField) -> pa.Scalar:
    """``value`` as a scalar of the cursor's Arrow type; ``ValueError`` when it is not a valid one."""
    text = _cursor_text(value)
    typed, failed = parse_text(pa.array([text], pa.string()), cursor.type)
    if failed[0].as_py() or not typed[0].is_valid:
        raise ValueError(f"{text!r} is not a valid {cursor.type} value")
    return typed[0]


def asset_cursor_field(asset: Asset, name: str) -> AssetField:
    """The asset field ``source.incremental.cursor_field`` names."""
    fields = {f.name: f for f in asset.fields}
    found = fields.get(name)
    if found is None:
        raise ConfigError(
            f"source.incremental.cursor_field {name!r} is not a field of asset {asset.name!r} "
            f"(fields: {', '.join(fields)})"
        )
    return found


def cursor_spec(job: ResolvedJob, asset: Asset) -> CursorSpec | None:
    """The job's cursor, checked against the asset; ``None`` when the job is not incremental."""
    incremental = job.config.incremental_settings()
    if incremental is None:
        return None
    cursor = asset_cursor_field(asset, incremental.cursor_field)
    if cursor.type == "boolean":
        raise ConfigError(
            f"source.incremental.cursor_field {cursor.name!r} is boolean; a cursor must be a number, "
            "decimal, date, timestamp or string"
        )
    start = None
    if incremental.start is not None:
        try:
            start = to_cursor_scalar(incremental.start, cursor)
        except ValueError as exc:
            raise ConfigError(f"source.incremental.start for cursor {cursor.name!r}: {exc}") from None
    identity = RecordIdentity(tuple(asset.fields), tuple(job.config.target.merge_keys))
    lookback = _lookback(incremental.lookback, cursor)
    return CursorSpec(field=cursor, start=start, identity=identity, lookback=lookback)


def _lookback(value: str | float | None, cursor: AssetField) -> timedelta | Decimal | None:
    """``lookback`` in the cursor's terms: a duration for time cursors, units for numeric ones."""
    if value is None:
        return None
    where = f"source.incremental.lookback for cursor {cursor.name!r} ({cursor.type})"
    if cursor.type in TIME_CURSORS:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: a time cursor looks back by an ISO 8601 duration such as 'PT2H'")
        return parse_duration(value)
    if cursor.type in NUMERIC_CURSORS or cursor.type.startswith("decimal"):
        if isinstance(value, str):
            raise ConfigError(f"{where}: a numeric cursor looks back by a number of cursor units")
        return Decimal(str(value))
    raise ConfigError(f"{where}: a {cursor.type} cursor has no distance to look back by")


def window_start(after: pa.Scalar, lookback: timedelta | Decimal | None) -> pa.Scalar:
    """The first cursor value the lookback window re-reads (``after`` without a lookback).

    A date cursor looks back by whole days (a part of a day counts as one); an integer cursor
    by whole units (rounded up), so the window is never smaller than asked."""
    if lookback is None or not after.is_valid:
        return after
    value = after.as_py()
    if isinstance(lookback, timedelta):
        if isinstance(value, datetime):
            low: Any = value - lookback
        else:
            low = value - timedelta(days=math.ceil(lookback / timedelta(days=1)))
    elif isinstance(value, int):
        low = value - math.ceil(lookback)
    elif isinstance(value, Decimal):  # rounded down to the cursor's scale: never a smaller window
        low = (value - lookback).quantize(Decimal(1).scaleb(-after.type.scale), rounding=ROUND_FLOOR)
    else:
        low = value - float(lookback)
    try:
        return pa.scalar(low, type=after.type)
    except (pa.ArrowInvalid, OverflowError, ValueError):
        return pa.scalar(None, type=after.type)  # below the type's range: the window is unbounded


@dataclass
class Selection:
    """The records a run handles: those not loaded yet plus those without a usable cursor."""

    records: pa.Table
    skipped: int
    """Records an earlier run loaded: before the window, or at the boundary and recorded there
    (or before ``start``)."""


def check_cursor_values(report: ValidationReport, spec: CursorSpec) -> None:
    """Fail the ``<field>.cursor`` rule for every selected record without a usable cursor."""
    report.add_failure(f"{spec.name}.{CURSOR_RULE}", pc.is_null(report.table.column(spec.name)))


def newer_than(records: pa.Table, spec: CursorSpec, after: pa.Scalar | None) -> pa.Table:
    """Typed ``records`` whose cursor is greater than ``after`` (a cursor committed meanwhile)."""
    if after is None or records.num_rows == 0:
        return records
    return records.filter(pc.fill_null(pc.greater(records.column(spec.name), after), False))


def greater(a: pa.Scalar, b: pa.Scalar) -> bool:
    """``a > b`` for two typed cursor values."""
    return bool(pc.greater(a, b).as_py())


def same(a: pa.Scalar | None, b: pa.Scalar | None) -> bool:
    """``a == b`` for two typed cursor values (``None`` equals only ``None``)."""
    if a is None or b is None:
        return a is None and b is None
    return bool(pc.equal(a, b).as_py())


@dataclass
class CursorProgress:
    """How far a run's selected records reach: the greatest cursor and the boundary at it."""

    value: pa.Scalar | None
    boundary: Boundary
    base_snapshot_id: int | None = None
    """The snapshot holding the committed cursor the run started from (``None``: none)."""
    moved: bool = False
    """Whether the cursor or its boundary changed: only then does the commit record them."""

    def add(self, value: pa.Scalar, identifiers: list[str]) -> None:
        if self.value is None or greater(value, self.value):
            self.value, self.boundary, self.moved = value, Boundary(self.boundary.by), True
        elif not same(value, self.value):
            return
        if self.boundary.add(identifiers):
            self.moved = True

    def count(self, value: pa.Scalar, records: int) -> None:
        """Records at ``value`` known only by their number (beyond the bound)."""
        self.add(value, [])
        self.boundary.ids = None
        self.boundary.count += records
        self.moved = True

    @property
    def full(self) -> bool:
        """Beyond the bound: further records at the boundary are only counted."""
        return self.boundary.ids is None


@dataclass
class CursorSelection:
    """The pipeline's cursor stage: selects each batch's records not loaded yet and keeps the
    greatest cursor of the records it let through (valid or not) with its boundary."""

    spec: CursorSpec
    after: pa.Scalar | None
    """The committed cursor (or the job's ``start``); ``None`` selects everything."""
    inclusive: bool = False
    """``after`` is a committed cursor: records at it are re-read, less those in :attr:`known`."""
    low: pa.Scalar | None = None
    """First value of the re-read window (``after`` itself without a lookback)."""
    known: set[str] = field(default_factory=set)
    """Identifiers of the records in the window that are loaded already."""
    progress: CursorProgress | None = None

    def __post_init__(self) -> None:
        if self.low is None:
            self.low = self.after
        if self.progress is None:
            by = self.spec.identity.by if self.spec.identity else "content"
            self.progress = CursorProgress(None, Boundary(by))

    @property
    def lower(self) -> pa.Scalar | None:
        """The least cursor a source must deliver (``>=``); records below it are loaded."""
        lower = self.low if self.inclusive else self.after
        return lower if lower is not None and lower.is_valid else None

    @property
    def top(self) -> pa.Scalar | None:
        """The greatest cursor seen so far: what the run commits as its new cursor."""
        return self.progress.value if self.progress else None

    def select(self, raw: pa.Table) -> Selection:
        if raw.num_rows == 0 or self.after is None:
            return Selection(raw, 0)
        typed, _ = to_typed(raw.column(self.spec.name), self.spec.field)
        keep = pc.fill_null(pc.or_kleene(pc.is_null(typed), pc.greater(typed, self.after)), True)
        if self.inclusive:
            keep = pc.or_(keep, self._fresh_in_window(raw, typed))
        records = raw.filter(keep)
        return Selection(records, raw.num_rows - records.num_rows)

    def _fresh_in_window(self, raw: pa.Table, typed: Any) -> pa.Array:
        """Records in the window ``[low, after]`` whose identifier is not :attr:`known`."""
        low = self.low if self.low is not None and self.low.is_valid else None
        in_window = pc.less_equal(typed, self.after)
        if low is not None:
            in_window = pc.and_(in_window, pc.greater_equal(typed, low))
        rows = pc.indices_nonzero(pc.fill_null(in_window, False))
        fresh_rows: list[int] = []
        if len(rows) and self.spec.identity is not None:
            ids = self.spec.identity.ids(raw.take(rows))
            known = self.known
            pairs = zip(rows.to_pylist(), ids, strict=True)
            fresh_rows = [r for r, (a, c) in pairs if a not in known and c not in known]
        return row_mask(raw.num_rows, fresh_rows)

    def _advance(self, records: pa.Table, typed: Any) -> None:
        """Move :attr:`progress` to this batch's greatest cursor and its records (``records``
        as the source delivered them, ``typed`` their cursor column typed)."""
        assert self.progress is not None
        if records.num_rows == 0:
            return
        batch_top = pc.max(typed)
        if not batch_top.is_valid:
            return
        at_top = pc.indices_nonzero(pc.fill_null(pc.equal(typed, batch_top), False))
        if self.progress.value is not None and greater(self.progress.value, batch_top):
            return
        continuing = self.progress.value is not None and same(self.progress.value, batch_top)
        if (continuing and self.progress.full) or self.spec.identity is None:
            self.progress.count(batch_top, len(at_top))
            return
        limit = MAX_BOUNDARY_IDS + 1  # beyond it only the number of records is kept
        ids = [a for a, _ in self.spec.identity.ids(records.take(at_top[:limit]))]
        self.progress.add(batch_top, ids)
        if len(at_top) > limit:
            self.progress.count(batch_top, len(at_top) - limit)

    def check(self, report: ValidationReport, selected: pa.Table) -> None:
        """Fail records without a usable cursor and move :attr:`progress` past the others
        (``selected``: the records :meth:`select` let through, as the source delivered them,
        which the boundary identifies)."""
        check_cursor_values(report, self.spec)
        self._advance(selected, report.table.column(self.spec.name))
