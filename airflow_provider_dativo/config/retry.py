"""``retry_config`` of the seeds, and the backoff formula both Airflow and ``dativo run`` use."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from airflow_provider_dativo.config.base import StrictModel, check_regex, compile_regex
from airflow_provider_dativo.config.limits import (
    MAX_BACKOFF_MULTIPLIER,
    MAX_ERROR_PATTERNS,
    MAX_RETRIES,
    MAX_RETRY_DELAY_SECONDS,
)
from airflow_provider_dativo.outcomes import EXIT_FAILURE, EXIT_PARTIAL


class RetryConfig(StrictModel):
    """When and how often a failed job is tried again.

    Defaults are the values the seeds document. ``retryable_error_patterns`` empty means
    "any error text"; otherwise the error text must match one pattern (``re.search``
    semantics, run by RE2 so that matching takes linear time whatever the pattern). Every
    number is bounded (:mod:`~airflow_provider_dativo.config.limits`).
    """

    max_retries: int = Field(3, ge=0, le=MAX_RETRIES, description="Retries after the first try.")
    initial_delay_seconds: float = Field(
        5, ge=0, le=MAX_RETRY_DELAY_SECONDS, description="Delay before the first retry."
    )
    max_delay_seconds: float = Field(
        300, ge=0, le=MAX_RETRY_DELAY_SECONDS, description="Upper bound of any delay."
    )
    backoff_multiplier: float = Field(
        2.0, ge=1.0, le=MAX_BACKOFF_MULTIPLIER, description="Growth factor of the delay per retry."
    )
    retryable_exit_codes: list[int] = Field(
        default_factory=lambda: [1, 2], description="Job exit codes (1 partial, 2 failure) that may retry."
    )
    retryable_error_patterns: list[str] = Field(
        default_factory=list,
        max_length=MAX_ERROR_PATTERNS,
        description="Regular expressions (RE2 syntax); when set, the error text must match one.",
    )

    @field_validator("retryable_exit_codes")
    @classmethod
    def _known_exit_codes(cls, codes: list[int]) -> list[int]:
        unknown = sorted(set(codes) - {EXIT_PARTIAL, EXIT_FAILURE})
        if unknown:
            raise ValueError(
                f"exit codes {unknown} are never produced; a job exits 1 (partial) or 2 (failure)"
            )
        return codes

    @field_validator("retryable_error_patterns")
    @classmethod
    def _patterns_compile(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            check_regex(pattern)
        return patterns

    @model_validator(mode="after")
    def _max_not_below_initial(self) -> RetryConfig:
        if self.max_delay_seconds < self.initial_delay_seconds:
            raise ValueError(
                f"max_delay_seconds ({self.max_delay_seconds:g}) is below "
                f"initial_delay_seconds ({self.initial_delay_seconds:g})"
            )
        return self

    def delay_before_retry(self, retry_number: int) -> float:
        """Seconds to wait before retry ``n`` (1-based): ``min(initial * mult**(n-1), max)``."""
        if retry_number < 1:
            raise ValueError("retry_number is 1-based")
        try:
            delay = self.initial_delay_seconds * self.backoff_multiplier ** (retry_number - 1)
        except OverflowError:
            return self.max_delay_seconds
        return min(delay, self.max_delay_seconds)

    def is_retryable(self, exit_code: int | None, error_text: str) -> tuple[bool, str]:
        """Decide whether a failure may be retried, and say why (for logs and the Airflow UI)."""
        if exit_code not in self.retryable_exit_codes:
            return False, f"exit code {exit_code} is not in retryable_exit_codes {self.retryable_exit_codes}"
        if not self.retryable_error_patterns:
            return True, f"exit code {exit_code} is retryable"
        for pattern in self.retryable_error_patterns:
            if compile_regex(pattern).search(error_text):
                return True, f"exit code {exit_code} is retryable and the error matches {pattern!r}"
        return (
            False,
            f"exit code {exit_code} is retryable but the error matches none of retryable_error_patterns",
        )
