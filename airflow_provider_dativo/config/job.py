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
    MAX_LOOKBACK_SECONDS,
    MAX_LOOKBACK_UNITS,
)
from airflow_provider_dativo.config.maintenance import MaintenanceSettings
from airflow_provider_dativo.config.retry import RetryConfig

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
            default_factory=list,  # not ``= []``: pydantic deep-copies a mutable default for every job
            json_schema_extra={"default": []},
        ),
    ]
    sort_by: Annotated[
        list[Annotated[str, AfterValidator(_sort_text)]],
        AfterValidator(check_sort_by),
        Field(
            description="Sort order of the rows within each data file: 'col [asc|desc] [nulls first|last]'.",
            examples=[["created_at", "id desc"]],
            default_factory=list,
            json_schema_extra={"default": []},
        ),
    ]
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
