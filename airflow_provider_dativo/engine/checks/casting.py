"""Casting: turn text columns into an asset type, detecting the rows that do not convert, vectorised.

CSV (and, after conversion, JSON) values arrive as text. ``pyarrow.compute.cast`` fails the
whole column on the first bad value, so every parser first selects the rows whose text is
well-formed for the type (regular expressions, range checks, round trips) and only casts those.
The result is the typed column (``null`` where parsing failed) plus a mask of the failed rows,
which validation counts under the ``type`` rule.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_dativo.config.asset import decimal_precision_scale
from airflow_provider_dativo.engine.checks.schema import arrow_type

Column = pa.Array | pa.ChunkedArray

_INT_RE = r"^[+-]?\d+$"
_DOUBLE_RE = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_DECIMAL_RE = r"^[+-]?(\d+\.?\d*|\.\d+)$"
_DATE_RE = r"^\d{4}-\d{2}-\d{2}$"
# Date, then optionally a time (seconds and fraction optional) with an optional UTC offset.
_TIMESTAMP_TYPE = pa.timestamp("us", tz="UTC")
_TIMESTAMP_RE = (
    r"^\d{4}-\d{2}-\d{2}"
    r"(?:[Tt ](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,9})?)?"
    r"(?:[Zz]|[+-](?:[01]\d|2[0-3]):?[0-5]\d)?)?$"
)
_TRUE = ["true", "1", "yes"]
_FALSE = ["false", "0", "no"]
_INT_BOUNDS = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}


def _where(mask: Column, values: Column, type_: pa.DataType) -> Column:
    """``values`` where ``mask`` is true, null elsewhere."""
    return pc.if_else(mask, values, pa.scalar(None, type_))


def _matches(text: Column, regex: str) -> Column:
    """Regex match with nulls as ``False``, so masks combine without null propagation."""
    return pc.fill_null(pc.match_substring_regex(text, regex), False)


def _failed(raw: Column, typed: Column) -> Column:
    """Rows that had a value but produced none: the ``type`` failures."""
    return pc.and_(pc.is_valid(raw), pc.is_null(typed))


def _valid_date_text(text: Column) -> Column:
    """``YYYY-MM-DD`` that names a real day; strptime alone would roll 02-30 over to 03-01."""
    shaped = _matches(text, _DATE_RE)
    candidate = _where(shaped, text, pa.string())
    parsed = pc.strptime(candidate, format="%Y-%m-%d", unit="s", error_is_null=True)
    round_trip = pc.equal(pc.strftime(parsed, format="%Y-%m-%d"), candidate)
    return pc.fill_null(round_trip, False)


def _parse_string(text: Column) -> tuple[Column, Column]:
    """Any text is a valid string; kept as a parser so every type goes through one path."""
    typed = pc.cast(text, pa.string())
    return typed, _failed(text, typed)


def _cast_if_plain(text: Column, type_: pa.DataType, foreign: str) -> Column | None:
    """Arrow's own cast of the whole column, when it accepts every value and none contains
    ``foreign`` (the letter of a notation Arrow reads and the asset types do not: ``0x`` hex
    integers, decimal exponents). Each such value then reads exactly as the careful parser
    reads it (``tests/engine/checks/test_casting.py`` compares the two on random text), at a fraction
    of the cost; otherwise ``None``, and the careful parser finds the rows that fail."""
    if pc.any(pc.match_substring(text, foreign, ignore_case=True)).as_py():
        return None
    try:
        return pc.cast(text, type_)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _parse_integer(text: Column, type_name: str) -> tuple[Column, Column]:
    typed = _cast_if_plain(text, arrow_type(type_name), "x")
    if typed is not None:
        return typed, _failed(text, typed)
    return _parse_integer_carefully(text, type_name)


def _parse_integer_carefully(text: Column, type_name: str) -> tuple[Column, Column]:
    trimmed = pc.utf8_trim_whitespace(text)
    shaped = _matches(trimmed, _INT_RE)
    # Drop the sign's "+" and leading zeros, then bound the digit count so the decimal cast
    # below cannot overflow; the exact range check happens on the decimal value.
    normal = pc.replace_substring_regex(trimmed, r"^\+", "")
    normal = pc.replace_substring_regex(normal, r"^(-?)0+(\d)", r"\1\2")
    fits = pc.and_(shaped, pc.fill_null(pc.less_equal(pc.utf8_length(normal), 20), False))
    wide = pa.decimal128(21, 0)
    as_decimal = pc.cast(_where(fits, normal, pa.string()), wide)
    low, high = _INT_BOUNDS[type_name]
    in_range = pc.and_(
        pc.greater_equal(as_decimal, pa.scalar(Decimal(low), wide)),
        pc.less_equal(as_decimal, pa.scalar(Decimal(high), wide)),
    )
    typed = pc.cast(_where(pc.fill_null(in_range, False), as_decimal, wide), arrow_type(type_name))
    return typed, _failed(text, typed)


def _parse_double(text: Column) -> tuple[Column, Column]:
    trimmed = pc.utf8_trim_whitespace(text)
    shaped = _matches(trimmed, _DOUBLE_RE)
    as_double = pc.cast(_where(shaped, trimmed, pa.string()), pa.float64())
    # "1e400" casts to inf: out of range for a double, so a type failure rather than a value.
    typed = _where(pc.fill_null(pc.is_finite(as_double), False), as_double, pa.float64())
    return typed, _failed(text, typed)


def _parse_decimal(text: Column, type_name: str) -> tuple[Column, Column]:
    typed = _cast_if_plain(text, arrow_type(type_name), "e")
    if typed is not None:
        return typed, _failed(text, typed)
    return _parse_decimal_carefully(text, type_name)


def _parse_decimal_carefully(text: Column, type_name: str) -> tuple[Column, Column]:
    precision, scale = decimal_precision_scale(type_name)  # type: ignore[misc]
    trimmed = pc.utf8_trim_whitespace(text)
    # Well-formed, at most precision-scale integer digits and at most scale significant
    # fraction digits (trailing zeros lose nothing), so the cast never rounds or overflows.
    fraction = rf"(?:\.\d{{0,{scale}}}0*)?" if scale else r"(?:\.0*)?"
    fits_regex = rf"^[+-]?0*\d{{0,{precision - scale}}}{fraction}$"
    fits = pc.and_(_matches(trimmed, _DECIMAL_RE), _matches(trimmed, fits_regex))
    typed = pc.cast(_where(fits, trimmed, pa.string()), arrow_type(type_name))
    return typed, _failed(text, typed)


def _parse_boolean(text: Column) -> tuple[Column, Column]:
    lowered = pc.utf8_lower(pc.utf8_trim_whitespace(text))
    is_true = pc.is_in(lowered, value_set=pa.array(_TRUE))
    is_false = pc.is_in(lowered, value_set=pa.array(_FALSE))
    known = pc.or_(is_true, is_false)
    typed = _where(known, is_true, pa.bool_())
    return typed, _failed(text, typed)


def _parse_date(text: Column) -> tuple[Column, Column]:
    trimmed = pc.utf8_trim_whitespace(text)
    ok = _valid_date_text(trimmed)
    parsed = pc.strptime(_where(ok, trimmed, pa.string()), format="%Y-%m-%d", unit="s", error_is_null=True)
    typed = pc.cast(parsed, pa.date32())
    return typed, _failed(text, typed)


def _direct_timestamps(trimmed: Column) -> Column | None:
    """The common case in one pass: every value already has our shape and an explicit zone
    (``...Z`` / ``...+02:00``), so Arrow's own ISO-8601 cast parses and checks them all (it
    rejects impossible days like 02-30). ``None`` when any value needs the general path."""
    try:
        typed = pc.cast(trimmed, _TIMESTAMP_TYPE)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    shaped = pc.or_kleene(_matches(trimmed, _TIMESTAMP_RE), pc.is_null(trimmed))
    return typed if pc.all(shaped).as_py() is not False else None


def _parse_timestamp(text: Column) -> tuple[Column, Column]:
    """ISO-8601 with ``T`` or space, optional seconds/fraction/offset; no offset means UTC."""
    trimmed = pc.utf8_trim_whitespace(text)
    direct = _direct_timestamps(trimmed)
    if direct is not None:
        return direct, _failed(text, direct)
    ok = pc.and_(_matches(trimmed, _TIMESTAMP_RE), _valid_date_text(pc.utf8_slice_codeunits(trimmed, 0, 10)))
    canonical = _where(ok, trimmed, pa.string())
    canonical = pc.replace_substring_regex(canonical, r"^(\d{4}-\d{2}-\d{2})$", r"\1T00:00:00")
    canonical = pc.replace_substring_regex(canonical, r"^(\d{4}-\d{2}-\d{2})[Tt ]", r"\1T")
    canonical = pc.replace_substring_regex(canonical, r"[Zz]$", "+00:00")
    # Microseconds is the table's precision: finer fractions are truncated, not rejected.
    canonical = pc.replace_substring_regex(canonical, r"(\.\d{6})\d+", r"\1")
    has_offset = _matches(canonical, r"T.*[+-]\d{2}:?\d{2}$")
    canonical = pc.if_else(has_offset, canonical, pc.binary_join_element_wise(canonical, "+00:00", ""))
    typed = pc.cast(canonical, _TIMESTAMP_TYPE)
    return typed, _failed(text, typed)


_PARSERS: dict[str, Callable[[Column], tuple[Column, Column]]] = {
    "string": _parse_string,
    "int": lambda text: _parse_integer(text, "int"),
    "long": lambda text: _parse_integer(text, "long"),
    "double": _parse_double,
    "boolean": _parse_boolean,
    "date": _parse_date,
    "timestamp": _parse_timestamp,
}


def parse_text(text: Column, type_name: str) -> tuple[Column, Column]:
    """Parse a text column into ``type_name``; returns ``(typed, failed)``.

    ``failed`` is a null-free boolean mask of rows with a value that is not a valid
    ``type_name``; null input stays null and never counts as failed.
    """
    text = pc.cast(text, pa.string())
    if type_name.startswith("decimal"):
        return _parse_decimal(text, type_name)
    return _PARSERS[type_name](text)
