"""Text -> typed parsing: every bad value is caught per row, good ones convert exactly."""

from __future__ import annotations

import random
from datetime import date, datetime, timezone
from decimal import Decimal

import pyarrow as pa
import pytest

from airflow_provider_dativo.engine.checks import casting
from airflow_provider_dativo.engine.checks.casting import parse_text

UTC = timezone.utc


def parse(values: list[str | None], type_name: str) -> list[tuple[object, bool]]:
    typed, failed = parse_text(pa.array(values, pa.string()), type_name)
    return list(zip(typed.to_pylist(), failed.to_pylist(), strict=True))


def test_int_parses_signs_spaces_and_rejects_overflow_and_fractions() -> None:
    assert parse([" +42 ", "-007", "2147483647", "2147483648", "1.5", "x", None], "int") == [
        (42, False),
        (-7, False),
        (2147483647, False),
        (None, True),
        (None, True),
        (None, True),
        (None, False),
    ]


def test_long_bounds() -> None:
    assert parse(["9223372036854775807", "-9223372036854775808", "9223372036854775808"], "long") == [
        (9223372036854775807, False),
        (-9223372036854775808, False),
        (None, True),
    ]


def test_double_rejects_non_finite_and_text() -> None:
    assert parse(["1.5", "-.5", "1e3", "1e400", "nan", "abc"], "double") == [
        (1.5, False),
        (-0.5, False),
        (1000.0, False),
        (None, True),
        (None, True),
        (None, True),
    ]


def test_decimal_checks_precision_and_scale_per_row() -> None:
    assert parse(["123.45", "123.450", "1234.5", "0.001", "-0.5", "1e2"], "decimal(5,2)") == [
        (Decimal("123.45"), False),
        (Decimal("123.45"), False),
        (None, True),
        (None, True),
        (Decimal("-0.50"), False),
        (None, True),
    ]


def test_boolean_words() -> None:
    assert parse(["true", "FALSE", " yes ", "no", "1", "0", "maybe"], "boolean") == [
        (True, False),
        (False, False),
        (True, False),
        (False, False),
        (True, False),
        (False, False),
        (None, True),
    ]


def test_date_rejects_impossible_days() -> None:
    assert parse(["2024-02-29", "2023-02-29", "2024-02-30", "2024-1-2", "2024-13-01"], "date") == [
        (date(2024, 2, 29), False),
        (None, True),
        (None, True),
        (None, True),
        (None, True),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-02T03:04:05Z", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2024-01-02T03:04:05+00:00", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2024-01-02 03:04:05+02:00", datetime(2024, 1, 2, 1, 4, 5, tzinfo=UTC)),
        ("2024-01-02T03:04:05.250", datetime(2024, 1, 2, 3, 4, 5, 250000, tzinfo=UTC)),
        ("2024-01-02T03:04:05.123456789", datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)),
        ("2024-01-02T03:04", datetime(2024, 1, 2, 3, 4, tzinfo=UTC)),
        ("2024-01-02", datetime(2024, 1, 2, tzinfo=UTC)),
    ],
)
def test_timestamp_iso_variants_are_utc(text: str, expected: datetime) -> None:
    [(value, failed)] = parse([text], "timestamp")
    assert failed is False
    assert value == expected


@pytest.mark.parametrize("text", ["2024-02-30T00:00:00Z", "2024-01-02T24:00:00", "02/01/2024", "yesterday"])
def test_timestamp_rejects_invalid(text: str) -> None:
    assert parse([text], "timestamp") == [(None, True)]


def test_zoned_timestamps_parse_the_same_on_the_direct_path_and_the_general_path() -> None:
    """All-zoned columns take Arrow's direct cast; one naive value sends a column down the
    general path. Both must agree value for value, rejections included."""
    zoned = [
        "2024-01-02T03:04:05Z",
        "2024-01-02 03:04:05+02:00",
        "2024-06-01T10:00:00.5-0130",
        "2024-02-30T00:00:00Z",
        None,
        " 2024-12-31T23:59:59.999999z ",
    ]
    direct_typed, direct_failed = parse_text(pa.array(zoned), "timestamp")
    general_typed, general_failed = parse_text(pa.array([*zoned, "2024-01-02T03:04:05"]), "timestamp")
    assert direct_typed.to_pylist() == general_typed.to_pylist()[:-1]
    assert direct_failed.to_pylist() == general_failed.to_pylist()[:-1]
    assert direct_failed.to_pylist() == [False, False, False, True, False, False]


def _random_numeric_text(rng: random.Random, count: int) -> list[str | None]:
    """Short strings built from the characters numbers are written with, plus the letters of
    hex, exponents and words, so both accepted and rejected shapes are common."""
    alphabet = "0123456789" * 3 + "+-.eExX afn\t"
    values: list[str | None] = []
    for _ in range(count):
        if rng.random() < 0.05:
            values.append(None)
            continue
        values.append("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8))))
    edges = ["0x10", "0X1F", "1e3", "-.5e-1", "+7", "007", "1.", "+.5", " 12", "9" * 20, "-" + "9" * 19]
    return values + edges


@pytest.mark.parametrize("type_name", ["int", "long", "decimal(12,2)", "decimal(5,0)"])
def test_arrow_fast_cast_reads_every_value_as_the_careful_parser_does(type_name: str) -> None:
    """Integers and decimals first try Arrow's own cast of the whole column; that shortcut must
    never accept a value the careful parser rejects, nor read one differently."""
    careful = (
        casting._parse_decimal_carefully
        if type_name.startswith("decimal")
        else casting._parse_integer_carefully
    )
    rng = random.Random(20261122)
    for _ in range(120):
        text = pa.array(_random_numeric_text(rng, 3), pa.string())
        for (
            value
        ) in text.to_pylist():  # one at a time: each column of one value takes the fast cast if it can
            single = pa.array([value], pa.string())
            fast_typed, fast_failed = parse_text(single, type_name)
            slow_typed, slow_failed = careful(single, type_name)
            assert (fast_typed.to_pylist(), fast_failed.to_pylist()) == (
                slow_typed.to_pylist(),
                slow_failed.to_pylist(),
            ), value
        typed, failed = parse_text(text, type_name)
        slow_typed, slow_failed = careful(text, type_name)
        assert (typed.to_pylist(), failed.to_pylist()) == (slow_typed.to_pylist(), slow_failed.to_pylist())
