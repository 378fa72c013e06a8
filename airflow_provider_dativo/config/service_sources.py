"""The ``source`` settings of the service connectors (``postgres``, ``stripe``, ``hubspot``).

Their own module, imported only where a service connector's job is loaded or run: a DAG
parse of file connectors' jobs neither imports nor builds these models, and their validators
are built when first used.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from airflow_provider_dativo.config.base import StrictModel
from airflow_provider_dativo.config.job import FILE_CONNECTORS, FileSourceSettings, IncrementalSettings
from airflow_provider_dativo.config.limits import MAX_BATCH_BYTES, MAX_TIMEOUT_SECONDS

_DEFERRED = StrictModel.model_config | {"defer_build": True}

_TABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$")


class SecretMapping(StrictModel):
    """``{secret: NAME, tenant: ..., conn_id: ..., field: ...}`` standing for a secret's value
    (see :mod:`airflow_provider_dativo.engine.secrets.refs`); replaced by the value at run time."""

    model_config = _DEFERRED

    secret: str
    tenant: str | None = None
    conn_id: str | None = None
    field: Literal["password", "extra", "login", "host", "uri"] | None = None


Credential = str | SecretMapping
"""A setting that holds a credential: normally ``${secret:NAME}`` or ``{secret: NAME}``, so the
value itself never sits in a job file. Resolved to a plain string before the source runs."""


class PostgresSourceSettings(StrictModel):
    """Settings of the ``postgres`` connector: where the server is and what to read.

    Either ``dsn`` (a ``postgresql://`` URI, usually a secret reference) or the separate
    ``host``/``port``/``database``/``user``/``password`` settings; then either ``table`` or
    ``query``. The connection is read-only and runs in UTC.
    """

    model_config = _DEFERRED

    dsn: Credential | None = Field(
        None, repr=False, description="libpq URI postgresql://user:pass@host:port/db."
    )
    host: str | None = None
    port: Annotated[int, Field(ge=1, le=65535)] = 5432
    database: str | None = None
    user: Credential | None = None
    password: Credential | None = Field(None, repr=False)
    sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] | None = None
    connect_timeout_seconds: Annotated[int, Field(ge=1, le=MAX_TIMEOUT_SECONDS)] = 10
    statement_timeout_seconds: Annotated[float, Field(gt=0, le=MAX_TIMEOUT_SECONDS)] | None = None
    table: str | None = Field(None, description="[schema.]table, used exactly as written (quoted).")
    query: str | None = Field(None, description="A SELECT whose columns are the asset's fields.")
    batch_bytes: Annotated[int, Field(ge=1024, le=MAX_BATCH_BYTES)] = 16 << 20
    """Arrow bytes the driver reads per record batch: what bounds memory while streaming."""
    incremental: IncrementalSettings | None = None

    @field_validator("table")
    @classmethod
    def _table_name(cls, value: str | None) -> str | None:
        if value is not None and not _TABLE_NAME.match(value):
            raise ValueError(
                f"{value!r} is not a table name: write table or schema.table (letters, digits, '_', "
                "'$'); use query for anything else"
            )
        return value

    @field_validator("query")
    @classmethod
    def _query_text(cls, value: str | None) -> str | None:
        if value is not None:
            value = value.strip().rstrip(";").strip()
            if not value:
                raise ValueError("query is empty")
        return value

    @model_validator(mode="after")
    def _one_source_one_server(self) -> PostgresSourceSettings:
        if (self.table is None) == (self.query is None):
            raise ValueError("set exactly one of table or query")
        if self.dsn is not None and any(v is not None for v in (self.host, self.database, self.user)):
            raise ValueError("set either dsn or host/database/user, not both")
        return self


class ApiSourceSettings(StrictModel):
    """What every REST API connector shares: paging, timeouts, retries, field mapping."""

    model_config = _DEFERRED

    base_url: Annotated[str, Field(pattern=r"^https?://", description="Overridable, e.g. for a proxy.")]
    page_size: Annotated[int, Field(ge=1, le=100)] = 100
    timeout_seconds: Annotated[float, Field(gt=0, le=MAX_TIMEOUT_SECONDS)] = 30.0
    max_attempts: Annotated[int, Field(ge=1, le=20)] = 6
    """Tries per request (the first included) when the API answers 429 or 5xx or cannot be reached."""
    backoff_seconds: Annotated[float, Field(ge=0, le=MAX_TIMEOUT_SECONDS)] = 1.0
    """First wait between tries when the API gives no ``Retry-After``; doubles per try."""
    max_retry_wait_seconds: Annotated[float, Field(ge=0, le=MAX_TIMEOUT_SECONDS)] = 60.0
    """Longest single wait, whether from ``Retry-After`` or from the backoff."""
    fields: dict[str, str] = Field(
        default_factory=dict, description="Asset field -> dotted path in the API record."
    )
    incremental: IncrementalSettings | None = None


class StripeSourceSettings(ApiSourceSettings):
    """Settings of the ``stripe`` connector: one list endpoint into one table."""

    model_config = _DEFERRED

    object: Literal["customers", "charges", "invoices", "subscriptions"]
    api_key: Credential = Field(repr=False)
    base_url: Annotated[str, Field(pattern=r"^https?://")] = "https://api.stripe.com"
    api_version: str | None = Field(None, description="Sent as the Stripe-Version header.")
    params: dict[str, str | int | bool] = Field(
        default_factory=dict, description="Extra query parameters of the list call (e.g. status)."
    )


class HubspotSourceSettings(ApiSourceSettings):
    """Settings of the ``hubspot`` connector: one CRM v3 object type into one table."""

    model_config = _DEFERRED

    object: Literal["contacts", "companies", "deals"]
    access_token: Credential = Field(repr=False)
    base_url: Annotated[str, Field(pattern=r"^https?://")] = "https://api.hubapi.com"
    properties: list[str] = Field(default_factory=list, description="Extra properties to request.")
    archived: bool = False
    cursor_property: str | None = Field(
        None, description="Property the search API filters on (default: the object's last-modified one)."
    )
    search_lag_seconds: Annotated[float, Field(ge=0, le=MAX_TIMEOUT_SECONDS)] = 60.0
    """Incremental runs leave out records modified in the last N seconds: HubSpot's search index
    trails writes, and a record indexed late must not fall behind the committed cursor."""


SOURCE_SETTINGS: dict[str, type[StrictModel]] = {
    **dict.fromkeys(FILE_CONNECTORS, FileSourceSettings),
    "postgres": PostgresSourceSettings,
    "stripe": StripeSourceSettings,
    "hubspot": HubspotSourceSettings,
}
"""The settings model of each connector's ``source`` block."""
