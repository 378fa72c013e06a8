"""Translate an asset into the Arrow schema data is validated to and the Iceberg schema of its table.

Both come from one mapping so the table created on the first run and the data written on every
run always agree on types and on which columns are required.
"""

from __future__ import annotations

import pyarrow as pa
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

from airflow_provider_dativo.config.asset import Asset, AssetField, decimal_precision_scale

_ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int": pa.int32(),
    "long": pa.int64(),
    "double": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}

_ICEBERG_TYPES: dict[str, IcebergType] = {
    "string": StringType(),
    "int": IntegerType(),
    "long": LongType(),
    "double": DoubleType(),
    "boolean": BooleanType(),
    "date": DateType(),
    "timestamp": TimestamptzType(),
}


def arrow_type(type_name: str) -> pa.DataType:
    """The Arrow type of an asset type name (``string``, ``decimal(10,2)``...)."""
    ps = decimal_precision_scale(type_name)
    if ps is not None:
        return pa.decimal128(*ps)
    return _ARROW_TYPES[type_name]


def iceberg_type(type_name: str) -> IcebergType:
    """The Iceberg type of an asset type name; timestamps are always UTC (``timestamptz``)."""
    ps = decimal_precision_scale(type_name)
    if ps is not None:
        return DecimalType(*ps)
    return _ICEBERG_TYPES[type_name]


def arrow_field(field: AssetField) -> pa.Field:
    return pa.field(field.name, arrow_type(field.type), nullable=not field.required)


def arrow_schema(asset: Asset) -> pa.Schema:
    """Asset columns in asset order; required columns are non-nullable."""
    return pa.schema([arrow_field(f) for f in asset.fields])


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
