"""Job failures the engine raises internally and :func:`~.run.run_job` turns into exit codes.

Each class carries the ``error_type`` reported to the user and whether a retry could ever help
(``retryable``), so no caller has to guess from class or type names which failures are the
user's data, config or infrastructure.
"""

from __future__ import annotations

from airflow_provider_dativo.outcomes import EXIT_FAILURE


class JobFailed(Exception):
    """A job cannot complete. ``str(exc)`` is the human-readable reason shown to the user."""

    exit_code: int = EXIT_FAILURE
    error_type: str = "JobFailed"
    show_type: bool = True
    """Whether the reported error text starts with ``error_type``; retry rules match on it."""
    retryable: bool = True
    """Whether trying the run again could help. ``False`` (an invalid job, asset or secret, a
    connector without engine) fails an Airflow task or workflow task at once, whatever its
    ``retry_config`` says; ``True`` leaves the decision to ``retry_config``."""
    hopeless: str = "dativo job {job_name} cannot succeed on retry"
    """What an orchestrator says when it fails the task at once (``{job_name}`` is filled in)."""

    def __init__(self, message: str, *, exit_code: int | None = None, error_type: str | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code
        if error_type is not None:
            self.error_type = error_type

    def report(self) -> str:
        """The error text for events and :class:`JobResult`."""
        return f"{self.error_type}: {self}" if self.show_type else str(self)


class ConfigError(JobFailed):
    """The job or its asset cannot be used as written (e.g. an enum value of the wrong type)."""

    error_type = "ConfigError"
    retryable = False
    hopeless = "invalid dativo job configuration"


class ConnectorNotAvailable(JobFailed):
    """The job names a connector that is declared but has no engine in this version."""

    error_type = "ConnectorNotAvailable"
    retryable = False
    hopeless = "invalid dativo job configuration"


class SourceError(JobFailed):
    """The source cannot be read: missing file, unreadable format, columns that do not fit the asset."""

    error_type = "SourceError"


class ValidationFailed(JobFailed):
    """Records broke the asset's rules and the validation mode does not allow writing them."""

    error_type = "ValidationError"
    show_type = False  # "validation failed (strict): ..." already says what went wrong


class CatalogUnavailable(JobFailed):
    """The Iceberg catalog cannot be reached; usually temporary, so the run may be retried."""

    error_type = "ConnectionError"


class WriteError(JobFailed):
    """The data cannot be written to the target table (schema mismatch, duplicate merge keys...)."""

    error_type = "WriteError"


class SchemaIncompatible(WriteError):
    """The existing table cannot take the asset's schema without losing data (a dropped column, a
    narrowing type change, a new required column on a table that has rows)."""

    error_type = "SchemaError"


class CommitConflict(WriteError):
    """Other writers changed the table during every commit attempt; nothing was written, so the run
    can simply be retried."""

    error_type = "CommitConflict"
