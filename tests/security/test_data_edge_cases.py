"""Item 6's data edge cases of issue 15: values a careless export writes, record by record.

* ``NaN`` and ``Infinity`` are never valid doubles unless the asset field says ``allow_nan``;
* a JSON Lines value whose JSON type drifts between rows (``7`` then ``"7"``) or that holds an
  object or array for a scalar field fails its own row: quarantined in warn mode, refused in
  strict mode with the file, the line and the field in the error — never the whole file;
* fractions longer than microseconds are truncated, as documented, however many digits.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.support.workspace import Workspace

UTC = timezone.utc


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(root=tmp_path / "app", home=tmp_path / "home")


def jsonl_job(ws: Workspace, fields: list[dict], lines: list[str], validation: str = "strict"):
    ws.asset(fields)
    ws.data("events.jsonl", "\n".join(lines) + "\n")
    return ws.job(connector="jsonl", path="../../data/events.jsonl", validation=validation)


VALUE_FIELDS = [
    {"name": "order_id", "type": "long", "required": True},
    {"name": "value", "type": "double", "min": 0},
]
NOT_NUMBERS = [
    '{"order_id": 1, "value": NaN}',
    '{"order_id": 2, "value": Infinity}',
    '{"order_id": 3, "value": -Infinity}',
    '{"order_id": 4, "value": 1.5}',
]


def test_nan_and_infinity_in_json_lines_are_type_failures(ws: Workspace) -> None:
    strict = ws.run(jsonl_job(ws, VALUE_FIELDS, NOT_NUMBERS)).result
    assert strict.exit_code == 2
    assert strict.metrics["invalid_by_rule"] == {"value.type": 3}
    assert not ws.catalog().table_exists("acme.orders")

    warn = ws.run(jsonl_job(ws, VALUE_FIELDS, NOT_NUMBERS, "warn")).result
    assert warn.exit_code == 1
    assert ws.rows() == [{"order_id": 4, "value": 1.5}]
    rejected = ws.rows("acme.orders__rejected")
    assert [(r["order_id"], r["value"], r["_dativo_reasons"]) for r in rejected] == [
        ("1", "nan", ["value.type"]),
        ("2", "inf", ["value.type"]),
        ("3", "-inf", ["value.type"]),
    ]


def test_a_field_with_allow_nan_takes_them_and_still_checks_its_bounds(ws: Workspace) -> None:
    fields = [VALUE_FIELDS[0], {**VALUE_FIELDS[1], "allow_nan": True}]
    result = ws.run(jsonl_job(ws, fields, NOT_NUMBERS, "warn")).result
    assert result.exit_code == 1
    assert result.metrics["invalid_by_rule"] == {"value.min": 1}  # -Infinity < 0
    values = {r["order_id"]: r["value"] for r in ws.rows()}
    assert math.isnan(values[1]) and values[2] == math.inf and values[4] == 1.5 and 3 not in values


def test_nan_text_in_csv_and_nan_in_parquet_follow_the_same_rule(ws: Workspace) -> None:
    ws.asset(VALUE_FIELDS)
    ws.csv("orders.csv", "1,NaN", "2,-infinity", "3,2.5", header="order_id,value")
    assert ws.run(ws.job()).result.metrics["invalid_by_rule"] == {"value.type": 2}
    pq.write_table(pa.table({"order_id": [1, 2], "value": [math.nan, 2.5]}), ws.data("orders.parquet", b""))
    parquet = ws.run(ws.job(connector="parquet", path="../../data/orders.parquet")).result
    assert parquet.metrics["invalid_by_rule"] == {"value.type": 1}

    ws.asset([VALUE_FIELDS[0], {"name": "value", "type": "double", "allow_nan": True}])
    allowed = ws.run(ws.job(), run_id="run-2").result
    assert allowed.exit_code == 0, allowed.error
    values = [r["value"] for r in ws.rows()]
    assert math.isnan(values[0]) and values[1:] == [-math.inf, 2.5]


def test_allow_nan_is_for_double_fields_only(ws: Workspace) -> None:
    from airflow_provider_dativo.config.errors import DativoConfigError
    from airflow_provider_dativo.config.loader import load_asset

    ws.asset([{"name": "order_id", "type": "long", "allow_nan": True}])
    with pytest.raises(DativoConfigError, match="allow_nan applies to double fields only"):
        load_asset(ws.job())


DRIFT_FIELDS = [
    {"name": "order_id", "type": "long", "required": True},
    {"name": "qty", "type": "long"},
    {"name": "note", "type": "string"},
]
DRIFTING = [
    '{"order_id": 1, "qty": 7, "note": "a"}',
    '{"order_id": 2, "qty": "7", "note": "b"}',  # the type drifted: a string after numbers
    '{"order_id": 3, "qty": 8, "note": {"text": "c"}}',  # an object for a string
    '{"order_id": 4, "qty": [9], "note": "d"}',  # an array for a number
    '{"order_id": 5, "qty": 10, "note": "e"}',
]


def test_a_drifting_or_nested_json_value_is_quarantined_with_its_row_only(ws: Workspace) -> None:
    result = ws.run(jsonl_job(ws, DRIFT_FIELDS, DRIFTING, "warn")).result
    assert result.exit_code == 1
    assert result.metrics["invalid_by_rule"] == {"qty.type": 2, "note.type": 1}
    assert [(r["order_id"], r["qty"]) for r in ws.rows()] == [(1, 7), (5, 10)]
    rejected = ws.rows("acme.orders__rejected")
    assert [(r["order_id"], r["qty"], r["note"], r["_dativo_reasons"]) for r in rejected] == [
        ("2", "7", "b", ["qty.type"]),
        ("3", "8", '{"text": "c"}', ["note.type"]),
        ("4", "[9]", "d", ["qty.type"]),
    ]


def test_strict_mode_names_the_file_the_line_and_the_field(ws: Workspace) -> None:
    job = jsonl_job(ws, DRIFT_FIELDS, DRIFTING)
    result = ws.run(job).result
    assert result.exit_code == 2 and result.error_type == "ValidationError"
    path = ws.root / "data" / "events.jsonl"
    assert result.error == (
        "validation failed (strict): 3 of 5 records invalid: qty.type=2, note.type=1; "
        f"the first is at {path}, line 2: field 'qty' (type)"
    )
    assert result.metrics["first_invalid"] == f"{path}, line 2: field 'qty' (type)"
    assert not ws.catalog().table_exists("acme.orders")


def test_the_line_is_right_far_into_a_large_file(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider_dativo.engine.sources import files

    monkeypatch.setattr(files, "JSONL_CHUNK_BYTES", 4096)  # many chunks, each read on its own
    lines = [f'{{"order_id": {i}, "qty": {i}, "note": "n"}}' for i in range(1, 3001)]
    lines[2499] = '{"order_id": 2500, "qty": "2500", "note": "n"}'
    result = ws.run(jsonl_job(ws, DRIFT_FIELDS, lines)).result
    assert result.exit_code == 2
    assert result.error.endswith("line 2500: field 'qty' (type)"), result.error


TIME_FIELDS = [{"name": "order_id", "type": "long"}, {"name": "at", "type": "timestamp"}]


@pytest.mark.parametrize(
    "text",
    [
        "2024-01-02T03:04:05.1234567891Z",
        "2024-01-02 03:04:05.123456789012+00:00",
        "2024-01-02T03:04:05.1234569",
    ],
)
def test_fractions_beyond_microseconds_are_truncated_however_long(ws: Workspace, text: str) -> None:
    expected = datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    ws.asset(TIME_FIELDS)
    ws.csv("orders.csv", f"1,{text}", header="order_id,at")
    result = ws.run(ws.job()).result
    assert result.exit_code == 0, result.error
    ws.data("events.jsonl", f'{{"order_id": 2, "at": "{text}"}}\n')
    result = ws.run(ws.job(connector="jsonl", path="../../data/events.jsonl"), run_id="run-2").result
    assert result.exit_code == 0, result.error
    assert [r["at"] for r in ws.rows()] == [expected, expected]


def test_incremental_jobs_keep_the_failures_and_the_lines_through_cursor_selection(ws: Workspace) -> None:
    """Cursor selection filters each batch before validation: the noted type failures and the
    rows' lines must follow their rows through it."""
    ws.asset(DRIFT_FIELDS)
    ws.data("events.jsonl", "\n".join(DRIFTING) + "\n")
    incremental = {"incremental": {"cursor_field": "order_id", "start": 1}}  # order 1 is not new
    job = ws.job(connector="jsonl", path="../../data/events.jsonl", validation="warn", source=incremental)
    result = ws.run(job).result
    assert result.exit_code == 1
    assert result.metrics["records_skipped_by_cursor"] == 1
    assert result.metrics["invalid_by_rule"] == {"qty.type": 2, "note.type": 1}
    assert (
        result.metrics["first_invalid"] == f"{ws.root / 'data' / 'events.jsonl'}, line 2: field 'qty' (type)"
    )
    assert [r["order_id"] for r in ws.rows()] == [5]
