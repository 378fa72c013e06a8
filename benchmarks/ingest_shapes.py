"""The data shapes of the ingest throughput benchmark: what real exports look like, one at a time.

Each shape is a list of columns; each column knows its asset type, the exact Arrow type a bare
reader parses its text into, how JSON Lines writes it (a number, a boolean or a string) and how
to generate its values, vectorised and seeded (no per-row Python), ``None`` meaning empty.
:func:`write_shape` writes a shape as CSV and as JSON Lines with its asset and one job per
format, in the layout of a deployment.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

SEED = 20261206
EMPTY_SHARE = 0.2
"""Share of empty values in the columns of the ``empties`` and ``mixed`` shapes."""
NAMES = [
    "Ada Lovelace", "Alan Turing", "Grace Hopper", "Linus Torvalds", "Barbara Liskov",
    "Ken Thompson", "Margaret Hamilton", "Guido van Rossum", "Tim Berners-Lee", "Hedy Lamarr",
]  # fmt: skip
ZONES = ["Z", "+01:00", "-05:00", "+05:30", "+00:00"]

Text = Callable[[int, int], pa.Array]
"""``(rows, seed) -> text values`` (null where the value is empty)."""


def uniform_ints(rows: int, low: int, high: int, seed: int) -> pa.Array:
    """``rows`` pseudo-random integers in ``[low, high)``, vectorised."""
    scaled = pc.floor(pc.multiply(pc.random(rows, initializer=seed), high - low))
    return pc.add(pc.cast(scaled, pa.int64()), low)


def pick(values: list[str], rows: int, seed: int) -> pa.Array:
    return pc.take(pa.array(values), uniform_ints(rows, 0, len(values), seed))


def _instants(rows: int, seed: int) -> pa.Array:
    """Random microsecond instants in 2020-2025, as zone-less timestamps."""
    start = int(dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc).timestamp() * 1_000_000)
    span = 6 * 365 * 24 * 3600 * 1_000_000
    return pc.cast(uniform_ints(rows, start, start + span, seed), pa.timestamp("us"))


def _seconds_text(instants: pa.Array, separator: str = "T") -> pa.Array:
    whole = pc.cast(instants, pa.timestamp("s"), safe=False)
    return pc.strftime(whole, format=f"%Y-%m-%d{separator}%H:%M:%S")


def timestamps_t(rows: int, seed: int) -> pa.Array:
    """``2024-01-02T03:04:05``: no zone, seconds (the most common export shape)."""
    return _seconds_text(_instants(rows, seed))


def timestamps_space_micros(rows: int, seed: int) -> pa.Array:
    """``2024-01-02 03:04:05.123456``: no zone, a space, microseconds (databases' text form)."""
    return pc.cast(_instants(rows, seed), pa.string())


def timestamps_zoned(rows: int, seed: int) -> pa.Array:
    """``2024-01-02T03:04:05Z`` / ``...05.123+05:30``: zoned, half with milliseconds."""
    instants = _instants(rows, seed)
    millis = pc.strftime(pc.cast(instants, pa.timestamp("ms"), safe=False), format="%Y-%m-%dT%H:%M:%S")
    base = pc.if_else(pc.equal(uniform_ints(rows, 0, 2, seed + 1), 0), _seconds_text(instants), millis)
    return pc.binary_join_element_wise(base, pick(ZONES, rows, seed + 2), "")


def dates(rows: int, seed: int) -> pa.Array:
    return pc.strftime(pc.cast(_instants(rows, seed), pa.timestamp("s"), safe=False), format="%Y-%m-%d")


def decimals(rows: int, seed: int) -> pa.Array:
    """decimal(12,2) text, signed: ``-1234567.89`` .. ``9999999.99``."""
    cents = uniform_ints(rows, -100_000_000, 1_000_000_000, seed)
    magnitude = pc.abs(cents)
    whole = pc.cast(pc.divide(magnitude, 100), pa.string())
    fraction = pc.utf8_lpad(
        pc.cast(pc.subtract(magnitude, pc.multiply(pc.divide(magnitude, 100), 100)), pa.string()), 2, "0"
    )
    text = pc.binary_join_element_wise(whole, fraction, ".")
    return pc.if_else(pc.less(cents, 0), pc.binary_join_element_wise("-", text, ""), text)


def booleans(rows: int, seed: int) -> pa.Array:
    return pick(["true", "false"], rows, seed)


def signed_ints(rows: int, seed: int) -> pa.Array:
    return pc.cast(uniform_ints(rows, -(10**12), 10**12, seed), pa.string())


def doubles(rows: int, seed: int) -> pa.Array:
    """Shortest round-trip text of doubles of either sign (``-73421.55012378``, ``1e-05``)."""
    values = pc.multiply(pc.subtract(pc.random(rows, initializer=seed), 0.5), 2e6)
    return pc.cast(values, pa.string())


def names(rows: int, seed: int) -> pa.Array:
    return pick(NAMES, rows, seed)


def emails(rows: int, seed: int) -> pa.Array:
    ids = pc.cast(uniform_ints(rows, 0, 10**9, seed), pa.string())
    return pc.binary_join_element_wise("customer.", ids, "@example.com", "")


def ids(rows: int, seed: int) -> pa.Array:
    """1, 2, ..., rows."""
    return pc.cast(pc.cumulative_sum(pa.nulls(rows, pa.int64()).fill_null(1)), pa.string())


def with_empties(text: Text) -> Text:
    """``text`` with about :data:`EMPTY_SHARE` of its values empty."""

    def generate(rows: int, seed: int) -> pa.Array:
        empty = pc.less(pc.random(rows, initializer=seed + 7919), EMPTY_SHARE)
        return pc.if_else(empty, pa.scalar(None, pa.string()), text(rows, seed))

    return generate


@dataclass(frozen=True)
class Column:
    name: str
    asset_type: str
    read_type: pa.DataType
    """The exact type a bare reader parses the text into (zone-less timestamps: without zone)."""
    json: str
    """How JSON Lines writes the value: ``number``, ``bool`` or ``string``."""
    text: Text
    required: bool = False


@dataclass(frozen=True)
class Shape:
    name: str
    label: str
    columns: list[Column]
    asset_extra: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Rules per column name, added to the asset's field."""

    def table(self, rows: int) -> pa.Table:
        """Every column as text (null = empty)."""
        return pa.table({c.name: c.text(rows, SEED + i * 101) for i, c in enumerate(self.columns)})

    def asset(self) -> dict[str, Any]:
        fields = []
        for column in self.columns:
            spec: dict[str, Any] = {"name": column.name, "type": column.asset_type}
            if column.required:
                spec["required"] = True
            spec.update(self.asset_extra.get(column.name, {}))
            fields.append(spec)
        return {"name": self.name, "fields": fields}


def _col(name: str, asset_type: str, read_type: pa.DataType, json: str, text: Text, **kw: Any) -> Column:
    return Column(name, asset_type, read_type, json, text, **kw)


TS_NAIVE = pa.timestamp("us")
TS_UTC = pa.timestamp("us", tz="UTC")
DEC = pa.decimal128(12, 2)

C_TS_T = _col("ts_t", "timestamp", TS_NAIVE, "string", timestamps_t)
C_TS_SPACE = _col("ts_space_us", "timestamp", TS_NAIVE, "string", timestamps_space_micros)
C_TS_ZONED = _col("ts_zoned", "timestamp", TS_UTC, "string", timestamps_zoned)
C_DATE = _col("day", "date", pa.date32(), "string", dates)
C_DECIMAL = _col("amount", "decimal(12,2)", DEC, "number", decimals)
C_BOOL = _col("flag", "boolean", pa.bool_(), "bool", booleans)
C_INT = _col("qty", "long", pa.int64(), "number", signed_ints)
C_DOUBLE = _col("score", "double", pa.float64(), "number", doubles)
C_NAME = _col("name", "string", pa.string(), "string", names)
C_EMAIL = _col("email", "string", pa.string(), "string", emails)


def _empty(column: Column) -> Column:
    return _col(column.name, column.asset_type, column.read_type, column.json, with_empties(column.text))


COUNTRIES = ["US", "GB", "DE", "FR", "NL", "ES", "IT", "SE", "CA", "AU", "JP", "BR"]
FIRST_NAMES = [
    "Ada", "Alan", "Grace", "Linus", "Barbara", "Ken", "Margaret", "Dennis", "Frances", "Edsger",
    "Radia", "Donald", "Hedy", "John", "Katherine", "Tim", "Sophie", "Guido", "Anita", "Bjarne",
]  # fmt: skip
LAST_NAMES = [
    "Lovelace", "Turing", "Hopper", "Torvalds", "Liskov", "Thompson", "Hamilton", "Ritchie",
    "Allen", "Dijkstra", "Perlman", "Knuth", "Lamarr", "McCarthy", "Johnson", "Berners-Lee",
    "Wilson", "van Rossum", "Borg", "Stroustrup",
]  # fmt: skip
DOMAINS = ["example.com", "mail.example.org", "acme.test", "corp.example.net"]
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[a-z]+$"


def _customer_emails(rows: int, seed: int) -> pa.Array:
    first, last = pick(FIRST_NAMES, rows, seed), pick(LAST_NAMES, rows, seed + 1)
    local = pc.utf8_lower(pc.replace_substring(pc.binary_join_element_wise(first, last, "."), " ", ""))
    return pc.binary_join_element_wise(local, ids(rows, seed), "@", pick(DOMAINS, rows, seed + 2), "")


def _customer_names(rows: int, seed: int) -> pa.Array:
    """About 2% unknown (null): nullable columns carry nulls in real data."""
    full = pc.binary_join_element_wise(pick(FIRST_NAMES, rows, seed), pick(LAST_NAMES, rows, seed + 1), " ")
    return pc.if_else(pc.less(uniform_ints(rows, 0, 100, seed + 2), 2), pa.scalar(None, pa.string()), full)


def _customer_times(rows: int, seed: int) -> pa.Array:
    """``2021-05-17 02:42:31.794102Z``."""
    return pc.binary_join_element_wise(timestamps_space_micros(rows, seed), "Z", "")


def _balances(rows: int, seed: int) -> pa.Array:
    """0.00 .. 9,999,999.99."""
    return pc.utf8_ltrim(decimals(rows, seed), "-")


def _active(rows: int, seed: int) -> pa.Array:
    return pc.if_else(pc.less(uniform_ints(rows, 0, 100, seed), 85), pa.scalar("true"), pa.scalar("false"))


CUSTOMERS = Shape(
    "customers",
    "customers, with rules (pattern, enum, min)",
    [
        _col("id", "long", pa.int64(), "number", ids, required=True),
        _col("email", "string", pa.string(), "string", _customer_emails, required=True),
        _col("name", "string", pa.string(), "string", _customer_names),
        _col("country", "string", pa.string(), "string", lambda rows, seed: pick(COUNTRIES, rows, seed)),
        _col("created_at", "timestamp", TS_UTC, "string", _customer_times, required=True),
        _col("balance", "decimal(12,2)", DEC, "number", _balances),
        _col("active", "boolean", pa.bool_(), "bool", _active),
    ],
    asset_extra={"email": {"pattern": EMAIL_PATTERN}, "country": {"enum": COUNTRIES}, "balance": {"min": 0}},
)


SHAPES: dict[str, Shape] = {
    s.name: s
    for s in [
        Shape("ts_t", "timestamps, no zone, `T`", [C_TS_T]),
        Shape("ts_space_us", "timestamps, no zone, space + microseconds", [C_TS_SPACE]),
        Shape("ts_zoned", "timestamps, `Z` / `±hh:mm`", [C_TS_ZONED]),
        Shape("date", "dates", [C_DATE]),
        Shape("decimal", "decimal(12,2)", [C_DECIMAL]),
        Shape("boolean", "booleans", [C_BOOL]),
        Shape("long", "signed integers", [C_INT]),
        Shape("double", "doubles", [C_DOUBLE]),
        Shape("string", "strings", [C_NAME, C_EMAIL]),
        Shape("empties", "~20% empty values", [_empty(c) for c in (C_INT, C_TS_T, C_DECIMAL, C_NAME)]),
        Shape(
            "mixed",
            "mixed wide file (all of the above, ~20% empty)",
            [
                _col("id", "long", pa.int64(), "number", ids, required=True),
                *[
                    _empty(c)
                    for c in (C_TS_T, C_TS_SPACE, C_TS_ZONED, C_DATE, C_DECIMAL, C_BOOL, C_INT, C_DOUBLE)
                ],
                _empty(C_NAME),
                C_EMAIL,
            ],
        ),
        CUSTOMERS,
    ]
}


def jsonl_lines(shape: Shape, table: pa.Table) -> pa.Array:
    """One JSON object per row: numbers and booleans bare, the rest quoted, empties as ``null``."""
    parts: list[Any] = []
    for i, column in enumerate(shape.columns):
        values = table.column(column.name).combine_chunks()
        if column.json == "string":
            values = pc.binary_join_element_wise('"', values, '"', "")
        parts += [("{" if i == 0 else ",") + f'"{column.name}":', values.fill_null("null")]
    parts.append("}\n")
    return pc.binary_join_element_wise(*parts, "")


def write_shape(root: Path, shape: Shape, rows: int, formats: tuple[str, ...]) -> dict[str, Path]:
    """``data/acme/<shape>.<fmt>``, ``assets/<shape>.yaml`` and ``jobs/acme/<shape>_<fmt>.yaml``."""
    import yaml

    for folder in ("assets", "jobs/acme", "data/acme"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    table = shape.table(rows)
    out: dict[str, Path] = {}
    for fmt in formats:
        data = root / "data" / "acme" / f"{shape.name}.{fmt}"
        if fmt == "csv":
            pacsv.write_csv(table, data, write_options=pacsv.WriteOptions(quoting_style="needed"))
        elif fmt == "jsonl":
            with open(data, "wb") as stream:
                for start in range(0, rows, 100_000):
                    piece = table.slice(start, 100_000)
                    stream.write("".join(jsonl_lines(shape, piece).to_pylist()).encode())
        elif fmt == "parquet":
            pq.write_table(typed_table(shape, table), data)
        else:
            raise ValueError(f"unknown format {fmt!r}")
        job = {
            "tenant_id": "acme",
            "source_connector": fmt,
            "source": {"path": f"../../data/acme/{data.name}"},
            "target": {"table": "bench", "mode": "append"},
            "asset": shape.name,
            "validation": {"mode": "strict"},
        }
        path = root / "jobs" / "acme" / f"{shape.name}_{fmt}.yaml"
        path.write_text(yaml.safe_dump(job, sort_keys=False))
        out[f"data_{fmt}"], out[f"job_{fmt}"] = data, path
    (root / "assets" / f"{shape.name}.yaml").write_text(yaml.safe_dump(shape.asset(), sort_keys=False))
    del table
    release_memory()
    return out


def write_csv(shape: Shape, rows: int, path: Path) -> None:
    """``rows`` rows of ``shape`` as a CSV file (empty = null), without keeping them in memory."""
    pacsv.write_csv(shape.table(rows), path, write_options=pacsv.WriteOptions(quoting_style="needed"))
    release_memory()


def release_memory() -> None:
    """Give Arrow's freed memory back to the system. A measured child's peak RSS (``wait4``)
    counts what its parent held when it started it, so the parent must not sit on the
    generated data."""
    pa.default_memory_pool().release_unused()


def table_schema(shape: Shape) -> pa.Schema:
    """The Iceberg table's schema as Arrow: the asset's types (timestamps with zone)."""
    fields = []
    for column in shape.columns:
        type_ = TS_UTC if pa.types.is_timestamp(column.read_type) else column.read_type
        fields.append(pa.field(column.name, type_, nullable=not column.required))
    return pa.schema(fields)


def typed_table(shape: Shape, table: pa.Table) -> pa.Table:
    """The text columns of ``table`` parsed by Arrow into the table's types (for Parquet)."""
    columns = [pc.cast(table.column(c.name), c.read_type) for c in shape.columns]
    return pa.Table.from_arrays(columns, names=[c.name for c in shape.columns]).cast(table_schema(shape))


def read_exact(shape: Shape, fmt: str, path: str) -> pa.Table:
    """The bare read: Arrow's own CSV or JSON reader with the exact type of every column (or the
    typed Parquet file)."""
    import pyarrow.json as pajson

    if fmt == "parquet":
        return pq.read_table(path)
    if fmt == "csv":
        convert = pacsv.ConvertOptions(
            column_types={c.name: c.read_type for c in shape.columns},
            strings_can_be_null=True,
            null_values=[""],
        )
        return pacsv.read_csv(path, convert_options=convert)
    # Arrow's JSON reader takes dates as numbers only: read their text, then cast it.
    types = {c.name: pa.string() if c.read_type == pa.date32() else c.read_type for c in shape.columns}
    table = pajson.read_json(path, parse_options=pajson.ParseOptions(explicit_schema=pa.schema(types)))
    for column in shape.columns:
        if column.read_type == pa.date32():
            index = table.schema.get_field_index(column.name)
            table = table.set_column(index, column.name, pc.cast(table.column(index), pa.date32()))
    return table
