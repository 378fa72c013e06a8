"""The Arrow types records are checked and typed to, from an asset's type names.

The Iceberg side of the same mapping lives in :mod:`..iceberg.schema`; both read the type
names the same way, so the table created on the first run and the records written on every
run agree on types and on which columns are required.
"""

from __future__ import annotations

import pyarrow as pa

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


def arrow_type(type_name: str) -> pa.DataType:
    """The Arrow type of an asset type name (``string``, ``decimal(10,2)``...)."""
    ps = decimal_precision_scale(type_name)
    if ps is not None:
        return pa.decimal128(*ps)
    return _ARROW_TYPES[type_name]


def arrow_field(field: AssetField) -> pa.Field:
    return pa.field(field.name, arrow_type(field.type), nullable=not field.required)


def arrow_schema(asset: Asset) -> pa.Schema:
    """Asset columns in asset order; required columns are non-nullable."""
    return pa.schema([arrow_field(f) for f in asset.fields])
