"""``retry_config`` as an Airflow 3.3 ``RetryPolicy``.

Airflow's own ``retry_exponential_backoff`` adds a hash-based jitter and cannot look at the
job's exit code or error text. This policy decides every failure the way the dativo runner
does: retry only retryable exit codes whose error text matches a pattern (when patterns are
set), after exactly ``min(initial * multiplier**(n-1), max)`` seconds.

The policy is never serialized: Airflow rebuilds it on the worker by parsing the DAG file.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import RetryDecision, RetryPolicy

from airflow_provider_dativo.config.retry import RetryConfig
from airflow_provider_dativo.outcomes import EXIT_FAILURE as FAILURE_EXIT_CODE


def exit_code_of(exception: BaseException) -> int:
    """A job failure carries its exit code; any other exception counts as a failure (2)."""
    code = getattr(exception, "exit_code", None)
    return code if isinstance(code, int) else FAILURE_EXIT_CODE


class DativoRetryPolicy(RetryPolicy):
    """Decide retries from a job's exit code and error text, with exact exponential delays."""

    def __init__(self, retry_config: RetryConfig | dict[str, Any]) -> None:
        self.retry_config = (
            retry_config
            if isinstance(retry_config, RetryConfig)
            else RetryConfig.model_validate(retry_config)
        )

    def __repr__(self) -> str:
        return f"DativoRetryPolicy({self.retry_config.model_dump()!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DativoRetryPolicy) and other.retry_config == self.retry_config

    def __hash__(self) -> int:
        return hash(self.retry_config.model_dump_json())

    def decide(self, exit_code: int, error_text: str, try_number: int) -> RetryDecision:
        """The decision for the failure of try ``try_number`` (1-based): retry n = try n."""
        retryable, why = self.retry_config.is_retryable(exit_code, error_text)
        if not retryable:
            return RetryDecision.fail(reason=f"dativo: {why}")
        if try_number > self.retry_config.max_retries:
            return RetryDecision.fail(
                reason=f"dativo: {why}, but all {self.retry_config.max_retries} retries are used"
            )
        delay = self.retry_config.delay_before_retry(try_number)
        return RetryDecision.retry(
            delay=timedelta(seconds=delay), reason=f"dativo: {why}; retry {try_number} in {delay:g}s"
        )

    def evaluate(
        self,
        exception: BaseException,
        try_number: int,
        max_tries: int,
        context: Any = None,
    ) -> RetryDecision:
        return self.decide(exit_code_of(exception), str(exception), try_number)

    def serialize(self) -> dict[str, Any]:
        return {"__type": "DativoRetryPolicy", "retry_config": self.retry_config.model_dump(mode="json")}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> DativoRetryPolicy:
        return cls(data["retry_config"])
