"""The table layout a job declares, on the Iceberg table: partition spec, sort order and
identifier fields.

* When the run creates the table, the layout is part of the creating commit (:mod:`.creation`).
* When the job file changes it later, the commit's transaction evolves the table: a new
  partition spec (``update_spec``: fields removed and added, the old spec and the files
  written for it stay as they are) and a new sort order (``update_sort_order``). What changed
  is reported (:class:`LayoutChange`, the ``table_layout_evolved`` event).
* Every data file the engine writes honours both: pyiceberg's writer splits the records by
  the table's partition spec, but ignores the sort order (iceberg-python #3848), so
  :func:`sort_records` sorts each file's records first. Written here because no library
  sorts Arrow records by an Iceberg sort order.

``merge_keys`` become the table's identifier fields when Iceberg allows it: identifier fields
must be required columns and not floating point. A merge key the asset declares optional is
left out (the run says so); merge still refuses null keys at run time, so the keys are
usable either way, but only required ones are recorded in the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.partitioning import UNPARTITIONED_PARTITION_SPEC, PartitionSpec
from pyiceberg.partitioning import PartitionField as IcebergPartitionField
from pyiceberg.schema import Schema
from pyiceberg.table import Transaction
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.table.sorting import UNSORTED_SORT_ORDER, NullOrder, SortDirection, SortOrder
from pyiceberg.table.sorting import SortField as IcebergSortField
from pyiceberg.transforms import (
    BucketTransform,
    DayTransform,
    HourTransform,
    IdentityTransform,
    MonthTransform,
    Transform,
    TruncateTransform,
    VoidTransform,
    YearTransform,
)
from pyiceberg.types import DoubleType, FloatType, IcebergType

from airflow_provider_dativo.config.layout import PartitionField, SortField
from airflow_provider_dativo.engine.errors import WriteError

_TIME: dict[str, type[Transform[Any, Any]]] = {
    "year": YearTransform,
    "month": MonthTransform,
    "day": DayTransform,
    "hour": HourTransform,
}
PARTITION_FIELD_ID_START = 1000
"""Iceberg's first partition field id."""


@dataclass(frozen=True)
class Layout:
    """What the job file declares: ``partition_by``, ``sort_by`` (parsed) and ``merge_keys``."""

    partition: tuple[PartitionField, ...] = ()
    sort: tuple[SortField, ...] = ()
    merge_keys: tuple[str, ...] = ()

    @classmethod
    def of(cls, partition: list[PartitionField], sort: list[SortField], merge_keys: list[str]) -> Layout:
        return cls(tuple(partition), tuple(sort), tuple(merge_keys))


NO_LAYOUT = Layout()


def _transform(field: PartitionField) -> Transform[Any, Any]:
    if field.transform == "identity":
        return IdentityTransform()
    if field.transform == "bucket":
        return BucketTransform(num_buckets=field.param or 1)
    if field.transform == "truncate":
        return TruncateTransform(width=field.param or 1)
    return _TIME[field.transform]()


def _column_id(schema: Schema, column: str) -> int:
    try:
        return schema.find_field(column).field_id
    except ValueError:
        raise WriteError(f"table layout names column {column!r}, which the table does not have") from None


def partition_spec(layout: Layout, schema: Schema) -> PartitionSpec:
    """The partition spec of a new table (field ids are given by the catalog anew)."""
    if not layout.partition:
        return UNPARTITIONED_PARTITION_SPEC
    return PartitionSpec(
        *(
            IcebergPartitionField(
                source_id=_column_id(schema, f.column),
                field_id=PARTITION_FIELD_ID_START + i,
                transform=_transform(f),
                name=f.name,
            )
            for i, f in enumerate(layout.partition)
        )
    )


def _direction(field: SortField) -> tuple[SortDirection, NullOrder]:
    return (
        SortDirection.DESC if field.descending else SortDirection.ASC,
        NullOrder.NULLS_FIRST if field.nulls_first else NullOrder.NULLS_LAST,
    )


def _sort_field(field: SortField, schema: Schema) -> IcebergSortField:
    direction, null_order = _direction(field)
    return IcebergSortField(
        source_id=_column_id(schema, field.column),
        transform=IdentityTransform(),
        direction=direction,
        null_order=null_order,
    )


def sort_order(layout: Layout, schema: Schema) -> SortOrder:
    """The sort order of a new table."""
    if not layout.sort:
        return UNSORTED_SORT_ORDER
    return SortOrder(*(_sort_field(f, schema) for f in layout.sort))


def identifier_fields(layout: Layout, schema: Schema) -> tuple[list[str], str | None]:
    """The merge keys that become identifier fields in a table of ``schema``, and why none do
    (``None`` when all of them do, or there are none)."""
    if not layout.merge_keys:
        return [], None
    unfit = []
    for name in layout.merge_keys:
        try:
            column = schema.find_field(name)
        except ValueError:
            unfit.append(f"{name!r} is not a column")
            continue
        if not column.required:
            unfit.append(f"{name!r} is optional (set required: true in the asset)")
        elif isinstance(column.field_type, (FloatType, DoubleType)):
            unfit.append(f"{name!r} is floating point")
    if unfit:
        return [], (
            f"merge_keys are not recorded as the table's identifier fields, which must be required, "
            f"non-floating-point columns: {'; '.join(unfit)}. Merge works the same (null keys are refused)."
        )
    return list(layout.merge_keys), None


def with_identifier_fields(schema: Schema, layout: Layout) -> Schema:
    """``schema`` with the merge keys as identifier fields, where they qualify."""
    names, _ = identifier_fields(layout, schema)
    return Schema(*schema.fields, identifier_field_ids=[schema.find_field(n).field_id for n in names])


# --- describing and evolving an existing table's layout ------------------------------------


def _partition_text(field: IcebergPartitionField, schema: Schema) -> str | None:
    column = schema.find_column_name(field.source_id) or f"<field {field.source_id}>"
    transform = field.transform
    if isinstance(transform, VoidTransform):
        return None
    if isinstance(transform, IdentityTransform):
        return column
    if isinstance(transform, BucketTransform):
        return f"bucket({transform.num_buckets}, {column})"
    if isinstance(transform, TruncateTransform):
        return f"truncate({transform.width}, {column})"
    return f"{transform}({column})"


def _sort_text(field: IcebergSortField, schema: Schema) -> str:
    column = schema.find_column_name(field.source_id) or f"<field {field.source_id}>"
    if not isinstance(field.transform, IdentityTransform):
        column = f"{field.transform}({column})"
    direction = "desc" if field.direction == SortDirection.DESC else "asc"
    nulls = "first" if field.null_order == NullOrder.NULLS_FIRST else "last"
    return f"{column} {direction} nulls {nulls}"


def describe(metadata: TableMetadata) -> dict[str, list[str]]:
    """The table's current layout in the job file's syntax (for comparison and for events)."""
    schema = metadata.schema()
    partition = [text for f in metadata.spec().fields if (text := _partition_text(f, schema))]
    return {
        "partition_by": partition,
        "sort_by": [_sort_text(f, schema) for f in metadata.sort_order().fields],
        "identifier_fields": sorted(schema.identifier_field_names()),
    }


@dataclass
class LayoutChange:
    """A layout evolution staged in a commit: the table's layout before and after."""

    before: dict[str, list[str]]
    after: dict[str, list[str]]

    def describe(self) -> str:
        parts = [
            f"{key} {self.before[key]} -> {self.after[key]}"
            for key in self.after
            if self.before.get(key) != self.after[key]
        ]
        return "; ".join(parts)


def apply_layout(txn: Transaction, layout: Layout) -> None:
    """Stage in ``txn`` what makes the table's partition spec and sort order the declared ones
    (nothing when they already are). Partition fields are compared as a set: evolution keeps
    the fields that stay, so their order may differ from the job file's."""
    metadata = txn.table_metadata
    schema = metadata.schema()
    current = {text: f for f in metadata.spec().fields if (text := _partition_text(f, schema))}
    wanted = {str(f): f for f in layout.partition}
    if set(current) != set(wanted):
        with txn.update_spec() as update:
            for text, old in current.items():
                if text not in wanted:
                    update.remove_field(old.name)
            for text, new in wanted.items():
                if text not in current:
                    update.add_field(new.column, _transform(new), new.name)
    have_sort = [_sort_text(f, schema) for f in metadata.sort_order().fields]
    if have_sort != [str(f) for f in layout.sort]:
        with txn.update_sort_order() as update:
            for f in layout.sort:
                direction, nulls = _direction(f)
                add = update.desc if direction == SortDirection.DESC else update.asc
                add(f.column, IdentityTransform(), nulls)


def same_layout(a: TableMetadata, b: TableMetadata) -> bool:
    """Whether data files written for ``a`` fit ``b``: same schema, partition spec and sort order."""
    return (
        a.schema().as_struct() == b.schema().as_struct()
        and a.default_spec_id == b.default_spec_id
        and a.spec().fields == b.spec().fields
        and a.sort_order().fields == b.sort_order().fields
    )


# --- sorting records by the table's sort order ---------------------------------------------


def sort_records(records: pa.Table, metadata: TableMetadata) -> pa.Table:
    """``records`` in the table's sort order (each field's transform, direction and null
    placement); unchanged when the table has none. pyarrow places nulls once for all keys, so
    each field sorts first on whether the value is null, then on the value. Stable, so records
    equal on every key keep their input order. pyiceberg ignores sort orders on write: every
    data file dativo writes (loads, rewrites, compaction) is sorted here."""
    order = metadata.sort_order()
    if order.is_unsorted or records.num_rows < 2:
        return records
    schema = metadata.schema()
    keys: list[tuple[str, str]] = []
    helper = records
    for index, sort_field in enumerate(order.fields):
        source = schema.find_field(sort_field.source_id)
        if source.name not in records.column_names:
            continue  # a nested sort key (set outside dativo): left to the other keys
        values = _sort_values(sort_field.transform, source.field_type, records.column(source.name))
        ascending = sort_field.direction == SortDirection.ASC
        nulls_first = sort_field.null_order == NullOrder.NULLS_FIRST
        helper = helper.append_column(f"__dativo_null_{index}", pc.is_null(values))
        helper = helper.append_column(f"__dativo_sort_{index}", values)
        keys.append((f"__dativo_null_{index}", "descending" if nulls_first else "ascending"))
        keys.append((f"__dativo_sort_{index}", "ascending" if ascending else "descending"))
    if not keys:
        return records
    return records.take(pc.sort_indices(helper, sort_keys=keys))


_TIME_UNITS = {YearTransform: "year", MonthTransform: "month", DayTransform: "day", HourTransform: "hour"}


def _sort_values(transform: Transform[Any, Any], source_type: IcebergType, values: pa.ChunkedArray) -> Any:
    """The values a sort field orders by: the column itself for ``identity``; for the time
    transforms, the value cut to the year, month, day or hour (Arrow's ``floor_temporal``: the
    same order as the transform's numbers); otherwise pyiceberg's own transform (``bucket`` and
    ``truncate``, through ``pyiceberg-core``)."""
    if isinstance(transform, IdentityTransform):
        return values
    unit = _TIME_UNITS.get(type(transform))
    if unit is not None:
        return pc.floor_temporal(values, unit=unit)
    return transform.pyarrow_transform(source_type)(values)
