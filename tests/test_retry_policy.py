"""DativoRetryPolicy: Airflow's RetryPolicy deciding from exit codes and patterns."""

from __future__ import annotations

from datetime import timedelta

import pytest
from airflow.sdk import RetryAction

from airflow_provider_dativo.config.retry import RetryConfig
from airflow_provider_dativo.exceptions import DativoJobError
from airflow_provider_dativo.retry_policy import DativoRetryPolicy

SEED = RetryConfig(
    max_retries=3,
    initial_delay_seconds=10,
    max_delay_seconds=60,
    backoff_multiplier=2.0,
    retryable_exit_codes=[1, 2],
    retryable_error_patterns=["API rate limit", "Connection timeout"],
)


def test_retryable_failure_retries_after_exact_delays() -> None:
    policy = DativoRetryPolicy(SEED)
    error = DativoJobError("Connection timeout after 30s", exit_code=2)
    decisions = [policy.evaluate(error, try_number=n, max_tries=4) for n in (1, 2, 3)]
    assert all(d.action == RetryAction.RETRY for d in decisions)
    assert [d.retry_delay for d in decisions] == [timedelta(seconds=s) for s in (10, 20, 40)]
    assert "matches 'Connection timeout'" in decisions[0].reason
    last = policy.evaluate(error, try_number=4, max_tries=4)
    assert last.action == RetryAction.FAIL and "all 3 retries are used" in last.reason


def test_delay_is_capped_at_max_delay() -> None:
    policy = DativoRetryPolicy(SEED.model_copy(update={"max_retries": 6}))
    error = DativoJobError("API rate limit", exit_code=1)
    delays = [policy.evaluate(error, try_number=n, max_tries=7).retry_delay for n in range(1, 7)]
    assert delays == [timedelta(seconds=s) for s in (10, 20, 40, 60, 60, 60)]


def test_exit_code_not_retryable_fails_at_once() -> None:
    policy = DativoRetryPolicy(SEED.model_copy(update={"retryable_exit_codes": [1]}))
    decision = policy.evaluate(DativoJobError("Connection timeout", exit_code=2), try_number=1, max_tries=4)
    assert decision.action == RetryAction.FAIL
    assert "exit code 2 is not in retryable_exit_codes [1]" in decision.reason


def test_error_text_matching_no_pattern_fails_at_once() -> None:
    decision = DativoRetryPolicy(SEED).evaluate(DativoJobError("schema mismatch", exit_code=2), 1, 4)
    assert decision.action == RetryAction.FAIL and "matches none" in decision.reason


def test_exception_without_exit_code_counts_as_failure_exit_2() -> None:
    policy = DativoRetryPolicy(RetryConfig(retryable_exit_codes=[2]))
    assert policy.evaluate(TimeoutError("Connection timeout"), 1, 4).action == RetryAction.RETRY
    policy = DativoRetryPolicy(RetryConfig(retryable_exit_codes=[1]))
    assert policy.evaluate(TimeoutError("Connection timeout"), 1, 4).action == RetryAction.FAIL


@pytest.mark.parametrize("source", [SEED, SEED.model_dump(mode="json")])
def test_policy_round_trips_and_compares_by_config(source) -> None:
    policy = DativoRetryPolicy(source)
    assert DativoRetryPolicy.deserialize(policy.serialize()) == policy
    assert policy == DativoRetryPolicy(SEED)
