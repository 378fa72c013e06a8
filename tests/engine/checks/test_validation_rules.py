"""Each asset rule catches its own bad values; strict and warn modes act on them."""

from __future__ import annotations

import pytest

GOOD = "1,a@example.com,paid,10.5,2,0.25,true,2024-01-03,2024-01-02T03:04:05Z"


def _with(column: int, value: str, order_id: str = "2") -> str:
    cells = GOOD.split(",")
    cells[0] = order_id
    cells[column] = value
    return ",".join(cells)


@pytest.mark.parametrize(
    ("row", "rule"),
    [
        (_with(0, "", order_id=""), "order_id.required"),
        (_with(0, "abc", order_id="abc"), "order_id.type"),
        (_with(4, "2.5"), "quantity.type"),
        (_with(6, "maybe"), "gift.type"),
        (_with(7, "2024-02-30"), "ship_date.type"),
        (_with(8, "soon"), "ordered_at.type"),
        (_with(1, "not-an-email"), "email.pattern"),
        (_with(2, "lost"), "status.enum"),
        (_with(3, "-0.01"), "amount.min"),
        (_with(4, "0"), "quantity.min"),
        (_with(4, "101"), "quantity.max"),
    ],
)
def test_each_rule_counts_its_failure_and_strict_fails(ws, row: str, rule: str) -> None:
    ws.csv("orders.csv", GOOD, row)
    run = ws.run(ws.job())
    result = run.result
    assert result.exit_code == 2
    assert result.error_type == "ValidationError"
    assert result.error == f"validation failed (strict): 1 of 2 records invalid: {rule}=1"
    assert result.metrics["invalid_by_rule"] == {rule: 1}
    assert result.metrics["status"] == "failure"
    assert (result.metrics["records_valid"], result.metrics["records_invalid"]) == (1, 1)
    assert result.metrics["files_written"] == 0
    # the load is streamed in one pass: what it wrote before the invalid record is deleted,
    # and the table, which did not exist, was never created
    assert not ws.catalog().table_exists("acme.orders")
    assert list((ws.home / "warehouse").rglob("*.parquet")) == []


def test_bounds_are_inclusive_and_nulls_pass_optional_rules(ws) -> None:
    ws.csv(
        "orders.csv",
        _with(4, "1", order_id="1"),
        _with(4, "100", order_id="2"),
        _with(3, "0", order_id="3"),
        "4,,,,,,,,",
    )
    run = ws.run(ws.job())
    assert run.result.exit_code == 0, run.result.error
    assert [r["order_id"] for r in ws.rows()] == [1, 2, 3, 4]


def test_warn_mode_drops_invalid_rows_and_counts_every_rule(ws) -> None:
    ws.csv(
        "orders.csv",
        GOOD,
        _with(0, "abc", order_id="abc"),
        _with(1, "bad"),
        _with(2, "lost", order_id="3"),
        _with(3, "-1", order_id="4"),
        _with(4, "1000", order_id="5"),
        _with(0, "", order_id=""),
        _with(7, "2024-13-01", order_id="6"),
        _with(1, "bad", order_id="7")[: -len("2024-01-02T03:04:05Z")] + "never",  # two rules, one record
        _with(2, "shipped", order_id="8"),
    )
    run = ws.run(ws.job(validation="warn"))
    result = run.result
    assert result.exit_code == 1
    assert result.metrics["status"] == "partial"
    assert result.error_type == "ValidationError"
    assert (result.metrics["records_extracted"], result.metrics["records_valid"]) == (10, 2)
    assert result.metrics["records_invalid"] == 8
    assert result.metrics["invalid_by_rule"] == {
        "order_id.required": 1,
        "order_id.type": 1,
        "email.pattern": 2,
        "status.enum": 1,
        "amount.min": 1,
        "quantity.max": 1,
        "ship_date.type": 1,
        "ordered_at.type": 1,
    }
    assert result.error.startswith("validation failed (warn): 8 of 10 records invalid and dropped: ")
    assert "email.pattern=2" in result.error
    assert [r["order_id"] for r in ws.rows()] == [1, 8]
    assert result.metrics["files_written"] >= 1
    finished = run.events[-1]
    assert finished["event_type"] == "job_finished" and finished["exit_code"] == 1
    assert finished["status"] == "partial" and finished["level"] == "WARNING"


def test_warn_mode_without_invalid_rows_succeeds(ws) -> None:
    ws.csv("orders.csv", GOOD)
    result = ws.run(ws.job(validation="warn")).result
    assert (result.exit_code, result.error, result.metrics["status"]) == (0, None, "success")


def test_strict_failure_keeps_existing_table_untouched(ws) -> None:
    ws.csv("orders.csv", GOOD)
    assert ws.run(ws.job()).result.exit_code == 0
    before = ws.table().current_snapshot().snapshot_id
    ws.csv("orders.csv", _with(4, "0"), _with(4, "1", order_id="3"))
    result = ws.run(ws.job(), run_id="run-2").result
    assert result.exit_code == 2
    table = ws.table()
    assert table.current_snapshot().snapshot_id == before
    assert len(table.metadata.snapshots) == 1
    assert [r["order_id"] for r in ws.rows()] == [1]


def test_enum_values_are_typed_like_the_field(ws) -> None:
    from tests.support.workspace import ORDERS_FIELDS

    fields = [dict(f) for f in ORDERS_FIELDS]
    fields[4] = {"name": "quantity", "type": "int", "enum": [1, 2, 3]}
    ws.asset(fields)
    ws.csv("orders.csv", GOOD, _with(4, "02"), _with(4, "4", order_id="3"))
    result = ws.run(ws.job(validation="warn")).result
    assert result.metrics["invalid_by_rule"] == {"quantity.enum": 1}
    assert [r["order_id"] for r in ws.rows()] == [1, 2]


def test_unsupported_regex_is_a_config_error(ws) -> None:
    from tests.support.workspace import ORDERS_FIELDS

    fields = [dict(f) for f in ORDERS_FIELDS]
    fields[1] = {"name": "email", "type": "string", "pattern": "^(?=a).*$"}
    ws.asset(fields)
    ws.csv("orders.csv", GOOD)
    result = ws.run(ws.job()).result
    assert result.exit_code == 2
    assert (
        result.error_type == "ConfigError" and "fields[1].pattern" in result.error and "RE2" in result.error
    )
