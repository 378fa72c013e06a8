"""What a source may note on a record batch besides its asset columns, and how to read it back.

* **Origin**: the file the rows come from and where each row is in it (the line of a JSON Lines
  file, the record number of a CSV or Parquet file), so an error about an invalid record can
  name the file, the line and the field. Kept in the schema metadata (filters keep it).
* **Type failures found by the source**: a value the source already knows is not of the
  field's type although its text might parse (a JSON string where the file's earlier rows held
  numbers, an object for a scalar field). Kept as one boolean column per such field, after the
  asset columns, so cursor selection filters them with their rows; :func:`split` takes them off
  before validation, which counts them under the field's ``type`` rule.

Sources that note nothing yield plain asset-shaped tables; every reader of notes accepts those.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

ORIGIN_KEY = b"dativo.origin"
TYPE_FAILED_PREFIX = "__dativo_type_failed__"
POSITION = "__dativo_position__"


@dataclass(frozen=True)
class Origin:
    """Where the rows of one batch come from: row ``i`` is at ``first + i`` in ``unit``s of
    ``path``, skipping the blank lines listed in ``skipped`` (absolute line numbers)."""

    path: str
    unit: str
    """``line`` (JSON Lines) or ``record`` (CSV, Parquet: the data record's number)."""
    first: int
    skipped: tuple[int, ...] = field(default=())

    def position(self, row: int) -> int:
        position = self.first + row
        for blank in self.skipped:
            if blank <= position:
                position += 1
        return position

    def locate(self, row: int) -> str:
        """``data/orders.jsonl, line 7``."""
        return f"{self.path}, {self.unit} {self.position(row)}"


def with_origin(table: pa.Table, origin: Origin) -> pa.Table:
    text = json.dumps([origin.path, origin.unit, origin.first, list(origin.skipped)])
    metadata = {**(table.schema.metadata or {}), ORIGIN_KEY: text.encode()}
    return table.replace_schema_metadata(metadata)


def origin_of(table: pa.Table) -> Origin | None:
    raw = (table.schema.metadata or {}).get(ORIGIN_KEY)
    if raw is None:
        return None
    path, unit, first, skipped = json.loads(raw)
    return Origin(path, unit, first, tuple(skipped))


def with_type_failures(table: pa.Table, failures: dict[str, pa.Array]) -> pa.Table:
    """``table`` with a mask column for each field that has a failed row."""
    for name, mask in failures.items():
        if pc.any(mask).as_py():
            table = table.append_column(f"{TYPE_FAILED_PREFIX}{name}", mask)
    return table


def split(table: pa.Table) -> tuple[pa.Table, dict[str, pa.ChunkedArray]]:
    """The asset columns, and the source's type failure mask per field (only fields with some)."""
    notes = [n for n in table.column_names if n.startswith(TYPE_FAILED_PREFIX)]
    if not notes:
        return table, {}
    failures = {n.removeprefix(TYPE_FAILED_PREFIX): table.column(n) for n in notes}
    return table.drop_columns(notes), failures


def with_positions(table: pa.Table) -> pa.Table:
    """``table`` with each row's position (0, 1, ...), to find rows again after a filter."""
    ones = pa.nulls(table.num_rows, pa.int64()).fill_null(1)
    return table.append_column(POSITION, pc.subtract(pc.cumulative_sum(ones), 1))


def take_positions(table: pa.Table) -> tuple[pa.Table, pa.ChunkedArray | None]:
    """``table`` without the positions :func:`with_positions` added, and the positions."""
    if POSITION not in table.column_names:
        return table, None
    return table.drop_columns([POSITION]), table.column(POSITION)
