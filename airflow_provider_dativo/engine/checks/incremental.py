"""Incremental loads: pick the records beyond the committed cursor and compute the next one.

A job with ``source.incremental.cursor_field`` loads only the records whose cursor is greater
than the one the table says was committed last (or than ``start`` on the first run). The
cursor is compared in the field's own type (numbers numerically, dates and timestamps in time
order, strings lexicographically) after parsing with the same parser validation uses, so
``"10"`` comes after ``"9"`` for a long cursor.

A record whose cursor is missing or unparseable cannot be placed before or after the committed
cursor. It is never silently skipped: it stays in the selection and fails the ``<field>.cursor``
rule, so strict mode refuses the batch and warn mode quarantines it (again on every run, until
the source is fixed, since no cursor can ever move past it).

The next cursor is the greatest cursor among the selected records, valid or quarantined: the
rejected ones are kept in the quarantine table, so moving past them loses nothing and keeps the
next run from rejecting them a second time.

:class:`CursorSelection` is the stage of the pipeline that does this batch by batch; reading
the committed cursor from a table is :func:`..iceberg.state.committed_cursor_value`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_dativo.config.asset import Asset, AssetField
from airflow_provider_dativo.config.loader import ResolvedJob
from airflow_provider_dativo.engine.checks.casting import parse_text
from airflow_provider_dativo.engine.checks.validation import ValidationReport, to_typed
from airflow_provider_dativo.engine.errors import ConfigError

CURSOR_RULE = "cursor"
"""Rule name (``<field>.cursor``) of records without a usable cursor value."""


@dataclass(frozen=True)
class CursorSpec:
    """The cursor field of an incremental job and its typed ``start`` (exclusive), if any."""

    field: AssetField
    start: pa.Scalar | None

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
    return CursorSpec(field=cursor, start=start)


@dataclass
class Selection:
    """The records a run handles: those beyond ``after`` plus those without a usable cursor."""

    records: pa.Table
    skipped: int
    """Records at or before ``after``: loaded by an earlier run (or before ``start``)."""


def select_newer(raw: pa.Table, spec: CursorSpec, after: pa.Scalar | None) -> Selection:
    """Keep the records of ``raw`` whose cursor is greater than ``after`` (or unusable)."""
    if after is None or raw.num_rows == 0:
        return Selection(raw, 0)
    typed, _ = to_typed(raw.column(spec.name), spec.field)
    keep = pc.fill_null(pc.or_kleene(pc.is_null(typed), pc.greater(typed, after)), True)
    records = raw.filter(keep)
    return Selection(records, raw.num_rows - records.num_rows)


def check_cursor_values(report: ValidationReport, spec: CursorSpec) -> None:
    """Fail the ``<field>.cursor`` rule for every selected record without a usable cursor."""
    report.add_failure(f"{spec.name}.{CURSOR_RULE}", pc.is_null(report.table.column(spec.name)))


def max_cursor(records: pa.Table, spec: CursorSpec) -> pa.Scalar | None:
    """The greatest cursor of ``records`` (typed); ``None`` when none has one."""
    if records.num_rows == 0:
        return None
    top = pc.max(records.column(spec.name))
    return top if top.is_valid else None


def newer_than(records: pa.Table, spec: CursorSpec, after: pa.Scalar | None) -> pa.Table:
    """Typed ``records`` whose cursor is greater than ``after`` (a cursor committed meanwhile)."""
    if after is None or records.num_rows == 0:
        return records
    return records.filter(pc.fill_null(pc.greater(records.column(spec.name), after), False))


def greater(a: pa.Scalar, b: pa.Scalar) -> bool:
    """``a > b`` for two typed cursor values."""
    return bool(pc.greater(a, b).as_py())


@dataclass
class CursorSelection:
    """The pipeline's cursor stage: selects each batch's records beyond ``after`` and keeps the
    greatest cursor of the records it let through (valid or not)."""

    spec: CursorSpec
    after: pa.Scalar | None
    """The committed cursor (or the job's ``start``); ``None`` selects everything."""
    top: pa.Scalar | None = None
    """The greatest cursor seen so far: what the run commits as its new cursor."""

    def select(self, raw: pa.Table) -> Selection:
        return select_newer(raw, self.spec, self.after)

    def check(self, report: ValidationReport) -> None:
        """Fail records without a usable cursor and move :attr:`top` past the others."""
        check_cursor_values(report, self.spec)
        batch_top = max_cursor(report.table, self.spec)
        if batch_top is not None and (self.top is None or greater(batch_top, self.top)):
            self.top = batch_top
