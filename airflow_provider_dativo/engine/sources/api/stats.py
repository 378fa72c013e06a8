"""API call metrics of one run, written into the run's metrics as they happen.

The seeds list "API call metrics" among a run's metrics; these keys follow the contract's
keys in ``metrics_complete`` and in the operator's XCom:

``api_calls``
    HTTP requests sent, retries included.
``api_retries``
    Requests sent again after a 429, a 5xx or a network error.
``api_rate_limited``
    Answers with HTTP 429.
``api_pages``
    Pages received (one page may have taken several calls).
``api_page_seconds``
    ``{"total", "mean", "p50", "p95", "max"}`` over every page: from its first call to its
    answer, waits between retries included.
``api_page_timings``
    The seconds of each page, in order; only the first :data:`MAX_PAGE_TIMINGS` are kept, so
    the metrics of a long sync stay small enough for XCom.

Counters are written at once, so a run that fails half-way still reports the calls it made;
the page summary is written after every page.
"""

from __future__ import annotations

import statistics
from typing import Any

MAX_PAGE_TIMINGS = 1000


class ApiStats:
    """Counts calls and times pages into ``sink`` (the run's metrics dict)."""

    def __init__(self, sink: dict[str, Any]) -> None:
        self.sink = sink
        self._timings: list[float] = []
        self._total = 0.0
        self._max = 0.0
        self._pages = 0
        sink.update({"api_calls": 0, "api_retries": 0, "api_rate_limited": 0, "api_pages": 0})

    def call(self, status: int | None) -> None:
        """One request was answered with ``status`` (``None``: no answer at all)."""
        self.sink["api_calls"] += 1
        if status == 429:
            self.sink["api_rate_limited"] += 1

    def retry(self) -> None:
        self.sink["api_retries"] += 1

    def page(self, seconds: float) -> None:
        """One page arrived ``seconds`` after its first call was sent."""
        self._pages += 1
        self._total += seconds
        self._max = max(self._max, seconds)
        if len(self._timings) < MAX_PAGE_TIMINGS:
            self._timings.append(seconds)
        self.sink["api_pages"] = self._pages
        self.sink["api_page_timings"] = [round(s, 4) for s in self._timings]
        self.sink["api_page_seconds"] = self.summary()

    def summary(self) -> dict[str, float]:
        """Total, mean and maximum over every page; percentiles over the kept timings."""
        if not self._pages:
            return {"total": 0.0, "mean": 0.0, "p50": 0.0, "p95": 0.0, "max": 0.0}
        kept = sorted(self._timings)
        p95 = kept[min(len(kept) - 1, int(0.95 * len(kept)))]
        return {
            "total": round(self._total, 4),
            "mean": round(self._total / self._pages, 4),
            "p50": round(statistics.median(kept), 4),
            "p95": round(p95, 4),
            "max": round(self._max, 4),
        }
