"""The careful text parsers: the reference for what text is a valid value of each asset type.

Each parser takes a whole text column and returns ``(typed, failed)``: the typed column
(``null`` where parsing failed) and a null-free mask of the rows that had a value but no valid
one. They never fail a whole column: every parser first selects, with regular expressions,
range checks and round trips, the rows whose text is well-formed, and casts only those.

They are vectorised but do several passes per column, so :mod:`.casting` hands them only the
rows Arrow's own cast cannot settle; tests compare the two on generated text.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_dativo.config.asset import decimal_precision_scale
from airflow_provider_dativo.engine.checks.schema import arrow_type

Column = pa.Array | pa.ChunkedArray

INT_RE = r"^[+-]?\d+$"
DOUBLE_RE = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
DECIMAL_RE = r"^[+-]?(\d+\.?\d*|\.\d+)$"
DATE_RE = r"^\d{4}-\d{2}-\d{2}$"
TIMESTAMP_TYPE = pa.timestamp("us", tz="UTC")
TIMESTAMP_RE = (
    r"^\d{4}-\d{2}-\d{2}"
    r"(?:[Tt ](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?"
    r"(?:[Zz]|[+-](?:[01]\d|2[0-3]):?[0-5]\d)?)?$"
)
"""A date, then optionally a time (seconds and a fraction of any length optional: digits beyond
microseconds are truncated) with an optional UTC offset; no offset means UTC."""
TRUE_WORDS = ["true", "1", "yes"]
FALSE_WORDS = ["false", "0", "no"]
NAN_WORDS = ["nan", "+nan", "-nan"]
INFINITY_WORDS = ["inf", "+inf", "infinity", "+infinity"]
NEGATIVE_INFINITY_WORDS = ["-inf", "-infinity"]
_INT_BOUNDS = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}


def where(mask: Column, values: Column, type_: pa.DataType) -> Column:
    """``values`` where ``mask`` is true, null elsewhere."""
    return pc.if_else(mask, values, pa.scalar(None, type_))


def matches(text: Column, regex: str) -> Column:
    """Regex match with nulls as ``False``, so masks combine without null propagation."""
    return pc.fill_null(pc.match_substring_regex(text, regex), False)


def failed_rows(raw: Column, typed: Column) -> Column:
    """Rows that had a value but produced none: the ``type`` failures."""
    return pc.and_(pc.is_valid(raw), pc.is_null(typed))


def _valid_date_text(text: Column) -> Column:
    """``YYYY-MM-DD`` that names a real day; strptime alone would roll 02-30 over to 03-01."""
    shaped = matches(text, DATE_RE)
    candidate = where(shaped, text, pa.string())
    parsed = pc.strptime(candidate, format="%Y-%m-%d", unit="s", error_is_null=True)
    round_trip = pc.equal(pc.strftime(parsed, format="%Y-%m-%d"), candidate)
    return pc.fill_null(round_trip, False)


def parse_string(text: Column) -> tuple[Column, Column]:
    """Any text is a valid string; kept as a parser so every type goes through one path."""
    typed = pc.cast(text, pa.string())
    return typed, failed_rows(text, typed)


def parse_integer(text: Column, type_name: str) -> tuple[Column, Column]:
    """Optional sign, decimal digits, surrounding spaces allowed; within the type's range."""
    trimmed = pc.utf8_trim_whitespace(text)
    shaped = matches(trimmed, INT_RE)
    # Drop the sign's "+" and leading zeros, then bound the digit count so the decimal cast
    # below cannot overflow; the exact range check happens on the decimal value.
    normal = pc.replace_substring_regex(trimmed, r"^\+", "")
    normal = pc.replace_substring_regex(normal, r"^(-?)0+(\d)", r"\1\2")
    fits = pc.and_(shaped, pc.fill_null(pc.less_equal(pc.utf8_length(normal), 20), False))
    wide = pa.decimal128(21, 0)
    as_decimal = pc.cast(where(fits, normal, pa.string()), wide)
    low, high = _INT_BOUNDS[type_name]
    in_range = pc.and_(
        pc.greater_equal(as_decimal, pa.scalar(Decimal(low), wide)),
        pc.less_equal(as_decimal, pa.scalar(Decimal(high), wide)),
    )
    typed = pc.cast(where(pc.fill_null(in_range, False), as_decimal, wide), arrow_type(type_name))
    return typed, failed_rows(text, typed)


def parse_double(text: Column, allow_nan: bool = False) -> tuple[Column, Column]:
    """Decimal notation with an optional exponent. A finite number too large for a double
    (``1e400``) is a type failure, not infinity; the words NaN and Infinity (any case, signed)
    are values only with ``allow_nan`` (an asset field's option), type failures otherwise."""
    trimmed = pc.utf8_trim_whitespace(text)
    shaped = matches(trimmed, DOUBLE_RE)
    as_double = pc.cast(where(shaped, trimmed, pa.string()), pa.float64())
    typed = where(pc.fill_null(pc.is_finite(as_double), False), as_double, pa.float64())
    if allow_nan:
        word = pc.utf8_lower(trimmed)
        for words, value in (
            (NAN_WORDS, float("nan")),
            (INFINITY_WORDS, float("inf")),
            (NEGATIVE_INFINITY_WORDS, float("-inf")),
        ):
            typed = pc.if_else(pc.is_in(word, value_set=pa.array(words)), pa.scalar(value), typed)
    return typed, failed_rows(text, typed)


def parse_decimal(text: Column, type_name: str) -> tuple[Column, Column]:
    """Decimal notation without exponent; at most ``precision - scale`` integer digits and at
    most ``scale`` significant fraction digits (trailing zeros lose nothing)."""
    precision, scale = decimal_precision_scale(type_name)  # type: ignore[misc]
    trimmed = pc.utf8_trim_whitespace(text)
    fraction = rf"(?:\.\d{{0,{scale}}}0*)?" if scale else r"(?:\.0*)?"
    fits_regex = rf"^[+-]?0*\d{{0,{precision - scale}}}{fraction}$"
    fits = pc.and_(matches(trimmed, DECIMAL_RE), matches(trimmed, fits_regex))
    typed = pc.cast(where(fits, trimmed, pa.string()), arrow_type(type_name))
    return typed, failed_rows(text, typed)


def parse_boolean(text: Column) -> tuple[Column, Column]:
    """``true``/``false``, ``1``/``0``, ``yes``/``no``, in any case, spaces allowed."""
    lowered = pc.utf8_lower(pc.utf8_trim_whitespace(text))
    is_true = pc.is_in(lowered, value_set=pa.array(TRUE_WORDS))
    is_false = pc.is_in(lowered, value_set=pa.array(FALSE_WORDS))
    typed = where(pc.or_(is_true, is_false), is_true, pa.bool_())
    return typed, failed_rows(text, typed)


def parse_date(text: Column) -> tuple[Column, Column]:
    """``YYYY-MM-DD`` naming a real day."""
    trimmed = pc.utf8_trim_whitespace(text)
    ok = _valid_date_text(trimmed)
    parsed = pc.strptime(where(ok, trimmed, pa.string()), format="%Y-%m-%d", unit="s", error_is_null=True)
    typed = pc.cast(parsed, pa.date32())
    return typed, failed_rows(text, typed)


def parse_timestamp(text: Column) -> tuple[Column, Column]:
    """ISO-8601 with ``T`` or space, optional seconds/fraction/offset; no offset means UTC."""
    trimmed = pc.utf8_trim_whitespace(text)
    ok = pc.and_(matches(trimmed, TIMESTAMP_RE), _valid_date_text(pc.utf8_slice_codeunits(trimmed, 0, 10)))
    canonical = where(ok, trimmed, pa.string())
    canonical = pc.replace_substring_regex(canonical, r"^(\d{4}-\d{2}-\d{2})$", r"\1T00:00:00")
    canonical = pc.replace_substring_regex(canonical, r"^(\d{4}-\d{2}-\d{2})[Tt ]", r"\1T")
    canonical = pc.replace_substring_regex(canonical, r"[Zz]$", "+00:00")
    # Microseconds is the table's precision: finer fractions are truncated, not rejected.
    canonical = pc.replace_substring_regex(canonical, r"(\.\d{6})\d+", r"\1")
    has_offset = matches(canonical, r"T.*[+-]\d{2}:?\d{2}$")
    canonical = pc.if_else(has_offset, canonical, pc.binary_join_element_wise(canonical, "+00:00", ""))
    typed = pc.cast(canonical, TIMESTAMP_TYPE)
    return typed, failed_rows(text, typed)


_PARSERS: dict[str, Callable[[Column], tuple[Column, Column]]] = {
    "string": parse_string,
    "int": lambda text: parse_integer(text, "int"),
    "long": lambda text: parse_integer(text, "long"),
    "double": parse_double,
    "boolean": parse_boolean,
    "date": parse_date,
    "timestamp": parse_timestamp,
}


def parse_carefully(text: Column, type_name: str, *, allow_nan: bool = False) -> tuple[Column, Column]:
    """The reference parse of a text column into ``type_name``; returns ``(typed, failed)``.
    ``allow_nan`` lets a double take NaN and Infinity."""
    if type_name == "double":
        return parse_double(text, allow_nan)
    if type_name.startswith("decimal"):
        return parse_decimal(text, type_name)
    return _PARSERS[type_name](text)
