"""Bring an existing table's schema up to the asset's, or refuse when that would lose data.

Assets change over time and tables outlive them, so a run compares the two by column name:

* a field the table lacks is added (optional fields always; a required one only while the table
  has no rows, since existing rows would have no value for it);
* a safe type promotion is applied: int -> long, float -> double, decimal(p,s) -> decimal(P,s)
  with P > p; every other type change is refused, because existing values (or new ones) would no
  longer fit;
* a column that is required in the table but optional in the asset is relaxed to optional
  (nothing can be lost by accepting nulls), the other way round the table stays optional and
  validation enforces the asset's rule;
* a table column the asset no longer has is refused: writing on would silently stop filling it,
  and dropping it would lose its data.

The check runs before anything is written; the changes are applied inside the same transaction
as the data, so a table never ends up with a new schema but without the run's records.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyiceberg.schema import Schema
from pyiceberg.table import Table, Transaction
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.types import (
    DecimalType,
    DoubleType,
    FloatType,
    IcebergType,
    IntegerType,
    LongType,
    NestedField,
)

from airflow_provider_dativo.engine.errors import SchemaIncompatible
from airflow_provider_dativo.engine.iceberg.layout import Layout, apply_layout, identifier_fields
from airflow_provider_dativo.engine.iceberg.tables import has_rows

SAFE_PROMOTIONS = "int -> long, float -> double, decimal(p,s) -> decimal(P,s) with P > p"


@dataclass(frozen=True)
class SchemaChange:
    """One change the table needs: ``add`` a column, ``promote`` its type, or ``relax`` it to optional."""

    kind: str
    field: NestedField

    def describe(self) -> str:
        if self.kind == "add":
            required = "required" if self.field.required else "optional"
            return f"add {required} column {self.field.name!r} ({self.field.field_type})"
        if self.kind == "promote":
            return f"promote column {self.field.name!r} to {self.field.field_type}"
        return f"make column {self.field.name!r} optional"


def _is_safe_promotion(old: IcebergType, new: IcebergType) -> bool:
    if isinstance(old, IntegerType) and isinstance(new, LongType):
        return True
    if isinstance(old, FloatType) and isinstance(new, DoubleType):
        return True
    return (
        isinstance(old, DecimalType)
        and isinstance(new, DecimalType)
        and old.scale == new.scale
        and new.precision > old.precision
    )


def plan_changes(
    table_schema: Schema, asset_schema: Schema, *, table_has_rows: bool, table_name: str, asset_name: str
) -> list[SchemaChange]:
    """The changes that make ``table_schema`` accept records of ``asset_schema``.

    Raises :class:`SchemaIncompatible` naming every column that cannot change safely.
    """
    table_fields = {f.name: f for f in table_schema.fields}
    asset_fields = {f.name: f for f in asset_schema.fields}
    changes: list[SchemaChange] = []
    problems: list[str] = []
    for name, wanted in asset_fields.items():
        current = table_fields.get(name)
        if current is None:
            if wanted.required and table_has_rows:
                problems.append(
                    f"new column {name!r} ({wanted.field_type}) is required but the table already has "
                    "rows, which would have no value for it: make the field optional (required: false) "
                    "or write to a new table"
                )
            else:
                changes.append(SchemaChange("add", wanted))
            continue
        if current.field_type != wanted.field_type:
            if _is_safe_promotion(current.field_type, wanted.field_type):
                changes.append(SchemaChange("promote", wanted))
            else:
                problems.append(
                    f"column {name!r} cannot change type from {current.field_type} to "
                    f"{wanted.field_type}: values could be lost (safe changes: {SAFE_PROMOTIONS})"
                )
        if current.required and not wanted.required:
            changes.append(SchemaChange("relax", current))
    for name, current in table_fields.items():
        if name not in asset_fields:
            problems.append(
                f"column {name!r} ({current.field_type}) is not in the asset; dropping a column is "
                "not supported (its data would be lost): add the field back to the asset as optional, "
                "or write to a new table"
            )
    if problems:
        raise SchemaIncompatible(
            f"table {table_name} does not fit asset {asset_name!r}, nothing was written: "
            + "; ".join(problems)
        )
    return changes


def changes_for(table: Table, asset_schema: Schema, asset_name: str) -> list[SchemaChange]:
    """What ``table``, as it is now, needs to take records of the asset: planned before any
    record is read (an incompatible table fails the run first) and again on every commit attempt."""
    return plan_changes(
        table.schema(),
        asset_schema,
        table_has_rows=has_rows(table),
        table_name=".".join(table.name()),
        asset_name=asset_name,
    )


def evolved_metadata(
    table: Table, changes: list[SchemaChange], layout: Layout | None = None
) -> TableMetadata:
    """``table``'s metadata with ``changes`` and the declared ``layout`` applied (in a transaction
    that is never committed): what the run's data files are written for."""
    if not changes and layout is None:
        return table.metadata
    txn = table.transaction()
    apply_changes(txn, changes, layout)
    if layout is not None:
        apply_layout(txn, layout)
    return txn.table_metadata


def apply_changes(txn: Transaction, changes: list[SchemaChange], layout: Layout | None = None) -> None:
    """Stage ``changes`` in ``txn`` (one schema update, committed with the data), with the
    identifier fields the ``layout``'s merge keys give the changed schema (``None``: the
    identifier fields stay as they are)."""
    identifiers = None if layout is None else _identifiers_after(txn.table_metadata.schema(), changes, layout)
    if not changes and identifiers is None:
        return
    # A required column may only be added while the table has no rows (checked by plan_changes);
    # pyiceberg cannot tell and refuses it unless incompatible changes are allowed.
    needs_permission = any(c.kind == "add" and c.field.required for c in changes)
    with txn.update_schema(allow_incompatible_changes=needs_permission) as update:
        for change in changes:
            if change.kind == "add":
                update.add_column(
                    change.field.name,
                    change.field.field_type,
                    doc=change.field.doc,
                    required=change.field.required,
                )
            elif change.kind == "promote":
                update.update_column(change.field.name, field_type=change.field.field_type)
            else:
                update.make_column_optional(change.field.name)
        if identifiers is not None:
            update.set_identifier_fields(*identifiers)


def _identifiers_after(schema: Schema, changes: list[SchemaChange], layout: Layout) -> list[str] | None:
    """The identifier fields the table gets, or ``None`` when they stay as they are. Only added
    and relaxed columns matter: a type promotion keeps a column fit or unfit."""
    fields = {f.name: f for f in schema.fields}
    for change in changes:
        if change.kind == "add":
            fields[change.field.name] = change.field
        elif change.kind == "relax":
            old = fields[change.field.name]
            fields[old.name] = NestedField(old.field_id, old.name, old.field_type, required=False)
    wanted, _ = identifier_fields(layout, Schema(*fields.values()))
    if sorted(wanted) == sorted(schema.identifier_field_names()):
        return None
    return wanted
