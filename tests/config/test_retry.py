"""The retry formula and the retryable decision of retry_config."""

from __future__ import annotations

import pytest

from airflow_provider_dativo.config.retry import RetryConfig


def test_delay_is_exactly_min_of_exponential_and_max() -> None:
    config = RetryConfig(
        initial_delay_seconds=10, backoff_multiplier=2.0, max_delay_seconds=60, max_retries=6
    )
    assert [config.delay_before_retry(n) for n in range(1, 7)] == [10, 20, 40, 60, 60, 60]


def test_fractional_multiplier_and_huge_retry_numbers_do_not_overflow() -> None:
    config = RetryConfig(initial_delay_seconds=3, backoff_multiplier=1.5, max_delay_seconds=1000)
    assert config.delay_before_retry(3) == pytest.approx(6.75)
    assert config.delay_before_retry(100_000) == 1000


def test_defaults_are_the_seeds_values() -> None:
    config = RetryConfig()
    assert (config.max_retries, config.initial_delay_seconds, config.max_delay_seconds) == (3, 5, 300)
    assert config.backoff_multiplier == 2.0 and config.retryable_exit_codes == [1, 2]
    assert config.retryable_error_patterns == []


@pytest.mark.parametrize(
    ("codes", "patterns", "exit_code", "text", "expected"),
    [
        ([2], [], 2, "anything", True),
        ([2], [], 1, "anything", False),
        ([1, 2], ["API rate limit", "Connection timeout"], 2, "HTTP 429: API rate limit hit", True),
        ([1, 2], ["API rate limit"], 2, "schema mismatch", False),
        ([2], ["^Conn.*Error$"], 2, "ConnectionError", True),
        ([2], ["timeout"], 2, "Timeout", False),  # re.search is case-sensitive, as in the seeds
    ],
)
def test_retryable_needs_exit_code_and_pattern(
    codes: list[int], patterns: list[str], exit_code: int, text: str, expected: bool
) -> None:
    config = RetryConfig(retryable_exit_codes=codes, retryable_error_patterns=patterns)
    decided, reason = config.is_retryable(exit_code, text)
    assert decided is expected
    assert str(exit_code) in reason
