"""Asset -> Arrow / Iceberg schemas."""

from __future__ import annotations

import pyarrow as pa
from pyiceberg.types import DecimalType, IntegerType, LongType, StringType, TimestamptzType

from airflow_provider_dativo.config.asset import Asset
from airflow_provider_dativo.engine.checks.schema import arrow_schema
from airflow_provider_dativo.engine.iceberg.schema import iceberg_schema

ASSET = Asset.model_validate(
    {
        "name": "t",
        "fields": [
            {"name": "id", "type": "long", "required": True},
            {"name": "n", "type": "int"},
            {"name": "s", "type": "string"},
            {"name": "amount", "type": "decimal(12, 3)"},
            {"name": "at", "type": "timestamp", "required": True},
            {"name": "d", "type": "date"},
            {"name": "b", "type": "boolean"},
            {"name": "x", "type": "double"},
        ],
    }
)


def test_arrow_schema_types_and_nullability() -> None:
    schema = arrow_schema(ASSET)
    assert schema.names == ["id", "n", "s", "amount", "at", "d", "b", "x"]
    assert schema.types == [
        pa.int64(),
        pa.int32(),
        pa.string(),
        pa.decimal128(12, 3),
        pa.timestamp("us", tz="UTC"),
        pa.date32(),
        pa.bool_(),
        pa.float64(),
    ]
    assert [f.nullable for f in schema] == [False, True, True, True, False, True, True, True]


def test_iceberg_schema_ids_types_required() -> None:
    schema = iceberg_schema(ASSET)
    fields = schema.fields
    assert [f.field_id for f in fields] == list(range(1, 9))
    assert fields[0].field_type == LongType() and fields[0].required
    assert fields[1].field_type == IntegerType() and not fields[1].required
    assert fields[2].field_type == StringType()
    assert fields[3].field_type == DecimalType(12, 3)
    assert fields[4].field_type == TimestamptzType() and fields[4].required
