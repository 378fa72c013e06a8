"""The metrics of one run, reported in ``metrics_complete`` and returned in ``JobResult.metrics``.

The key order is part of the contract (dashboards and tests read it), so it lives in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

METRIC_KEYS = (
    "job_name",
    "tenant_id",
    "status",
    "execution_time_seconds",
    "records_extracted",
    "records_valid",
    "records_invalid",
    "files_written",
    "total_bytes",
    "records_per_second",
)
"""The standard metric keys, in order; extra keys (``extra``) always follow them."""


@dataclass
class RunMetrics:
    """Counters filled in as a run progresses; anything not reached stays 0."""

    job_name: str
    tenant_id: str | None
    status: str = "failure"
    records_extracted: int = 0
    records_valid: int = 0
    records_invalid: int = 0
    files_written: int = 0
    total_bytes: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self, execution_time_seconds: float) -> dict[str, Any]:
        """The metrics in contract order, rates computed from ``execution_time_seconds``."""
        seconds = max(execution_time_seconds, 0.0)
        rate = self.records_valid / seconds if seconds > 0 else 0.0
        out: dict[str, Any] = {
            "job_name": self.job_name,
            "tenant_id": self.tenant_id,
            "status": self.status,
            "execution_time_seconds": round(seconds, 3),
            "records_extracted": self.records_extracted,
            "records_valid": self.records_valid,
            "records_invalid": self.records_invalid,
            "files_written": self.files_written,
            "total_bytes": self.total_bytes,
            "records_per_second": round(rate, 1),
        }
        for key, value in self.extra.items():
            out.setdefault(key, value)
        return out
