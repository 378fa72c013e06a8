"""The exception a failed job raises, carrying the dativo exit code the retry policy decides on."""

from __future__ import annotations


class DativoJobError(Exception):
    """A job ended with exit code 1 (partial) or 2 (failure).

    ``exit_code`` is what :class:`~airflow_provider_dativo.retry_policy.DativoRetryPolicy`
    compares with ``retryable_exit_codes``; the message is what it matches against
    ``retryable_error_patterns``.
    """

    def __init__(self, message: str, *, exit_code: int, metrics: dict | None = None) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.metrics = metrics or {}
