"""Schema evolution: new optional fields are added with the data; changes that lose data are refused."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pyiceberg.schema import Schema
from pyiceberg.types import DoubleType, FloatType, LongType, NestedField, StringType

from airflow_provider_dativo.engine.errors import SchemaIncompatible
from airflow_provider_dativo.engine.iceberg.evolution import plan_changes

BASE: list[dict[str, Any]] = [
    {"name": "id", "type": "long", "required": True},
    {"name": "qty", "type": "int"},
    {"name": "price", "type": "decimal(8,2)"},
    {"name": "score", "type": "double"},
    {"name": "label", "type": "string"},
    {"name": "seen_at", "type": "timestamp"},
]
HEADER = "id,qty,price,score,label,seen_at"
ROW = "{id},2,9.99,0.5,x,2024-01-01T00:00:00Z"


Fields = list[dict[str, Any]]


def _with(changes: dict[str, dict[str, Any]], extra: Fields | None = None) -> Fields:
    fields = [{**f, **changes.get(f["name"], {})} for f in BASE]
    return fields + (extra or [])


@pytest.fixture
def loaded(ws):
    """A table holding one record written with the BASE asset."""
    ws.asset(BASE)
    ws.csv("orders.csv", ROW.format(id=1), header=HEADER)
    job = ws.job()
    assert ws.run(job, run_id="base").result.exit_code == 0
    return ws


def _snapshots(ws) -> int:
    return len(ws.table().metadata.snapshots)


def test_new_optional_field_is_added_in_the_same_commit_as_the_data(loaded) -> None:
    ws = loaded
    ws.asset(_with({}, extra=[{"name": "region", "type": "string"}]))
    ws.csv("orders.csv", ROW.format(id=2) + ",eu", header=HEADER + ",region")
    result = ws.run(ws.job(), run_id="second").result
    assert result.exit_code == 0, result.error
    table = ws.table()
    assert [f.name for f in table.schema().fields][-1] == "region"
    assert len(table.metadata.snapshots) == 2
    # the new schema and the snapshot that uses it arrived in one metadata version
    assert table.metadata.current_schema_id == table.current_snapshot().schema_id
    assert [(r["id"], r["region"]) for r in ws.rows(key="id")] == [(1, None), (2, "eu")]


def test_safe_promotions_are_applied_and_keep_values(loaded) -> None:
    ws = loaded
    ws.asset(_with({"qty": {"type": "long"}, "price": {"type": "decimal(12,2)"}}))
    ws.csv("orders.csv", "2,5000000000,1234567890.12,0.5,x,2024-01-01", header=HEADER)
    result = ws.run(ws.job(), run_id="wider").result
    assert result.exit_code == 0, result.error
    schema = ws.table().schema()
    assert str(schema.find_field("qty").field_type) == "long"
    assert str(schema.find_field("price").field_type) == "decimal(12, 2)"
    assert [(r["qty"], r["price"]) for r in ws.rows(key="id")] == [
        (2, Decimal("9.99")),
        (5000000000, Decimal("1234567890.12")),
    ]


def test_required_column_becoming_optional_is_relaxed(loaded) -> None:
    ws = loaded
    ws.asset(_with({"id": {"required": False}}))
    ws.csv("orders.csv", ",2,1,0.5,y,2024-01-01", header=HEADER)
    result = ws.run(ws.job(), run_id="relaxed").result
    assert result.exit_code == 0, result.error
    assert not ws.table().schema().find_field("id").required
    assert sorted(r["id"] is None for r in ws.table().scan().to_arrow().to_pylist()) == [False, True]


@pytest.mark.parametrize(
    ("change", "old", "new"),
    [
        ({"id": {"type": "int"}}, "long", "int"),
        ({"score": {"type": "long"}}, "double", "long"),
        ({"label": {"type": "long"}}, "string", "long"),
        ({"seen_at": {"type": "date"}}, "timestamptz", "date"),
        ({"price": {"type": "decimal(6,2)"}}, "decimal(8, 2)", "decimal(6, 2)"),
    ],
)
def test_lossy_type_change_is_refused_and_nothing_is_written(
    loaded, change: dict[str, dict[str, Any]], old: str, new: str
) -> None:
    ws = loaded
    ws.asset(_with(change))
    ws.csv("orders.csv", "2,2,1,1,3,2024-01-01", header=HEADER)
    run = ws.run(ws.job(), run_id="narrow")
    assert run.result.exit_code == 2
    assert run.result.error_type == "SchemaError"
    column = next(iter(change))
    assert (
        f"column {column!r} cannot change type from {old} to {new}: values could be lost "
        "(safe changes: int -> long, float -> double, decimal(p,s) -> decimal(P,s) with P > p)"
    ) in run.result.error
    assert run.result.error.startswith(
        "SchemaError: table acme.orders does not fit asset 'orders', nothing was written: "
    )
    assert _snapshots(ws) == 1 and str(ws.table().schema().find_field(column).field_type) == old


def test_removed_field_is_refused(loaded) -> None:
    ws = loaded
    ws.asset([f for f in BASE if f["name"] != "label"])
    ws.csv("orders.csv", "2,2,1,1,2024-01-01", header="id,qty,price,score,seen_at")
    result = ws.run(ws.job(), run_id="dropped").result
    assert result.exit_code == 2 and result.error_type == "SchemaError"
    assert (
        "column 'label' (string) is not in the asset; dropping a column is not supported (its data "
        "would be lost): add the field back to the asset as optional, or write to a new table"
    ) in result.error
    assert _snapshots(ws) == 1


def test_new_required_field_on_a_table_with_rows_is_refused(loaded) -> None:
    ws = loaded
    ws.asset(_with({}, extra=[{"name": "region", "type": "string", "required": True}]))
    ws.csv("orders.csv", ROW.format(id=2) + ",eu", header=HEADER + ",region")
    result = ws.run(ws.job(), run_id="required").result
    assert result.exit_code == 2 and result.error_type == "SchemaError"
    assert (
        "new column 'region' (string) is required but the table already has rows, which would have "
        "no value for it: make the field optional (required: false) or write to a new table"
    ) in result.error
    assert "region" not in [f.name for f in ws.table().schema().fields]


def test_new_required_field_on_an_empty_table_is_added(ws) -> None:
    ws.asset(BASE)
    ws.csv("orders.csv", header=HEADER)
    assert ws.run(ws.job(), run_id="empty").result.exit_code == 0  # creates the table, no rows
    ws.asset(_with({}, extra=[{"name": "region", "type": "string", "required": True}]))
    ws.csv("orders.csv", ROW.format(id=1) + ",eu", header=HEADER + ",region")
    result = ws.run(ws.job(), run_id="first-rows").result
    assert result.exit_code == 0, result.error
    assert ws.table().schema().find_field("region").required


def test_incompatible_schema_writes_no_quarantine_either(loaded) -> None:
    ws = loaded
    ws.asset(_with({"score": {"type": "long"}}))
    ws.csv("orders.csv", "2,2,1,1,x,2024-01-01", "3,bad,1,1,x,2024-01-01", header=HEADER)
    result = ws.run(ws.job(validation="warn"), run_id="both").result
    assert result.exit_code == 2 and result.error_type == "SchemaError"
    assert not ws.catalog().table_exists("acme.orders__rejected")


def test_float_to_double_is_a_safe_promotion() -> None:
    table = Schema(NestedField(1, "x", FloatType()), NestedField(2, "y", StringType()))
    asset = Schema(NestedField(1, "x", DoubleType()), NestedField(2, "y", StringType()))
    [change] = plan_changes(table, asset, table_has_rows=True, table_name="t", asset_name="a")
    assert (change.kind, change.field.field_type) == ("promote", DoubleType())
    with pytest.raises(SchemaIncompatible, match="column 'x' cannot change type from double to float"):
        plan_changes(asset, table, table_has_rows=True, table_name="t", asset_name="a")
    with pytest.raises(SchemaIncompatible, match="column 'y' cannot change type from string to long"):
        plan_changes(
            table,
            Schema(NestedField(1, "x", FloatType()), NestedField(2, "y", LongType())),
            table_has_rows=False,
            table_name="t",
            asset_name="a",
        )
