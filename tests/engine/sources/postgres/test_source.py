"""The postgres connector against a real PostgreSQL (Debian's package, started by the tests)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from tests.support.connector_deployment import everything_said
from tests.support.postgres import PASSWORD

ORDERS_FIELDS = [
    {"name": "order_id", "type": "long", "required": True},
    {"name": "customer_email", "type": "string", "required": True},
    {"name": "status", "type": "string", "required": True, "enum": ["pending", "paid", "shipped"]},
    {"name": "amount", "type": "decimal(10,2)", "required": True, "min": 0},
    {"name": "gift", "type": "boolean"},
    {"name": "note", "type": "string"},
    {"name": "ordered_at", "type": "timestamp", "required": True},
    {"name": "updated_at", "type": "timestamp", "required": True},
]
ROWS = """
    (1, 'a@x.io', 'paid', 12.50, true, 'first', '2026-01-01 10:00:00+02', '2026-01-01 08:00:00+00', 7),
    (2, 'b@x.io', 'pending', 0.99, false, NULL, '2026-01-02 00:00:00+00', '2026-01-02 00:00:00+00', 7),
    (3, 'c@x.io', 'paid', 1000.00, NULL, NULL, '2026-01-03 00:00:00.123456+00', '2026-01-03 00:00:00+00', 7)
"""


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def database(postgres_server) -> str:
    """A database of its own for this module's tables."""
    name = f"shop_{uuid.uuid4().hex[:8]}"
    postgres_server.create_database(name)
    return name


@pytest.fixture
def orders(postgres_server, database) -> str:
    """A fresh ``orders`` table (own name per test) with three rows and a column the asset lacks."""
    table = f"orders_{uuid.uuid4().hex[:8]}"
    postgres_server.psql(
        f"""CREATE TABLE public.{table} (
              order_id bigint PRIMARY KEY, customer_email text NOT NULL, status text NOT NULL,
              amount numeric(10,2) NOT NULL, gift boolean, note text, ordered_at timestamptz NOT NULL,
              updated_at timestamptz NOT NULL, internal_flag integer);
            INSERT INTO public.{table} VALUES {ROWS};""",
        database,
    )
    return table


@pytest.fixture
def pg(deployment, postgres_server, database):
    """Source settings for the test server (password from the tenant's secret file)."""
    deployment.asset("shop_orders", ORDERS_FIELDS)
    deployment.secrets(PG_PASSWORD=PASSWORD)
    return {
        "host": postgres_server.host,
        "port": postgres_server.port,
        "database": database,
        "user": postgres_server.user,
        "password": "${secret:PG_PASSWORD}",
    }


def pg_job(deployment, pg, *, table: str | None = None, query: str | None = None, **extra):
    source = {
        **pg,
        **({"table": f"public.{table}"} if table else {"query": query}),
        **extra.pop("source", {}),
    }
    return deployment.job("postgres", source, asset="shop_orders", table="shop_orders", **extra)


def test_full_load_maps_numeric_timestamptz_text_boolean_and_null(deployment, pg, orders) -> None:
    run = deployment.run(pg_job(deployment, pg, table=orders))
    assert run.result.exit_code == 0, run.result.error
    assert run.result.metrics["records_valid"] == 3
    rows = deployment.rows("acme.shop_orders", "order_id")
    assert rows[0] == {
        "order_id": 1,
        "customer_email": "a@x.io",
        "status": "paid",
        "amount": Decimal("12.50"),
        "gift": True,
        "note": "first",
        "ordered_at": utc(2026, 1, 1, 8),  # +02 read as the same instant in UTC
        "updated_at": utc(2026, 1, 1, 8),
    }
    assert rows[1]["gift"] is False and rows[1]["note"] is None and rows[2]["gift"] is None
    assert rows[2]["ordered_at"] == utc(2026, 1, 3, 0, 0, 0, 123456)
    assert rows[2]["amount"] == Decimal("1000.00")
    schema = deployment.table("acme.shop_orders").schema()
    assert str(schema.find_field("amount").field_type) == "decimal(10, 2)"
    assert str(schema.find_field("updated_at").field_type) == "timestamptz"
    assert "internal_flag" not in schema.column_names  # only the asset's columns are read


def test_incremental_merge_loads_only_new_and_updated_rows(deployment, pg, orders, postgres_server, database):
    job = pg_job(
        deployment,
        pg,
        table=orders,
        source={"incremental": {"cursor_field": "updated_at"}},
        mode="merge",
        merge_keys=["order_id"],
    )
    first = deployment.run(job)
    assert first.result.exit_code == 0, first.result.error
    assert first.result.metrics["cursor_after"] == "2026-01-03T00:00:00+00:00"

    postgres_server.psql(
        f"""UPDATE public.{orders} SET status = 'shipped', updated_at = '2026-01-05 00:00:00+00'
              WHERE order_id = 2;
            INSERT INTO public.{orders} VALUES
              (4, 'd@x.io', 'pending', 5.00, NULL, NULL, '2026-01-04 0:00+00', '2026-01-04 0:00+00', 1);""",
        database,
    )
    second = deployment.run(job)
    assert second.result.exit_code == 0, second.result.error
    assert second.result.metrics["records_extracted"] == 2  # only order 2 (updated) and 4 (new)
    assert second.result.metrics["cursor_before"] == "2026-01-03T00:00:00+00:00"
    assert second.result.metrics["cursor_after"] == "2026-01-05T00:00:00+00:00"
    rows = deployment.rows("acme.shop_orders", "order_id")
    assert [(r["order_id"], r["status"]) for r in rows] == [
        (1, "paid"),
        (2, "shipped"),
        (3, "paid"),
        (4, "pending"),
    ]

    third = deployment.run(job)
    assert third.result.exit_code == 0 and third.result.metrics["records_extracted"] == 0
    assert third.result.metrics["cursor_after"] == "2026-01-05T00:00:00+00:00"


def test_streamed_incremental_append_asks_the_database_only_for_new_rows(
    deployment, pg, orders, postgres_server, database
):
    job = pg_job(deployment, pg, table=orders, source={"incremental": {"cursor_field": "updated_at"}})
    assert deployment.run(job).result.exit_code == 0
    postgres_server.psql(
        f"""INSERT INTO public.{orders} VALUES
              (5, 'e@x.io', 'paid', 1.00, true, NULL, '2026-02-01 0:00+00', '2026-02-01 0:00+00', 1),
              (6, 'f@x.io', 'paid', 2.00, true, NULL, '2026-02-02 0:00+00', '2026-02-02 0:00+00', 1);""",
        database,
    )
    second = deployment.run(job)
    metrics = second.result.metrics
    assert second.result.exit_code == 0, second.result.error
    # The WHERE clause did the selection: the engine saw only the two new rows and the row at
    # the committed cursor (re-read as the boundary, issue 16), which it skipped.
    assert metrics["records_extracted"] == 2 and metrics["records_skipped_by_cursor"] == 1
    snapshot = deployment.table("acme.shop_orders").current_snapshot()
    properties = snapshot.summary.additional_properties
    # data and cursor land in the same commit
    assert snapshot.summary.additional_properties["added-records"] == "2"
    assert json.loads(properties["dativo.cursor.updated_at"]) == "2026-02-02T00:00:00+00:00"
    assert properties["dativo.run-id"] == second.events[0]["run_id"]
    assert [r["order_id"] for r in deployment.rows("acme.shop_orders", "order_id")] == [1, 2, 3, 5, 6]


def test_query_error_exits_2_with_the_sql_error_and_no_secret(deployment, pg) -> None:
    job = pg_job(deployment, pg, query="SELECT order_id FROM no_such_table", redaction=False)
    run = deployment.run(job)
    assert run.result.exit_code == 2
    assert run.result.error_type == "SourceError"
    assert 'relation "no_such_table" does not exist' in run.result.error
    assert "42P01" in run.result.error  # the SQLSTATE
    assert PASSWORD not in everything_said(run)  # even with redaction off


def test_wrong_password_is_a_retryable_connection_error_without_the_password(deployment, pg) -> None:
    deployment.secrets(PG_PASSWORD="not-the-right-password-123")
    run = deployment.run(pg_job(deployment, pg, table="whatever", redaction=False))
    assert run.result.exit_code == 2 and run.result.error_type == "ConnectionError"
    assert "password authentication failed" in run.result.error
    assert "not-the-right-password-123" not in everything_said(run)


def test_password_from_an_airflow_connection(deployment, pg, orders, monkeypatch) -> None:
    from airflow_provider_dativo.hooks.dativo import airflow_secrets_loader

    deployment.secrets(OTHER="unrelated-value")  # the file no longer defines PG_PASSWORD
    connection = {"conn_type": "postgres", "password": PASSWORD}
    monkeypatch.setenv("AIRFLOW_CONN_DATIVO_ACME_PG_PASSWORD", json.dumps(connection))
    run = deployment.run(pg_job(deployment, pg, table=orders), secrets_loader=airflow_secrets_loader)
    assert run.result.exit_code == 0, run.result.error
    loaded = next(e for e in run.events if e["event_type"] == "secrets_loaded")
    assert loaded["sources"] == {"files": 1, "connections": 1}


def test_query_mode_and_a_query_column_the_asset_lacks(deployment, pg, orders) -> None:
    columns = ", ".join(f["name"] for f in ORDERS_FIELDS)
    query = f"SELECT {columns} FROM public.{orders} WHERE status = 'paid' -- paid only"
    ok = deployment.run(pg_job(deployment, pg, query=query))
    assert ok.result.exit_code == 0, ok.result.error
    assert [r["order_id"] for r in deployment.rows("acme.shop_orders", "order_id")] == [1, 3]

    bad = deployment.run(pg_job(deployment, pg, query=f"SELECT * FROM public.{orders};", name="bad"))
    assert bad.result.exit_code == 2
    assert "columns not in asset 'shop_orders': 'internal_flag'" in bad.result.error


def test_missing_required_column_and_incompatible_type_are_named(deployment, pg, orders) -> None:
    missing = deployment.run(pg_job(deployment, pg, query=f"SELECT order_id FROM public.{orders}"))
    assert missing.result.exit_code == 2
    assert "missing required or cursor columns 'customer_email'" in missing.result.error

    query = (
        f"SELECT order_id, customer_email, status, amount, decode('00', 'hex') AS gift, note, ordered_at, "
        f"updated_at FROM public.{orders}"
    )
    wrong = deployment.run(pg_job(deployment, pg, query=query, name="wrong"))
    assert wrong.result.exit_code == 2
    assert "column 'gift' is bytea, which cannot hold boolean values" in wrong.result.error


def test_numeric_that_does_not_fit_the_decimal_fails_its_record(deployment, pg, orders) -> None:
    columns = ", ".join(
        "amount + 0.001 AS amount" if f["name"] == "amount" else f["name"] for f in ORDERS_FIELDS
    )
    query = f"SELECT {columns} FROM public.{orders} WHERE order_id = 2 UNION ALL SELECT {', '.join(f['name'] for f in ORDERS_FIELDS)} FROM public.{orders} WHERE order_id = 1"  # noqa: E501
    run = deployment.run(pg_job(deployment, pg, query=query, validation="warn"))
    assert run.result.exit_code == 1
    assert run.result.metrics["invalid_by_rule"] == {"amount.type": 1}
    assert [r["order_id"] for r in deployment.rows("acme.shop_orders", "order_id")] == [1]


def test_the_source_streams_in_bounded_record_batches(deployment, pg, postgres_server, database) -> None:
    from airflow_provider_dativo.config.loader import load_asset
    from airflow_provider_dativo.engine.events import EventEmitter
    from airflow_provider_dativo.engine.secrets.setup import prepare_secrets
    from airflow_provider_dativo.engine.sources.base import get_source
    from airflow_provider_dativo.engine.sources.batched import RecordBatchSource

    table = f"many_{uuid.uuid4().hex[:8]}"
    postgres_server.psql(
        f"""CREATE TABLE public.{table} AS SELECT g AS order_id, 'u' || g || '@x.io' AS customer_email,
              'paid'::text AS status, (g % 100)::numeric(10,2) AS amount, NULL::boolean AS gift,
              NULL::text AS note, now() AS ordered_at, now() AS updated_at
            FROM generate_series(1, 20000) g""",
        database,
    )
    job = pg_job(deployment, pg, table=table, source={"batch_bytes": 64 * 1024})
    job, _ = prepare_secrets(job, EventEmitter(job_name="j", tenant_id="acme"))
    source = get_source(job, load_asset(job))
    assert isinstance(source, RecordBatchSource)
    sizes = [batch.num_rows for batch in source.batches(None)]
    assert sum(sizes) == 20000 and len(sizes) > 5 and max(sizes) < 10000


def test_recipe_without_pushdown_reads_everything_and_the_engine_selects(
    deployment, pg, orders, postgres_server, database
) -> None:
    deployment.recipe("postgres", {"capabilities": {"cursor_pushdown": False}})
    job = pg_job(deployment, pg, table=orders, source={"incremental": {"cursor_field": "updated_at"}})
    assert deployment.run(job).result.exit_code == 0
    postgres_server.psql(
        f"""INSERT INTO public.{orders} VALUES
              (9, 'z@x.io', 'paid', 1.00, true, NULL, '2026-03-01 0:00+00', '2026-03-01 0:00+00', 1);""",
        database,
    )
    second = deployment.run(job)
    assert second.result.exit_code == 0, second.result.error
    # all four rows came from the database; the engine dropped the three loaded before
    assert second.result.metrics["records_skipped_by_cursor"] == 3
    assert second.result.metrics["records_extracted"] == 1


def test_a_whole_airflow_connection_as_the_dsn(
    deployment, pg, orders, monkeypatch, postgres_server, database
):
    """`field: uri` takes host, port, login, password and schema from one Airflow connection."""
    from airflow_provider_dativo.hooks.dativo import airflow_secrets_loader

    connection = {
        "conn_type": "postgres",
        "host": postgres_server.host,
        "port": postgres_server.port,
        "login": postgres_server.user,
        "password": PASSWORD,
        "schema": database,
    }
    monkeypatch.setenv("AIRFLOW_CONN_ANALYTICS_DB", json.dumps(connection))
    source = {
        "dsn": {"secret": "PG_DSN", "conn_id": "analytics_db", "field": "uri"},
        "table": f"public.{orders}",
    }
    job = deployment.job("postgres", source, asset="shop_orders", table="shop_orders")
    run = deployment.run(job, secrets_loader=airflow_secrets_loader)
    assert run.result.exit_code == 0, run.result.error
    assert run.result.metrics["records_valid"] == 3
    loaded = next(e for e in run.events if e["event_type"] == "secrets_loaded")
    assert loaded["sources"]["connections"] == 1


# --- the boundary (issue 16): rows that share the committed cursor value ---------------------

LATE_ROWS = """
    (10, 'j@x.io', 'paid', 1.00, NULL, NULL, '2026-01-03 0:00+00', '2026-01-03 00:00:00+00', 1),
    (11, 'k@x.io', 'paid', 1.00, NULL, NULL, '2026-01-06 0:00+00', '2026-01-06 00:00:00+00', 1)
"""


@pytest.mark.parametrize(
    "target", [{}, {"mode": "merge", "merge_keys": ["order_id"]}], ids=["append", "merge"]
)
def test_a_row_committed_late_at_the_cursor_value_is_loaded_once(
    deployment, pg, orders, postgres_server, database, target
) -> None:
    incremental = {"incremental": {"cursor_field": "updated_at"}}
    job = pg_job(deployment, pg, table=orders, source=incremental, **target)
    postgres_server.psql(  # a second row at the newest value, 2026-01-03
        f"""INSERT INTO public.{orders} VALUES
              (9, 'i@x.io', 'paid', 1.00, NULL, NULL, '2026-01-03 0:00+00', '2026-01-03 0:00+00', 1);""",
        database,
    )
    assert deployment.run(job).result.exit_code == 0
    postgres_server.psql(f"INSERT INTO public.{orders} VALUES {LATE_ROWS};", database)
    second = deployment.run(job)
    assert second.result.exit_code == 0, second.result.error
    # the database sent the rows at and beyond 2026-01-03; the two loaded before were skipped
    assert second.result.metrics["records_extracted"] == 2
    assert second.result.metrics["records_skipped_by_cursor"] == 2
    third = deployment.run(job)
    assert third.result.metrics["records_extracted"] == 0
    ids = [r["order_id"] for r in deployment.rows("acme.shop_orders", "order_id")]
    assert ids == [1, 2, 3, 9, 10, 11]


def test_a_rejected_row_at_the_boundary_is_not_rejected_again(
    deployment, pg, orders, postgres_server, database
) -> None:
    job = pg_job(
        deployment,
        pg,
        table=orders,
        source={"incremental": {"cursor_field": "updated_at"}},
        validation="warn",
    )
    postgres_server.psql(
        f"""INSERT INTO public.{orders} VALUES
              (9, 'i@x.io', 'lost', 1.00, NULL, NULL, '2026-01-03 0:00+00', '2026-01-03 0:00+00', 1);""",
        database,
    )
    assert deployment.run(job).result.exit_code == 1
    postgres_server.psql(f"INSERT INTO public.{orders} VALUES {LATE_ROWS};", database)
    second = deployment.run(job)
    assert second.result.exit_code == 0, second.result.error
    assert second.result.metrics["records_extracted"] == 2
    ids = [r["order_id"] for r in deployment.rows("acme.shop_orders", "order_id")]
    assert ids == [1, 2, 3, 10, 11]
    assert [r["order_id"] for r in deployment.rows("acme.shop_orders__rejected", "order_id")] == ["9"]


def test_a_failed_commit_between_runs_loses_no_boundary_row(
    deployment, pg, orders, postgres_server, database
) -> None:
    """An injected fault after the write and before the commit (the commit never lands): the
    next run loads the late boundary row and the newer one exactly once."""
    from tests.support.faults import faulty_catalog

    incremental = {"incremental": {"cursor_field": "updated_at"}}
    assert deployment.run(pg_job(deployment, pg, table=orders, source=incremental)).result.exit_code == 0
    postgres_server.psql(f"INSERT INTO public.{orders} VALUES {LATE_ROWS};", database)
    broken = faulty_catalog(
        deployment.home, "UnknownFailureCatalog", unknown_failures=10, table="shop_orders"
    )
    job = pg_job(deployment, pg, table=orders, source=incremental, catalog=broken, name="broken")
    assert deployment.run(job).result.exit_code == 2
    assert [r["order_id"] for r in deployment.rows("acme.shop_orders", "order_id")] == [1, 2, 3]
    again = deployment.run(pg_job(deployment, pg, table=orders, source=incremental))
    assert again.result.exit_code == 0, again.result.error
    ids = [r["order_id"] for r in deployment.rows("acme.shop_orders", "order_id")]
    assert ids == [1, 2, 3, 10, 11]
