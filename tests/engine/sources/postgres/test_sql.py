"""SQL literals and connection strings of the postgres connector, checked by PostgreSQL itself."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pyarrow as pa
import pytest

from airflow_provider_dativo.config.service_sources import PostgresSourceSettings
from airflow_provider_dativo.engine.sources.postgres.sql import (
    connection_uri,
    literal,
    quote_ident,
    select_sql,
)

TRICKY_TEXT = "it's a \\ back'slash\\' -- not a comment; DROP TABLE x"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (pa.scalar(42, pa.int64()), "42"),
        (pa.scalar(Decimal("-12.50"), pa.decimal128(10, 2)), "-12.50"),
        (pa.scalar(0.25), "0.25"),
        (pa.scalar(date(2026, 2, 28)), "2026-02-28"),
        (
            pa.scalar(datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=timezone.utc), pa.timestamp("us", tz="UTC")),
            "2026-01-02 03:04:05.000006+00",
        ),
        (pa.scalar(TRICKY_TEXT), TRICKY_TEXT),
    ],
)
def test_literals_read_back_as_the_same_value(postgres_server, value, shown) -> None:
    out = postgres_server.psql(f"SET TimeZone = 'UTC'; SELECT {literal(value)}")
    assert out.strip().splitlines()[-1] == shown


@pytest.mark.parametrize("bad", [pa.scalar(True), pa.scalar(float("nan")), pa.scalar(None, pa.int64())])
def test_values_that_are_no_cursor_are_refused(bad) -> None:
    with pytest.raises(ValueError):
        literal(bad)


def test_identifiers_are_quoted_and_text_cursors_compare_bytewise() -> None:
    settings = PostgresSourceSettings(table="sales.Orders")
    sql = select_sql(settings, ["id", 'we"ird'], "code", pa.scalar("b"), text_cursor=True)
    assert sql == (
        'SELECT "id", "we""ird" FROM "sales"."Orders" AS dativo_source WHERE "code" COLLATE "C" >= \'b\''
    )
    assert quote_ident("a") == '"a"'


def test_connection_uri_encodes_credentials_and_sets_a_read_only_utc_session() -> None:
    settings = PostgresSourceSettings(
        host="db", database="shop", user="etl", password="p@ss/w:rd", table="t", sslmode="require"
    )
    uri = connection_uri(settings)
    assert uri.startswith("postgresql://etl:p%40ss%2Fw%3Ard@db:5432/shop?")
    assert "options=-c%20TimeZone%3DUTC%20-c%20default_transaction_read_only%3Don" in uri
    assert "sslmode=require" in uri
    with_dsn = connection_uri(PostgresSourceSettings(dsn="postgresql://u:p@h/db?sslmode=disable", table="t"))
    assert with_dsn.startswith("postgresql://u:p@h/db?sslmode=disable&application_name=")
    with pytest.raises(ValueError, match="postgresql:// URI"):
        connection_uri(PostgresSourceSettings(dsn="host=h user=u", table="t"))
