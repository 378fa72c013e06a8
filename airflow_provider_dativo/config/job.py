"""Job files: one ingestion from a source connector into an Iceberg table."""

from __future__ import annotations

import math
import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, TypeAdapter, ValidationError, field_validator, model_validator

from airflow_provider_dativo.config.base import StrictModel
from airflow_provider_dativo.config.layout import (
    PartitionField,
    SortField,
    check_partition_by,
    check_sort_by,
    parse_partition,
    parse_sort,
)
from airflow_provider_dativo.config.limits import (
    MAX_BATCH_BYTES,
    MAX_LOOKBACK_SECONDS,
    MAX_LOOKBACK_UNITS,
    MAX_TIMEOUT_SECONDS,
)
from airflow_provider_dativo.config.maintenance import MaintenanceSettings
from airflow_provider_dativo.config.retry import RetryConfig

_DEFERRED = StrictModel.model_config | {"defer_build": True}
"""Settings of the service connectors: their validators are built when first used, so a DAG
parse that loads only file connectors' jobs does not pay for them."""

FILE_CONNECTORS = ("csv", "jsonl", "parquet")
"""Connectors that read files shipped with (or mounted beside) the job."""

DATABASE_CONNECTORS = ("postgres",)
"""Connectors that read a database table or query."""

API_CONNECTORS = ("stripe", "hubspot")
"""Connectors that page through a SaaS REST API."""

SERVICE_CONNECTORS = DATABASE_CONNECTORS + API_CONNECTORS
"""Connectors that read a remote service (with credentials) rather than files."""

DECLARED_CONNECTORS = SERVICE_CONNECTORS
"""Former name of :data:`SERVICE_CONNECTORS` (these connectors had no engine before 0.2)."""

TENANT_ID = _IDENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]*$")


class IncrementalSettings(StrictModel):
    """Load only records whose cursor is beyond the one committed by the previous run.

    The cursor is committed in the same Iceberg commit as the data, so it can never run ahead
    of what was written.
    """

    cursor_field: Annotated[str, Field(min_length=1, description="Asset field that only grows.")]
    start: Any = Field(None, description="Cursor of the very first run; records <= start are skipped.")
    lookback: Annotated[
        str | int | float | None,
        Field(
            description="Window re-read below the committed cursor for late-arriving records: an ISO 8601 "
            "duration ('PT2H', 'P1D') for timestamp and date cursors, a number of cursor units for numeric "
            "ones. Records already in the table are skipped; with merge_keys, changed ones are merged by key."
        ),
    ] = None

    @field_validator("lookback", mode="before")
    @classmethod
    def _lookback(cls, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            parse_duration(value)
            return value
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or not 0 <= value <= MAX_LOOKBACK_UNITS
        ):
            raise ValueError(f"a lookback is a number from 0 to {MAX_LOOKBACK_UNITS} or an ISO 8601 duration")
        return value


def parse_duration(text: str) -> timedelta:
    """An ISO 8601 duration (``PT2H``, ``P1DT30M``) of at most :data:`MAX_LOOKBACK_SECONDS`,
    parsed by pydantic's ``timedelta`` validator."""
    if not text.upper().startswith("P"):
        raise ValueError(f"{text!r} is not an ISO 8601 duration such as 'PT2H' or 'P1D'")
    try:
        duration = _DURATION.validate_python(text)
    except ValidationError:
        raise ValueError(f"{text!r} is not an ISO 8601 duration such as 'PT2H' or 'P1D'") from None
    if duration < timedelta(0) or duration.total_seconds() > MAX_LOOKBACK_SECONDS:
        raise ValueError(f"a lookback duration is from 0 to {MAX_LOOKBACK_SECONDS} seconds, not {text!r}")
    return duration


_DURATION = TypeAdapter(timedelta)


class FileSourceSettings(StrictModel):
    """Settings of the file connectors (``csv``, ``jsonl``, ``parquet``)."""

    path: Annotated[str, Field(min_length=1, description="File or glob, relative to the job file.")]
    delimiter: Annotated[str, Field(min_length=1, max_length=1)] = ","
    header: bool = True
    encoding: str = "utf8"
    incremental: IncrementalSettings | None = None


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


class CatalogSettings(StrictModel):
    """Where the Iceberg table lives. Every key but ``name`` goes verbatim to pyiceberg."""

    model_config = StrictModel.model_config | {"extra": "allow"}

    name: str = "dativo"


def _partition_text(text: str) -> str:
    parse_partition(text)
    return text


def _sort_text(text: str) -> str:
    parse_sort(text)
    return text


class TargetSettings(StrictModel):
    """The Iceberg table a job writes."""

    table: Annotated[str, Field(min_length=1)]
    namespace: str | None = None
    mode: Literal["append", "overwrite", "merge"] = "append"
    merge_keys: list[str] = Field(
        default_factory=list, description="Columns that identify a record; the table's identifier fields."
    )
    catalog: CatalogSettings | None = None
    partition_by: Annotated[
        list[Annotated[str, AfterValidator(_partition_text)]],
        AfterValidator(check_partition_by),
        Field(
            description="Partition fields, Iceberg's transforms as Spark SQL writes them: 'col', "
            "'year(col)', 'month(col)', 'day(col)', 'hour(col)', 'bucket(N, col)', 'truncate(W, col)'. "
            "A change later evolves the partition spec (old files stay as they are).",
            examples=[["day(created_at)", "bucket(16, customer_id)"]],
        ),
    ] = []
    sort_by: Annotated[
        list[Annotated[str, AfterValidator(_sort_text)]],
        AfterValidator(check_sort_by),
        Field(
            description="Sort order of the rows within each data file: 'col [asc|desc] [nulls first|last]'.",
            examples=[["created_at", "id desc"]],
        ),
    ] = []
    maintenance: MaintenanceSettings | None = Field(
        None, description="Scheduled table maintenance: a <schedule>__maintenance DAG (see docs/tables.md)."
    )

    @field_validator("table", "namespace")
    @classmethod
    def _identifier(cls, value: str | None) -> str | None:
        if value is not None and not _IDENT.match(value):
            raise ValueError(f"{value!r} must be letters, digits, '_' or '-'")
        return value

    @model_validator(mode="after")
    def _merge_needs_keys(self) -> TargetSettings:
        if self.mode == "merge" and not self.merge_keys:
            raise ValueError("mode 'merge' needs merge_keys")
        if self.mode != "merge" and self.merge_keys:
            raise ValueError(f"merge_keys is only used with mode 'merge', not {self.mode!r}")
        return self

    def catalog_properties(self) -> dict[str, Any]:
        """The pyiceberg properties of the catalog, without the ``name`` key."""
        if self.catalog is None:
            return {}
        return dict(self.catalog.model_extra or {})

    @property
    def catalog_name(self) -> str:
        return self.catalog.name if self.catalog else "dativo"

    def partition_fields(self) -> list[PartitionField]:
        """``partition_by``, parsed."""
        return [parse_partition(text) for text in self.partition_by]

    def sort_fields(self) -> list[SortField]:
        """``sort_by``, parsed."""
        return [parse_sort(text) for text in self.sort_by]


class ValidationSettings(StrictModel):
    """strict: any invalid record fails the job and nothing is written. warn: bad rows are dropped."""

    mode: Literal["strict", "warn"] = "strict"


class LoggingSettings(StrictModel):
    """``redaction: true`` masks secret values in every log line."""

    redaction: bool = False
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class IsolationSettings(StrictModel):
    """Explicit exceptions to tenant isolation: by default a job reads only its own tenant's
    secrets and writes only its own tenant's namespace."""

    allow_namespaces: list[str] = Field(
        default_factory=list, description="Namespaces besides the tenant's own this job may write."
    )
    allow_secrets_from: list[str] = Field(
        default_factory=list, description="Other tenants whose secrets this job may read."
    )


class JobConfig(StrictModel):
    """A job file as written by the user (paths not yet resolved)."""

    tenant_id: str | None = None
    source_connector: str
    source: dict[str, Any] = Field(default_factory=dict)
    target_connector: Literal["iceberg"] = "iceberg"
    target: TargetSettings
    asset: Annotated[str, Field(min_length=1)]
    validation: ValidationSettings = ValidationSettings()
    retry_config: RetryConfig | None = None
    logging: LoggingSettings = LoggingSettings()
    isolation: IsolationSettings = Field(
        # A factory, not a default instance: pydantic deep-copies an unhashable default (this
        # model holds lists) for every job, which a thousand-job parse pays for.
        default_factory=IsolationSettings,
        json_schema_extra={"default": {"allow_namespaces": [], "allow_secrets_from": []}},
    )

    @field_validator("tenant_id")
    @classmethod
    def _tenant_identifier(cls, value: str | None) -> str | None:
        if value is not None and not _IDENT.match(value):
            raise ValueError(
                f"{value!r} must be letters, digits, '_' or '-' (it names a pool and a namespace)"
            )
        return value

    @field_validator("source_connector")
    @classmethod
    def _known_connector(cls, value: str) -> str:
        known = FILE_CONNECTORS + SERVICE_CONNECTORS
        if value not in known:
            raise ValueError(f"unknown connector {value!r}; known connectors: {', '.join(known)}")
        return value

    def file_source(self) -> FileSourceSettings:
        """The typed settings of a file connector."""
        return FileSourceSettings.model_validate(self.source)

    def incremental_settings(self) -> IncrementalSettings | None:
        """``source.incremental`` of any connector, typed; ``None`` for a full load."""
        raw = self.source.get("incremental")
        return None if raw is None else IncrementalSettings.model_validate(raw)


SOURCE_SETTINGS: dict[str, type[StrictModel]] = {
    **dict.fromkeys(FILE_CONNECTORS, FileSourceSettings),
    "postgres": PostgresSourceSettings,
    "stripe": StripeSourceSettings,
    "hubspot": HubspotSourceSettings,
}
"""The settings model of each connector's ``source`` block."""
