"""Arrow's fast cast and the careful parser read every text the same way, for every type.

:func:`parse_text` settles most rows with Arrow's own cast and hands the rest to the careful
parser (the reference). These tests generate text near the edges of each notation — the
shapes both accept, and those only Arrow accepts (hex, exponents, ``+02`` offsets, an hour
without minutes, overflowing doubles, long fractions before 1970) — and compare the two, value
by value, in three kinds of column: one value alone (the one-cast path and its guards), one
notation repeated (the same, over many rows) and a mix (the row-by-row path). Each guard has
an explicit case too, so removing one fails a test.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_dativo.engine.checks import casting
from airflow_provider_dativo.engine.checks.careful import parse_carefully
from airflow_provider_dativo.engine.checks.casting import parse_text
from tests.support.arrow_values import comparable

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_same(values: list[str | None], type_name: str, *, allow_nan: bool = False) -> None:
    text = pa.array(values, pa.string())
    fast_typed, fast_failed = parse_text(text, type_name, allow_nan=allow_nan)
    slow_typed, slow_failed = parse_carefully(text, type_name, allow_nan=allow_nan)
    assert fast_typed.type == slow_typed.type
    fast = list(zip(comparable(fast_typed), fast_failed.to_pylist(), strict=True))
    slow = list(zip(comparable(slow_typed), slow_failed.to_pylist(), strict=True))
    assert fast == slow, [(v, f, s) for v, f, s in zip(values, fast, slow, strict=True) if f != s]


def check_all_ways(values: list[str | None], type_name: str, *, allow_nan: bool = False) -> None:
    """One value alone, the first value repeated, and the mix."""
    for value in values:
        assert_same([value], type_name, allow_nan=allow_nan)
    assert_same([values[0]] * 200, type_name, allow_nan=allow_nan)
    assert_same(values, type_name, allow_nan=allow_nan)


def _pick(*options: str) -> st.SearchStrategy[str]:
    return st.sampled_from(options)


digits = st.text("0123456789", min_size=1, max_size=22)
noise = st.text("0123456789+-.eExX tTzZ:nafi", max_size=10)
integers = st.one_of(
    st.builds(lambda s, d: s + d, _pick("", "-", "+", " ", "0x", "0X", "-0x"), digits),
    st.builds(lambda d, e: d + e, digits, _pick("", " ", ".", ".0", "e3", "x")),
    noise,
)
decimals = st.one_of(
    st.builds(
        lambda s, w, f, e: s + w + f + e,
        _pick("", "-", "+"),
        st.text("0123456789", max_size=6),
        _pick("", ".", ".5", ".25", ".250", ".125", ".00"),
        _pick("", "", "e2", "E-1", "e0", "e"),
    ),
    noise,
)
doubles = st.one_of(
    st.builds(
        lambda s, w, f, e: s + w + f + e,
        _pick("", "-", "+"),
        st.text("0123456789", max_size=5),
        _pick("", ".", ".5", ".0625"),
        _pick("", "e3", "E-2", "e400", "e-400", "e308", "E+309"),
    ),
    _pick(
        "nan",
        "NaN",
        "-nan",
        "inf",
        "-inf",
        "+inf",
        "Infinity",
        "-Infinity",
        "INF",
        " nan ",
        "1e400",
        "-1e400",
    ),
    noise,
)
booleans = st.one_of(
    _pick("true", "false", "True", "FALSE", "tRuE", "1", "0", "yes", "No", " true", "t", "f", "2", ""),
    noise,
)
years = _pick("2024", "2023", "1969", "1970", "1677", "2262", "2263", "0001", "9999", "0000")
months = _pick("01", "02", "06", "12", "13", "00", "1")
days = _pick("01", "28", "29", "30", "31", "32", "00")
dates = st.one_of(
    st.builds(
        lambda y, m, d, tail: f"{y}-{m}-{d}{tail}", years, months, days, _pick("", "", " ", "T00", "Z")
    ),
    noise,
)


@st.composite
def timestamps(draw: st.DrawFn) -> str:
    text = f"{draw(years)}-{draw(months)}-{draw(days)}"
    if draw(st.integers(0, 9)):
        text += draw(_pick("T", " ", "t")) + draw(_pick("00", "03", "23", "24", "3"))
        if draw(st.integers(0, 5)):
            text += ":" + draw(_pick("00", "04", "59", "60"))
            if draw(st.integers(0, 5)):
                text += ":" + draw(_pick("00", "05", "59", "60"))
                if draw(st.booleans()):
                    text += "." + draw(st.text("0123456789", max_size=12))
        text += draw(
            _pick("", "", "Z", "z", "+02:00", "-05:30", "+0200", "+02", "-00:30", "+24:00", "+23:59", "-12")
        )
    return draw(_pick("", "", "", " ")) + text + draw(_pick("", "", "", " "))


def column_of(values: st.SearchStrategy[str]) -> st.SearchStrategy[list[str | None]]:
    return st.lists(st.one_of(values, st.none()), min_size=1, max_size=12)


@SETTINGS
@given(column_of(integers), _pick("int", "long"))
def test_integers(values: list[str | None], type_name: str) -> None:
    check_all_ways(values, type_name)


@SETTINGS
@given(column_of(decimals), _pick("decimal(12,2)", "decimal(5,0)", "decimal(3,3)", "decimal(38,10)"))
def test_decimals(values: list[str | None], type_name: str) -> None:
    check_all_ways(values, type_name)


@SETTINGS
@given(column_of(doubles), st.booleans())
def test_doubles(values: list[str | None], allow_nan: bool) -> None:
    check_all_ways(values, "double", allow_nan=allow_nan)


@SETTINGS
@given(column_of(booleans))
def test_booleans(values: list[str | None]) -> None:
    check_all_ways(values, "boolean")


@SETTINGS
@given(column_of(dates))
def test_dates(values: list[str | None]) -> None:
    check_all_ways(values, "date")


@SETTINGS
@given(column_of(timestamps()))
def test_timestamps(values: list[str | None]) -> None:
    check_all_ways(values, "timestamp")


@pytest.mark.parametrize(
    ("type_name", "text"),
    [
        ("long", "0x1F"),  # hex: Arrow reads it, the asset types do not
        ("int", "0X10"),
        ("decimal(12,2)", "1e2"),  # exponent
        ("decimal(12,2)", "2.5E1"),
        ("double", "1e400"),  # Arrow: infinity; careful: out of range
        ("timestamp", "2024-01-02T03"),  # an hour without minutes
        ("timestamp", "2024-01-02 03"),
        ("timestamp", "2024-01-02T03Z"),
        ("timestamp", "2024-01-02T03+02:00"),
        ("timestamp", "2024-01-02T03:04:05+02"),  # a two-digit offset
        ("timestamp", "2024-01-02T03:04:05.123-05"),
        ("timestamp", "1969-12-31T23:59:59.9999999"),  # truncation before 1970
        ("timestamp", "1969-12-31T23:59:59.123456789Z"),
    ],
)
def test_every_guard_keeps_arrow_from_reading_a_notation_differently(type_name: str, text: str) -> None:
    """Alone (one cast for the column) and among plain values (row by row)."""
    assert_same([text], type_name)
    assert_same([text, None], type_name)
    assert_same([text] * 100, type_name)
    plain = {"long": "7", "int": "7", "double": "1.5", "timestamp": "2024-01-02T03:04:05"}.get(
        type_name, "1.25"
    )
    assert_same([plain, text, plain, None, "junk"], type_name)


def test_the_row_by_row_path_sends_only_the_odd_rows_to_the_careful_parser(monkeypatch) -> None:
    """Per row, not per column: one odd value among many plain ones costs one careful row."""
    seen: list[int] = []
    real = casting.careful.parse_carefully

    def counting(text: pa.Array, type_name: str, **kwargs: object):
        seen.append(len(text))
        return real(text, type_name, **kwargs)

    monkeypatch.setattr(casting.careful, "parse_carefully", counting)
    values = ["2024-01-02T03:04:05"] * 5000 + ["2024-01-02t03:04:05"] + ["2024-01-02T03:04:05+02:00"] * 5000
    typed, failed = parse_text(pa.array(values), "timestamp")
    assert not pc.any(failed).as_py() and typed.null_count == 0
    assert seen == [1]
    seen.clear()
    values = ["2024-02-28"] * 3000 + ["2024-02-30"] + ["2024-02-29"] * 3000 + ["2023-02-29"]
    typed, failed = parse_text(pa.array(values), "date")
    assert failed.to_pylist() == [False] * 3000 + [True] + [False] * 3000 + [True]
    assert sum(seen) <= 2 * casting.LEAF_ROWS
