"""Bring a database driver's typed Arrow columns to the asset's types, without losing a value.

A column that already has the field's type passes untouched. Lossless conversions are done
here at Arrow speed: integers to wider integers, floats to double, dates and timestamps to the
asset's UTC microsecond timestamp (a timestamp without time zone is read as UTC, the session's
time zone), anything to text for a ``string`` field. ``numeric`` comes from the PostgreSQL
driver as text: for a ``decimal`` field it is cast directly when every value fits the
precision and scale. Whatever cannot be converted losslessly is handed to validation as text,
so a value that does not fit fails its own record under the ``type`` rule instead of the load.

Columns whose type can never become the field's (a ``bytea`` into a ``long``) fail the load
with the column, both types and a hint to cast in ``query``.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_dativo.config.asset import AssetField
from airflow_provider_dativo.engine.checks.schema import arrow_type
from airflow_provider_dativo.engine.errors import SourceError

Column = pa.Array | pa.ChunkedArray
PG_TYPE_KEY = b"POSTGRESQL:type"


def _numeric(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)


def _temporal(t: pa.DataType) -> bool:
    return pa.types.is_timestamp(t) or pa.types.is_date(t)


def _text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def _compatible(source: pa.DataType, field_type: str) -> bool:
    """Whether values of ``source`` can be values of ``field_type`` at all."""
    if field_type == "string" or _text(source) or pa.types.is_null(source):
        return True
    if field_type == "boolean":
        return pa.types.is_boolean(source)
    if field_type in ("date", "timestamp"):
        return _temporal(source)
    return _numeric(source)  # int, long, double, decimal(p,s)


def _plain(column: Column) -> Column:
    """Extension columns (``numeric``, ``json``, ``uuid``) as their plain storage (text for
    ``uuid``: its canonical form)."""
    if not isinstance(column.type, pa.BaseExtensionType):
        return column
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    if column.type.extension_name == "arrow.uuid":
        return pa.array([None if v is None else str(v) for v in column.to_pylist()], pa.string())
    return pa.chunked_array([chunk.storage for chunk in chunks], column.type.storage_type)


def conform_column(column: Column, field: pa.Field, asset_field: AssetField, where: str) -> Column:
    """``column`` (read as ``field``) brought to ``asset_field``'s type where lossless, else
    left for validation; incompatible types raise :class:`SourceError`."""
    column = _plain(column)
    source = column.type
    target = arrow_type(asset_field.type)
    if source == target or pa.types.is_null(source):
        return column
    if not _compatible(source, asset_field.type):
        db_type = (field.metadata or {}).get(PG_TYPE_KEY, str(source).encode()).decode()
        raise SourceError(
            f"{where}: column {field.name!r} is {db_type}, which cannot hold {asset_field.type} values "
            f"of field {asset_field.name!r}; cast it in source.query"
        )
    if _text(source) and not pa.types.is_decimal(target):
        return column  # validation parses text with the same rules as for CSV
    try:
        return pc.cast(column, target, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        # Out of range, too many digits, a date cast that loses time: validation decides
        # per record, from text.
        return pc.cast(column, pa.string()) if not _text(source) else column
