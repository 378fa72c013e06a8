"""``target.partition_by`` and ``target.sort_by``: the syntax, and the checks against the asset
that name the file, line and field (``dativo validate`` and the engine share them)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from airflow_provider_dativo.cli.main import main
from airflow_provider_dativo.config.errors import DativoConfigError
from airflow_provider_dativo.config.layout import PartitionField, SortField, parse_partition, parse_sort
from airflow_provider_dativo.config.loader import load_job
from tests.support.examples import EXAMPLES


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("country", PartitionField("identity", "country")),
        ("day(created_at)", PartitionField("day", "created_at")),
        ("days(created_at)", PartitionField("day", "created_at")),  # Spark's plural
        ("YEAR(created_at)", PartitionField("year", "created_at")),
        ("bucket(16, customer_id)", PartitionField("bucket", "customer_id", 16)),
        ("truncate(4,sku)", PartitionField("truncate", "sku", 4)),
    ],
)
def test_partition_fields_parse(text: str, field: PartitionField) -> None:
    assert parse_partition(text) == field


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("week(ts)", "unknown partition transform 'week'"),
        ("bucket(ts)", "write bucket(N, column) with N a whole number"),
        ("bucket(0, id)", "N must be from 1 to"),
        ("truncate(id, 4)", "write truncate(W, column)"),
        ("day(a, b)", "write day(column) with one column name"),
        ("a-b", "is not a partition field"),
    ],
)
def test_bad_partition_fields_say_what_is_allowed(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_partition(text)


def test_sort_fields_default_nulls_as_iceberg_does() -> None:
    assert parse_sort("id") == SortField("id", descending=False, nulls_first=True)
    assert parse_sort("id desc") == SortField("id", descending=True, nulls_first=False)
    assert parse_sort("id  DESC nulls FIRST") == SortField("id", descending=True, nulls_first=True)
    with pytest.raises(ValueError, match="column \\[asc\\|desc\\] \\[nulls first\\|last\\]"):
        parse_sort("id sideways")


ASSET = """\
name: orders
fields:
  - {name: order_id, type: long, required: true}
  - {name: amount, type: "decimal(10,2)"}
  - {name: gift, type: boolean}
  - {name: ship_date, type: date}
  - {name: ordered_at, type: timestamp}
"""


def _job(root: Path, target: str) -> Path:
    (root / "assets").mkdir(parents=True, exist_ok=True)
    (root / "assets" / "orders.yaml").write_text(ASSET)
    (root / "data").mkdir(exist_ok=True)
    (root / "data" / "orders.csv").write_text("order_id\n1\n")
    job = root / "jobs" / "acme" / "job.yaml"
    job.parent.mkdir(parents=True, exist_ok=True)
    job.write_text(
        "source_connector: csv\nsource: {path: ../../data/orders.csv}\nasset: orders\n"
        "target:\n  table: orders\n" + textwrap.indent(textwrap.dedent(target), "  ")
    )
    return job


def test_validate_names_unknown_columns_and_unfit_transforms_with_line_and_field(
    tmp_path: Path, capsys
) -> None:
    job = _job(
        tmp_path,
        """\
        mode: merge
        merge_keys: [order_id, missing_key]
        partition_by:
          - day(amount)
          - hour(ship_date)
          - truncate(2, gift)
          - bucket(8, ordered_at)
          - customer
        sort_by:
          - ordered_at desc
          - nope asc
        """,
    )
    assert main(["validate", str(job)]) == 2
    lines = capsys.readouterr().out.splitlines()
    expected = [
        (9, "target.partition_by[0]", "transform day does not apply to column 'amount' of type decimal"),
        (10, "target.partition_by[1]", "transform hour does not apply to column 'ship_date' of type date"),
        (11, "target.partition_by[2]", "transform truncate does not apply to column 'gift' of type boolean"),
        (13, "target.partition_by[4]", "column 'customer' is not a field of asset 'orders'"),
        (16, "target.sort_by[1]", "column 'nope' is not a field of asset 'orders'"),
        (7, "target.merge_keys[1]", "column 'missing_key' is not a field of asset 'orders'"),
    ]
    for line, field, message in expected:
        assert any(text.startswith(f"{job}:{line}: {field}: ") and message in text for text in lines), (
            field,
            lines,
        )
    assert len(lines) == len(expected)  # bucket(8, ordered_at) and the others are fine


def test_a_syntax_error_is_reported_at_the_entry_line(tmp_path: Path) -> None:
    job = _job(tmp_path, "partition_by:\n  - country\n  - week(ordered_at)\nsort_by: [a, a desc]\n")
    with pytest.raises(DativoConfigError) as caught:
        load_job(job)
    problems = {(p.line, p.field): p.message for p in caught.value.problems}
    assert "unknown partition transform 'week'" in problems[(8, "target.partition_by[1]")]
    assert "sorts by column 'a' twice" in problems[(9, "target.sort_by")]


def test_two_time_transforms_of_one_column_are_refused(tmp_path: Path) -> None:
    job = _job(tmp_path, "partition_by: [day(ordered_at), month(ordered_at)]\n")
    with pytest.raises(DativoConfigError, match="partitions column 'ordered_at' again"):
        load_job(job)


def test_the_partitioned_example_job_is_valid() -> None:
    job = EXAMPLES / "jobs" / "acme" / "orders_partitioned_to_iceberg.yaml"
    assert main(["validate", str(job)]) == 0
    target = load_job(job, app_root=str(EXAMPLES)).config.target
    assert target.partition_by and target.sort_by
