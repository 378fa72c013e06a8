"""Casting: text columns into an asset type — Arrow's own cast where it agrees with the careful
parser, the careful parser (:mod:`.careful`, the reference) for the rows it does not settle.

CSV values (and JSON strings) arrive as text. ``pyarrow.compute.cast`` parses a column in one
vectorised pass, as fast as Arrow's typed CSV reader, but it fails the whole column on the first
value it refuses, and it accepts a few notations the asset types do not (hex integers, decimal
exponents, an hour without minutes, ``+02`` offsets) or reads them differently (a finite number
too large for a double becomes infinity). So every type has one or more :class:`ArrowReading`:

1. **The whole column at once.** A cheap guard (``suspect``) marks the rows whose notation Arrow
   would read differently; the others are cast in one call. When Arrow accepts them all (the
   common case: an export has one format per column), only the suspect rows, if any, go to the
   careful parser.
2. **Row by row**, when Arrow refuses some value: a regular expression (``plain``) selects the
   rows whose shape Arrow reads exactly as the careful parser does; those are cast (a value of
   the right shape can still be refused — a 30th of February — so a refused cast is retried on
   smaller slices until the refused rows are isolated), and only the rows no reading settled go
   to the careful parser. The careful path's cost follows the number of odd rows, not the column.

Timestamps have four readings — zone-less or zoned, microseconds or up to nanoseconds (truncated
to microseconds, the table's precision) — tried in that order; a column mixing them is split
row by row. Every reading's result is compared with the careful parser's on generated text by
``tests/engine/checks/test_casting.py``; removing a guard makes that test fail.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_dativo.config.asset import decimal_precision_scale
from airflow_provider_dativo.engine.checks import careful
from airflow_provider_dativo.engine.checks.careful import TIMESTAMP_TYPE, Column, matches, where
from airflow_provider_dativo.engine.checks.schema import arrow_type

SPLIT = 16
"""Pieces a refused cast is split into before it is retried on each."""
LEAF_ROWS = 64
"""Smallest piece a refused cast is retried on; a refused piece this small goes to the careful parser."""
SAMPLE_ROWS = 64
"""Values tried first, to choose the reading (see :func:`_sample`)."""

Guard = Callable[[pa.Array], pa.Array | None]
Finish = Callable[[pa.Array], tuple[pa.Array, pa.Array | None]]

# The careful parsers under the names the equivalence tests use.
_parse_integer_carefully = careful.parse_integer
_parse_decimal_carefully = careful.parse_decimal


@dataclass(frozen=True)
class ArrowReading:
    """One way Arrow's cast reads the text of a type (see the module docstring)."""

    target: pa.DataType
    """What ``pyarrow.compute.cast`` parses into."""
    plain: str
    """Regex of the notation Arrow reads exactly as the careful parser does."""
    suspect: Guard | None = None
    """Null-free mask of rows Arrow would accept but read differently, or ``None`` when there
    are none (checked on the whole column before the one-call cast; ``plain`` excludes them
    row by row)."""
    finish: Finish | None = None
    """``typed -> (typed in the asset's type, rows to hand to the careful parser or None)``."""

    def complete(self, cast: pa.Array) -> tuple[pa.Array, pa.Array | None]:
        return self.finish(cast) if self.finish is not None else (cast, None)


def _false(length: int) -> pa.Array:
    return pa.repeat(pa.scalar(False), length)


def _any(mask: pa.Array | None) -> bool:
    return mask is not None and bool(pc.any(mask).as_py())


def _and_not(mask: pa.Array, *others: pa.Array | None) -> pa.Array:
    for other in others:
        if other is not None:
            mask = pc.and_not(mask, other)
    return mask


def _or(*masks: pa.Array | None) -> pa.Array | None:
    present = [m for m in masks if _any(m)]
    if not present:
        return None
    combined = present[0]
    for mask in present[1:]:
        combined = pc.or_(combined, mask)
    return combined


# --------------------------------------------------------------------------- the readings


def _bytes(text: pa.Array) -> pa.Array:
    """The same values as binary (no copy): byte slices and lengths are cheaper than UTF-8 ones,
    and every notation a guard looks for is ASCII."""
    return text.view(pa.binary())


def _nowhere(text: pa.Array, *letters: bytes) -> bool:
    """Whether none of ``letters`` occurs in the column's text: one search of its data buffer
    (a superset of its values), far cheaper than a kernel over every value."""
    data = text.buffers()[2]
    if data is None:
        return True
    raw = data.to_pybytes()
    return not any(letter in raw for letter in letters)


def _starts_hex(text: pa.Array) -> pa.Array | None:
    """``0x1F``: Arrow reads hex integers; the asset types do not."""
    if _nowhere(text, b"x", b"X"):
        return None
    return pc.fill_null(pc.or_(pc.starts_with(text, "0x"), pc.starts_with(text, "0X")), False)


def _has_exponent(text: pa.Array) -> pa.Array | None:
    """``1e3``: Arrow reads decimal exponents; decimal text does not take them."""
    if _nowhere(text, b"e", b"E"):
        return None
    lower = pc.greater_equal(pc.find_substring(text, "e"), 0)
    upper = pc.greater_equal(pc.find_substring(text, "E"), 0)
    return pc.fill_null(pc.or_(lower, upper), False)


def _non_finite(cast: pa.Array) -> tuple[pa.Array, pa.Array | None]:
    """Infinity and NaN are settled by the careful parser: Arrow turns ``1e400`` into
    infinity, which is a type failure, while the words ``NaN``/``Infinity`` are values only
    where the field allows them."""
    return cast, pc.fill_null(pc.invert(pc.is_finite(cast)), False)


def _hour_only(text: pa.Array) -> pa.Array:
    """``2024-01-02T03``: Arrow reads an hour without minutes; the careful parser does not."""
    return pc.fill_null(pc.equal(pc.binary_length(text), 13), False)


def _zoned_odd(text: pa.Array) -> pa.Array:
    """Zoned values Arrow reads and the careful parser refuses: an hour without minutes
    (``T03Z``: no colon after the hour) or a two-digit offset (``+02``)."""
    raw = _bytes(text)
    no_minutes = pc.not_equal(pc.binary_slice(raw, 13, 14), pa.scalar(b":"))
    short_offset = pc.is_in(pc.binary_slice(raw, -3, -2), value_set=pa.array([b"+", b"-"]))
    return pc.fill_null(pc.or_(no_minutes, short_offset), False)


def _utc(cast: pa.Array) -> tuple[pa.Array, pa.Array | None]:
    """Zone-less values are UTC: the same instants, labelled."""
    return pc.cast(cast, TIMESTAMP_TYPE), None


def _truncated(cast: pa.Array) -> tuple[pa.Array, pa.Array | None]:
    """Nanoseconds truncated to microseconds. Before 1970 Arrow's truncation rounds toward
    the epoch, the careful parser toward the past: those rows are left to the careful parser."""
    before_epoch = pc.fill_null(pc.less(pc.cast(cast, pa.int64()), 0), False)
    micros = pc.cast(cast, pa.timestamp("us", tz=cast.type.tz), safe=False)
    return pc.cast(micros, TIMESTAMP_TYPE), before_epoch


_DATE = r"\d{4}-\d\d-\d\d"
_TIME = r"[T ](?:[01]\d|2[0-3]):[0-5]\d"
_ZONE = r"(?:Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d)"


def _time_with(fraction: str) -> str:
    return rf"{_TIME}(?::[0-5]\d{fraction})?"


_MICROS = r"(?:\.\d{1,6})?"
_NANOS = r"\.\d{7,9}"

_TIMESTAMP_READINGS = (
    ArrowReading(pa.timestamp("us"), rf"^{_DATE}(?:{_time_with(_MICROS)})?$", _hour_only, _utc),
    ArrowReading(pa.timestamp("us", tz="UTC"), rf"^{_DATE}{_time_with(_MICROS)}{_ZONE}$", _zoned_odd),
    ArrowReading(pa.timestamp("ns"), rf"^{_DATE}{_TIME}:[0-5]\d{_NANOS}$", _hour_only, _truncated),
    ArrowReading(
        pa.timestamp("ns", tz="UTC"), rf"^{_DATE}{_TIME}:[0-5]\d{_NANOS}{_ZONE}$", _zoned_odd, _truncated
    ),
)


def _decimal_reading(type_name: str) -> ArrowReading:
    precision, scale = decimal_precision_scale(type_name)  # type: ignore[misc]
    whole = rf"\d{{1,{precision - scale}}}" if precision > scale else "0"
    fraction = rf"(?:\.\d{{1,{scale}}})?" if scale else ""
    return ArrowReading(arrow_type(type_name), rf"^-?{whole}{fraction}$", _has_exponent)


_READINGS: dict[str, tuple[ArrowReading, ...]] = {
    "int": (ArrowReading(pa.int32(), r"^-?\d{1,9}$", _starts_hex),),
    "long": (ArrowReading(pa.int64(), r"^-?\d{1,18}$", _starts_hex),),
    "double": (
        ArrowReading(pa.float64(), r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$", None, _non_finite),
    ),
    "boolean": (ArrowReading(pa.bool_(), r"^(?i:true|false)$|^[01]$"),),
    "date": (ArrowReading(pa.date32(), rf"^{_DATE}$"),),
    "timestamp": _TIMESTAMP_READINGS,
}


def readings(type_name: str) -> tuple[ArrowReading, ...]:
    """The Arrow readings of an asset type, in the order they are tried."""
    if type_name.startswith("decimal"):
        return (_decimal_reading(type_name),)
    return _READINGS[type_name]


# --------------------------------------------------------------------------- the two passes


def _whole_column(text: pa.Array, reading: ArrowReading) -> tuple[pa.Array, pa.Array | None] | None:
    """Every non-suspect row in one cast: ``(typed, rows left for the careful parser)``, or
    ``None`` when Arrow refuses some value."""
    suspect = reading.suspect(text) if reading.suspect is not None else None
    if not _any(suspect):
        suspect = None
    candidates = text if suspect is None else where(pc.invert(suspect), text, pa.string())
    try:
        cast = pc.cast(candidates, reading.target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    typed, handed = reading.complete(cast)
    return typed, _or(suspect, handed)


def _cast_rows(text: pa.Array, target: pa.DataType) -> tuple[pa.Array, pa.Array | None]:
    """Arrow's cast of every row it accepts: ``(typed, refused rows or None)``. A refused cast
    is retried on :data:`SPLIT` slices, down to :data:`LEAF_ROWS` rows."""
    try:
        return pc.cast(text, target), None
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    if len(text) <= LEAF_ROWS:
        return pa.nulls(len(text), target), pc.is_valid(text)
    step = -(-len(text) // SPLIT)
    typed, refused = [], []
    for start in range(0, len(text), step):
        piece = text.slice(start, step)
        piece_typed, piece_refused = _cast_rows(piece, target)
        typed.append(piece_typed)
        refused.append(piece_refused if piece_refused is not None else _false(len(piece)))
    return pa.concat_arrays(typed), pa.concat_arrays(refused)


def _settle_plain(
    text: pa.Array, reading: ArrowReading, result_type: pa.DataType
) -> tuple[pa.Array, pa.Array]:
    """The rows of ``text`` in the reading's plain notation, cast: ``(typed, settled)``."""
    plain = matches(text, reading.plain)
    if not _any(plain):
        return pa.nulls(len(text), result_type), plain
    cast, refused = _cast_rows(where(plain, text, pa.string()), reading.target)
    typed, handed = reading.complete(cast)
    settled = _and_not(plain, refused, handed)
    return where(settled, typed, result_type), settled


def _row_by_row(
    text: pa.Array, type_readings: tuple[ArrowReading, ...], result_type: pa.DataType
) -> tuple[pa.Array, pa.Array]:
    """Each reading settles the rows in its plain notation; returns ``(typed, pending)``."""
    typed = pa.nulls(len(text), result_type)
    pending = pc.is_valid(text)
    for reading in type_readings:
        if not _any(pending):
            break
        sub_typed, sub_settled = _settle_plain(text.filter(pending), reading, result_type)
        if not _any(sub_settled):
            continue
        typed = pc.replace_with_mask(typed, pending, sub_typed)
        pending = _and_not(pending, pc.replace_with_mask(_false(len(text)), pending, sub_settled))
    return typed, pending


def _with_careful(
    text: pa.Array, typed: pa.Array, pending: pa.Array | None, type_name: str, allow_nan: bool
) -> tuple[pa.Array, pa.Array]:
    """``typed`` with the ``pending`` rows parsed by the careful parser; ``(typed, failed)``."""
    if not _any(pending):
        return typed, _false(len(text))
    careful_typed, careful_failed = careful.parse_carefully(
        text.filter(pending), type_name, allow_nan=allow_nan
    )
    return (
        pc.replace_with_mask(typed, pending, careful_typed),
        pc.replace_with_mask(_false(len(text)), pending, careful_failed),
    )


def _as_text(column: Column) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        column = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
    return column if column.type == pa.string() else pc.cast(column, pa.string())


def _sample(text: pa.Array) -> pa.Array:
    """Up to :data:`SAMPLE_ROWS` values spread over the column, to pick the reading to try:
    a cast Arrow refuses costs about a microsecond per refused value, so a reading is tried on
    the whole column only when it accepts the sample."""
    step = max(1, len(text) // SAMPLE_ROWS)
    picked = text if step == 1 else text.take(pa.array(range(0, len(text), step), pa.int64()))
    return picked.drop_null()


def _accepts(sample: pa.Array, reading: ArrowReading) -> bool:
    try:
        pc.cast(sample, reading.target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


def parse_text(text: Column, type_name: str, *, allow_nan: bool = False) -> tuple[Column, Column]:
    """Parse a text column into ``type_name``; returns ``(typed, failed)``.

    ``failed`` is a null-free boolean mask of rows with a value that is not a valid
    ``type_name``; null input stays null and never counts as failed. The result is the careful
    parser's, value for value (see the module docstring for how it gets there faster).
    ``allow_nan`` lets a double take the words NaN and Infinity (the field option).
    """
    if type_name == "string":
        return careful.parse_string(text)
    text = _as_text(text)
    type_readings = readings(type_name)
    sample = _sample(text)
    reading = next((r for r in type_readings if _accepts(sample, r)), None)
    whole = _whole_column(text, reading) if reading is not None else None
    if whole is not None:
        typed, pending = whole
        return _with_careful(text, typed, pending, type_name, allow_nan)
    typed, pending = _row_by_row(text, type_readings, arrow_type(type_name))
    return _with_careful(text, typed, pending, type_name, allow_nan)
