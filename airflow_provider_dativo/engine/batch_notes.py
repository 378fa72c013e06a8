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
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

ORIGIN_KEY = b"dativo.origin"
TYPE_FAILED_PREFIX = "__dativo_type_failed__"
POSITION = "__dativo_position__"


@dataclass(frozen=True)
class Origin:
    """Where the rows of one batch come from: for ``record`` units, row ``i`` is record
    ``first + i`` of ``path``; for ``line`` units (JSON Lines), ``first`` is the byte offset of
    the batch in the file and row ``i`` its ``i``-th non-blank line from there. Line numbers
    are worked out only when asked for (an error names one record), so reading never counts
    lines."""

    path: str
    unit: str
    """``line`` (JSON Lines) or ``record`` (CSV, Parquet: the data record's number)."""
    first: int

    def position(self, row: int) -> int:
        if self.unit == "record":
            return self.first + row
        return line_of_row(Path(self.path), self.first, row)

    def locate(self, row: int) -> str:
        """``data/orders.jsonl, line 7``."""
        return f"{self.path}, {self.unit} {self.position(row)}"


_BLOCK = 16 << 20


def line_at(path: Path, offset: int) -> int:
    """The 1-based number of the line starting at byte ``offset`` of ``path``."""
    lines, done = 1, 0
    with open(path, "rb") as stream:
        while done < offset:
            block = stream.read(min(_BLOCK, offset - done))
            if not block:
                break
            lines += block.count(b"\n")
            done += len(block)
    return lines


def line_of_row(path: Path, offset: int, row: int) -> int:
    """The line of the ``row``-th (0-based) non-blank line at or after byte ``offset``."""
    line = line_at(path, offset)
    seen = -1
    with open(path, "rb") as stream:
        stream.seek(offset)
        for raw in stream:
            if raw.strip():
                seen += 1
                if seen == row:
                    return line
            line += 1
    return line


def with_origin(table: pa.Table, origin: Origin) -> pa.Table:
    text = json.dumps([origin.path, origin.unit, origin.first])
    metadata = {**(table.schema.metadata or {}), ORIGIN_KEY: text.encode()}
    return table.replace_schema_metadata(metadata)


def origin_of(table: pa.Table) -> Origin | None:
    raw = (table.schema.metadata or {}).get(ORIGIN_KEY)
    if raw is None:
        return None
    path, unit, first = json.loads(raw)
    return Origin(path, unit, first)


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
