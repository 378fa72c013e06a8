"""The Iceberg schema of an asset: the table a job's first run creates.

Type names are read as in :mod:`..checks.schema` (the Arrow side), so the records a run
types and the table it writes to always agree. Timestamps are always UTC (``timestamptz``).
"""

from __future__ import annotations

from pyiceberg.schema import Schema
from pyiceberg.types import (
    BooleanType,
    DateType,
    DecimalType,
    DoubleType,
    IcebergType,
    IntegerType,
    LongType,
    NestedField,
    StringType,
    TimestamptzType,
)

from airflow_provider_dativo.config.asset import Asset, decimal_precision_scale

_ICEBERG_TYPES: dict[str, IcebergType] = {
    "string": StringType(),
    "int": IntegerType(),
    "long": LongType(),
    "double": DoubleType(),
    "boolean": BooleanType(),
    "date": DateType(),
    "timestamp": TimestamptzType(),
}


def iceberg_type(type_name: str) -> IcebergType:
    """The Iceberg type of an asset type name."""
    ps = decimal_precision_scale(type_name)
    if ps is not None:
        return DecimalType(*ps)
    return _ICEBERG_TYPES[type_name]


def iceberg_schema(asset: Asset) -> Schema:
    """Iceberg schema with field ids 1..n in asset order; required columns are ``required``."""
    return Schema(
        *(
            NestedField(
                field_id=i,
                name=f.name,
                field_type=iceberg_type(f.type),
                required=f.required,
                doc=f.description,
            )
            for i, f in enumerate(asset.fields, start=1)
        )
    )
