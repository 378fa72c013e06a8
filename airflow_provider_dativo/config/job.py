"""Job files: one ingestion from a source connector into an Iceberg table."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from airflow_provider_dativo.config.base import StrictModel
from airflow_provider_dativo.config.retry import RetryConfig

FILE_CONNECTORS = ("csv", "jsonl", "parquet")
"""Connectors that read files shipped with (or mounted beside) the job."""

DECLARED_CONNECTORS = ("stripe", "hubspot", "postgres")
"""Connectors a job file may name today; their engines arrive in later releases."""

TENANT_ID = _IDENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]*$")


class IncrementalSettings(StrictModel):
    """Load only records whose cursor is beyond the one committed by the previous run.

    The cursor is committed in the same Iceberg commit as the data, so it can never run ahead
    of what was written.
    """

    cursor_field: Annotated[str, Field(min_length=1, description="Asset field that only grows.")]
    start: Any = Field(None, description="Cursor of the very first run; records <= start are skipped.")


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


class TargetSettings(StrictModel):
    """The Iceberg table a job writes."""

    table: Annotated[str, Field(min_length=1)]
    namespace: str | None = None
    mode: Literal["append", "overwrite", "merge"] = "append"
    merge_keys: list[str] = Field(default_factory=list)
    catalog: CatalogSettings | None = None

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
    isolation: IsolationSettings = IsolationSettings()

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
        known = FILE_CONNECTORS + DECLARED_CONNECTORS
        if value not in known:
            raise ValueError(f"unknown connector {value!r}; known connectors: {', '.join(known)}")
        return value

    def file_source(self) -> FileSourceSettings:
        """The typed settings of a file connector."""
        return FileSourceSettings.model_validate(self.source)
