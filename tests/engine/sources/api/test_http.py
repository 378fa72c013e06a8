"""Retry-After parsing of the API client (the retries themselves are tested per connector)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from airflow_provider_dativo.engine.sources.api.http import retry_after_seconds

NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("2", 2.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("-3", 0.0),
        ("Sun, 22 Nov 2026 12:00:30 GMT", 30.0),  # an HTTP date: wait until then
        ("Sun, 22 Nov 2026 11:59:00 GMT", 0.0),  # already past
        (None, None),
        ("", None),
        ("soon", None),
    ],
)
def test_retry_after_seconds(header, seconds) -> None:
    assert retry_after_seconds(header, NOW) == seconds
