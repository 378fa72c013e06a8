"""Check records against an asset's rules, vectorised, and keep per-rule counts of failures.

Validation turns the source's columns (text, or already typed) into the asset's types and
builds one failure mask per rule. A record is invalid when any rule fails; the counts per
``<field>.<rule>`` tell the user what to fix without dumping the records themselves, and the
masks themselves are kept so warn mode can say, record by record, why it was rejected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_dativo.config.asset import Asset, AssetField
from airflow_provider_dativo.engine.checks.casting import Column, parse_text
from airflow_provider_dativo.engine.checks.schema import arrow_type
from airflow_provider_dativo.engine.errors import ConfigError

RULES = ("required", "type", "pattern", "enum", "min", "max")
"""Rule names in the order they are checked and reported."""


@dataclass
class ValidationReport:
    """The typed records (nullable columns, invalid rows included) and what is wrong with them."""

    table: pa.Table
    invalid_mask: pa.Array
    invalid_by_rule: dict[str, int] = field(default_factory=dict)
    failure_masks: dict[str, Column] = field(default_factory=dict)
    """``<field>.<rule>`` -> null-free mask of the records that broke it (only rules that failed)."""

    @property
    def total(self) -> int:
        return self.table.num_rows

    @property
    def invalid(self) -> int:
        return int(pc.sum(self.invalid_mask).as_py() or 0)

    @property
    def valid(self) -> int:
        return self.total - self.invalid

    def valid_table(self) -> pa.Table:
        """Only the records that passed every rule."""
        if not self.invalid:
            return self.table
        return self.table.filter(pc.invert(self.invalid_mask))

    def add_failure(self, key: str, mask: Column) -> None:
        """Record a rule checked outside :func:`validate` (e.g. the incremental cursor's)."""
        mask = _nonnull(mask)
        count = int(pc.sum(mask).as_py() or 0)
        if not count:
            return
        self.invalid_by_rule[key] = count
        self.failure_masks[key] = mask
        combined = pc.or_(self.invalid_mask, mask)
        self.invalid_mask = combined.combine_chunks() if isinstance(combined, pa.ChunkedArray) else combined

    def summary(self) -> str:
        """``amount.min=2, email.pattern=1``: the rules that failed, in asset order."""
        return ", ".join(f"{key}={count}" for key, count in self.invalid_by_rule.items())


def _false_mask(length: int) -> pa.Array:
    return pa.repeat(pa.scalar(False), length)


def _nonnull(mask: Column) -> Column:
    return pc.fill_null(mask, False)


def to_typed(column: Column, asset_field: AssetField) -> tuple[Column, Column]:
    """Bring a source column to the field's type; returns ``(typed, type_failed)``."""
    target = arrow_type(asset_field.type)
    if pa.types.is_null(column.type):
        return pa.nulls(len(column), target), _false_mask(len(column))
    if column.type == target:
        return column, _false_mask(len(column))
    allow_nan = asset_field.allow_nan
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return parse_text(column, asset_field.type, allow_nan=allow_nan)
    # Typed but of another type (e.g. int64 for an int field): go through text so values that do
    # not fit fail row by row instead of failing the whole column.
    return parse_text(pc.cast(column, pa.string()), asset_field.type, allow_nan=allow_nan)


def _not_a_number(typed: Column, asset_field: AssetField) -> Column | None:
    """NaN and Infinity that arrived as typed doubles (JSON, Parquet) fail the type rule unless
    the field allows them; text is judged by the parser already."""
    if asset_field.type != "double" or asset_field.allow_nan:
        return None
    return _nonnull(pc.invert(pc.is_finite(typed)))


def _rule_value_set(asset_field: AssetField) -> pa.Array:
    """The enum values converted to the field's type with the same parser the data goes through."""
    texts = [_enum_text(v) for v in asset_field.enum or []]
    typed, failed = parse_text(pa.array(texts, pa.string()), asset_field.type)
    bad = [texts[i] for i, f in enumerate(failed.to_pylist()) if f or texts[i] is None]
    if bad:
        raise ConfigError(
            f"asset field {asset_field.name!r}: enum values {bad} are not valid {asset_field.type} values"
        )
    return typed


def _enum_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    return None if value is None else str(value)


def _bound_failures(typed: Column, asset_field: AssetField) -> dict[str, Column]:
    """``min``/``max`` failures (inclusive bounds); decimals are compared as doubles."""
    out: dict[str, Column] = {}
    values = pc.cast(typed, pa.float64()) if pa.types.is_decimal(typed.type) else typed
    if asset_field.min is not None:
        out["min"] = _nonnull(pc.less(values, pa.scalar(float(asset_field.min))))
    if asset_field.max is not None:
        out["max"] = _nonnull(pc.greater(values, pa.scalar(float(asset_field.max))))
    return out


def _pattern_failures(typed: Column, asset_field: AssetField) -> Column:
    try:
        matched = pc.match_substring_regex(typed, asset_field.pattern)
    except pa.ArrowInvalid as exc:
        raise ConfigError(
            f"asset field {asset_field.name!r}: pattern {asset_field.pattern!r} is not supported "
            f"(patterns use RE2 syntax: no look-around or back-references): {exc}"
        ) from None
    return pc.and_(pc.is_valid(typed), pc.invert(_nonnull(matched)))


def field_failures(
    column: Column, asset_field: AssetField, source_failed: Column | None = None
) -> tuple[Column, dict[str, Column]]:
    """The typed column and a null-free failure mask per rule that applies to the field;
    ``source_failed`` marks values the source already found of the wrong type."""
    typed, type_failed = to_typed(column, asset_field)
    for also_failed in (source_failed, _not_a_number(typed, asset_field)):
        if also_failed is not None and pc.any(also_failed).as_py():
            also_failed = _nonnull(also_failed)
            type_failed = pc.or_(type_failed, also_failed)
            typed = pc.if_else(also_failed, pa.scalar(None, typed.type), typed)  # no other rule on it
    failures: dict[str, Column] = {}
    if asset_field.required:
        failures["required"] = pc.is_null(column)
    failures["type"] = type_failed
    if asset_field.pattern is not None:
        failures["pattern"] = _pattern_failures(typed, asset_field)
    if asset_field.enum is not None:
        in_set = pc.is_in(typed, value_set=_rule_value_set(asset_field))
        failures["enum"] = pc.and_(pc.is_valid(typed), pc.invert(_nonnull(in_set)))
    failures.update(_bound_failures(typed, asset_field))
    return typed, failures


def validate(
    raw: pa.Table, asset: Asset, source_failures: dict[str, Column] | None = None
) -> ValidationReport:
    """Validate ``raw`` (one column per asset field, text or typed) against every rule;
    ``source_failures`` are the type failures the source noted per field
    (:func:`..batch_notes.split`)."""
    names = [f.name for f in asset.fields]
    columns: list[Column] = []
    invalid: Column = _false_mask(raw.num_rows)
    counts: dict[str, int] = {}
    masks: dict[str, Column] = {}
    noted = source_failures or {}
    for asset_field in asset.fields:
        typed, failures = field_failures(
            raw.column(asset_field.name), asset_field, noted.get(asset_field.name)
        )
        columns.append(typed)
        for rule in RULES:
            mask = failures.get(rule)
            if mask is None:
                continue
            count = int(pc.sum(mask).as_py() or 0)
            if count:
                counts[f"{asset_field.name}.{rule}"] = count
                masks[f"{asset_field.name}.{rule}"] = mask
                invalid = pc.or_(invalid, mask)
    chunked = [c if isinstance(c, pa.ChunkedArray) else pa.chunked_array([c]) for c in columns]
    table = pa.Table.from_arrays(chunked, names=names)
    if isinstance(invalid, pa.ChunkedArray):
        invalid = invalid.combine_chunks()
    return ValidationReport(table=table, invalid_mask=invalid, invalid_by_rule=counts, failure_masks=masks)
