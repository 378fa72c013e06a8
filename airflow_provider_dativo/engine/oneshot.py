"""Oneshot retries: run a job again, in this process, the way its ``retry_config`` says.

``dativo run`` has no orchestrator to retry a failed job, so it retries here. Under Airflow
the operator runs a job once and Airflow retries it through ``DativoRetryPolicy``; both use
``RetryConfig.is_retryable`` and ``RetryConfig.delay_before_retry``, so a job retries at the
same moments with the same delays whichever engine runs it, and neither retries an error that
no retry can fix (``JobResult.retryable``: an invalid job, asset or secret).

Every try reuses the same ``run_id``: the engine records it with the Iceberg commit, which is
what lets a retry recognise a commit an earlier try already made. So that a retry of a partial
run can help, every try but the last commits nothing when its outcome is partial and exit code
1 is retryable (:mod:`.partial_retry`): the retry reads the source again.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from tenacity import RetryCallState, Retrying, retry_if_result, stop_after_attempt
from tenacity.wait import wait_base

from airflow_provider_dativo.config.loader import ResolvedJob
from airflow_provider_dativo.config.retry import RetryConfig
from airflow_provider_dativo.engine.events import EventEmitter
from airflow_provider_dativo.engine.partial_retry import NO_RETRY, PartialRetry
from airflow_provider_dativo.engine.run import JobResult, run_job
from airflow_provider_dativo.outcomes import EXIT_PARTIAL, EXIT_SUCCESS

RETRY_COUNT_KEY = "retry_count"
"""Metric added after the contract's keys: how many retries the run needed."""


class ExactBackoff(wait_base):
    """Tenacity wait of exactly ``RetryConfig.delay_before_retry(n)`` before retry ``n``.

    Tenacity's own exponential waits add jitter or start from a different exponent; this one
    reproduces the seeds' formula (and Airflow's ``DativoRetryPolicy``) to the second.
    """

    def __init__(self, retry_config: RetryConfig) -> None:
        self.retry_config = retry_config

    def __call__(self, retry_state: RetryCallState) -> float:
        # attempt_number is the try that just failed, so the coming retry is number attempt_number.
        return self.retry_config.delay_before_retry(retry_state.attempt_number)


def retry_decision(retry_config: RetryConfig, result: JobResult) -> tuple[bool, str]:
    """Whether ``result`` may be retried under ``retry_config``, and why (for the event)."""
    if result.exit_code == EXIT_SUCCESS:
        return False, "the job succeeded"
    if not result.retryable:
        return False, f"{result.error_type} cannot be fixed by a retry"
    if result.deferred:
        return True, "the partial run committed nothing so that a retry reads the source again"
    return retry_config.is_retryable(result.exit_code, result.error or "")


def run_with_retries(
    job: ResolvedJob,
    *,
    job_name: str,
    run_id: str | None,
    emitter: EventEmitter,
    dativo_home: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> JobResult:
    """Run ``job`` and retry it per ``job.retry_config``; return the last try's result.

    A retry happens only when the exit code is retryable and (with patterns set) the error
    text matches one, at most ``max_retries`` times, after exactly ``delay_before_retry(n)``
    seconds; a ``retry_attempt`` event precedes each. Without a ``retry_config`` the job runs
    once. The result's metrics gain ``retry_count``. ``sleep`` exists so tests need not wait.
    """

    config = job.retry_config

    def one_try(partial_retry: PartialRetry = NO_RETRY) -> JobResult:
        return run_job(
            job,
            job_name=job_name,
            run_id=run_id,
            emitter=emitter,
            dativo_home=dativo_home,
            partial_retry=partial_retry,
        )

    if config is None:
        return _with_retry_count(one_try(), 0)

    def partial_retryable(error_text: str) -> tuple[bool, str]:
        return config.is_retryable(EXIT_PARTIAL, error_text)

    def announce_retry(retry_state: RetryCallState) -> None:
        """Emit ``retry_attempt`` before tenacity sleeps, so logs show the wait as it starts."""
        result: JobResult = retry_state.outcome.result()  # type: ignore[union-attr]
        _, reason = retry_decision(config, result)
        number = retry_state.attempt_number
        delay = retry_state.next_action.sleep  # type: ignore[union-attr]
        emitter.emit(
            "retry_attempt",
            level="WARNING",
            message=f"retry {number} of {config.max_retries} in {delay:g}s: {reason}",
            attempt=number,
            exit_code=result.exit_code,
            delay_seconds=delay,
            reason=reason,
            error=result.error,
            max_retries=config.max_retries,
        )

    retrying = Retrying(
        retry=retry_if_result(lambda result: retry_decision(config, result)[0]),
        stop=stop_after_attempt(config.max_retries + 1),
        wait=ExactBackoff(config),
        sleep=sleep,
        before_sleep=announce_retry,
        # Retries used up: hand back the last result; the exit code says the rest.
        retry_error_callback=lambda retry_state: retry_state.outcome.result(),  # type: ignore[union-attr]
    )
    tries = 0

    def counted_try() -> JobResult:
        nonlocal tries
        tries += 1
        return one_try(PartialRetry(tries, config.max_retries + 1, partial_retryable))

    result = retrying(counted_try)
    return _with_retry_count(result, tries - 1)


def _with_retry_count(result: JobResult, retries: int) -> JobResult:
    return dataclasses.replace(result, metrics={**result.metrics, RETRY_COUNT_KEY: retries})
