"""The SQL and the connection string the ``postgres`` connector sends: quoted, never formatted raw.

The read is one ``SELECT`` that the driver wraps in ``COPY (...) TO STDOUT (FORMAT binary)`` and
streams in record batches. The committed cursor (or the start of the lookback window) is
written into it as a typed SQL literal and compared with ``>=``: an incremental run re-reads
the rows at the committed value, and the engine skips those the commit recorded (the
boundary), so a row that shares that value but arrived later is still loaded. The literal is
not a bound parameter: with parameters the driver cannot use ``COPY`` and materialises the
whole result in one batch (figures in docs/performance.md), which
would break the memory bound of streamed loads. Literals are built from the typed Arrow
scalar the engine committed (numbers, dates, timestamps, text), quoted by the rules of
PostgreSQL's ``quote_literal``, so no text can end the literal early.

Text cursors compare with ``COLLATE "C"`` (byte order, the order the engine uses), so the
database never leaves out a record the engine would consider new.
"""

from __future__ import annotations

import math
import urllib.parse
from datetime import date, datetime, timezone
from decimal import Decimal

import pyarrow as pa

from airflow_provider_dativo.config.service_sources import PostgresSourceSettings

SOURCE_ALIAS = "dativo_source"
APPLICATION_NAME = "airflow-provider-dativo"


def quote_ident(name: str) -> str:
    """A quoted identifier: used exactly as written (case included)."""
    return '"' + name.replace('"', '""') + '"'


def table_ref(table: str) -> str:
    """``schema.table`` -> ``"schema"."table"``."""
    return ".".join(quote_ident(part) for part in table.split("."))


def quote_text(text: str) -> str:
    """A string literal safe whatever ``standard_conforming_strings`` says."""
    if "\x00" in text:
        raise ValueError("a PostgreSQL text value cannot hold a NUL character")
    quoted = "'" + text.replace("'", "''") + "'"
    return "E" + quoted.replace("\\", "\\\\") if "\\" in text else quoted


def literal(value: pa.Scalar) -> str:
    """``value`` as a typed SQL literal (see the module docstring)."""
    python = value.as_py()
    if python is None:
        raise ValueError("a cursor cannot be NULL")
    if isinstance(python, bool):
        raise ValueError("a boolean is not a cursor")
    if isinstance(python, int):
        return str(python)
    if isinstance(python, Decimal):
        return f"{python:f}"
    if isinstance(python, float):
        if not math.isfinite(python):
            raise ValueError(f"{python} is not a cursor value")
        return repr(python)
    if isinstance(python, datetime):
        aware = python if python.tzinfo else python.replace(tzinfo=timezone.utc)
        return f"TIMESTAMPTZ {quote_text(aware.isoformat())}"
    if isinstance(python, date):
        return f"DATE {quote_text(python.isoformat())}"
    if isinstance(python, str):
        return quote_text(python)
    raise ValueError(f"cannot write a {type(python).__name__} cursor as SQL")


def base_relation(settings: PostgresSourceSettings) -> str:
    """What the read selects from: the quoted table, or the query as a sub-select."""
    if settings.table is not None:
        return table_ref(settings.table)
    # The query stands on its own lines: a trailing "-- comment" cannot swallow the parenthesis.
    return f"(\n{settings.query}\n)"


def probe_sql(settings: PostgresSourceSettings) -> str:
    """No rows, only the columns: what the source's relation offers."""
    return f"SELECT * FROM {base_relation(settings)} AS {SOURCE_ALIAS} LIMIT 0"


def select_sql(
    settings: PostgresSourceSettings,
    columns: list[str],
    cursor: str | None = None,
    after: pa.Scalar | None = None,
    *,
    text_cursor: bool = False,
) -> str:
    """The read: ``columns`` of the relation, at or beyond ``after`` on ``cursor`` when given."""
    select = ", ".join(quote_ident(c) for c in columns)
    sql = f"SELECT {select} FROM {base_relation(settings)} AS {SOURCE_ALIAS}"
    if cursor is not None and after is not None:
        collate = ' COLLATE "C"' if text_cursor else ""
        sql += f" WHERE {quote_ident(cursor)}{collate} >= {literal(after)}"
    return sql


def connection_uri(settings: PostgresSourceSettings) -> str:
    """A libpq URI: ``dsn`` or the separate settings, plus read-only UTC session options."""
    options = ["-c TimeZone=UTC", "-c default_transaction_read_only=on"]
    if settings.statement_timeout_seconds is not None:
        options.append(f"-c statement_timeout={int(settings.statement_timeout_seconds * 1000)}")
    params = {
        "application_name": APPLICATION_NAME,
        "connect_timeout": str(settings.connect_timeout_seconds),
        "options": " ".join(options),
    }
    if settings.sslmode:
        params["sslmode"] = settings.sslmode
    if settings.dsn is not None:
        dsn = str(settings.dsn)
        if not dsn.startswith(("postgresql://", "postgres://")):
            raise ValueError("source.dsn must be a postgresql:// URI")
        separator = "&" if "?" in dsn else "?"
        return dsn + separator + urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
    user = urllib.parse.quote(str(settings.user or ""), safe="")
    password = urllib.parse.quote(str(settings.password or ""), safe="")
    credentials = f"{user}:{password}@" if settings.password else (f"{user}@" if user else "")
    host = settings.host or ""
    host = f"[{host}]" if ":" in host else host
    database = urllib.parse.quote(settings.database or "", safe="")
    query = urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
    return f"postgresql://{credentials}{host}:{settings.port}/{database}?{query}"
