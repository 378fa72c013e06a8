"""Arrow columns as plain, comparable Python values, for tests that compare two typings."""

from __future__ import annotations

import math
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc


def comparable(column: pa.Array | pa.ChunkedArray) -> list[object]:
    """Values as plain data: timestamps and dates as integers (year 0 has no Python date), NaN
    as the string ``"NaN"`` (NaN != NaN) and decimals as their text (scale included)."""
    if pa.types.is_timestamp(column.type):
        column = pc.cast(column, pa.int64())
    elif pa.types.is_date32(column.type):
        column = pc.cast(column, pa.int32())
    return [
        "NaN" if isinstance(v, float) and math.isnan(v) else str(v) if isinstance(v, Decimal) else v
        for v in column.to_pylist()
    ]
