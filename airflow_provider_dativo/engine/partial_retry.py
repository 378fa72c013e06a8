"""Whether a partial run commits now or leaves the load to a retry that can do better.

A warn-mode run that rejected records ends partial (exit code 1). Committing its valid records
and quarantining the rest settles the run id: a retry finds that commit and can only report it
again, however the source changed meanwhile. So when exit code 1 is retryable for the task
and a try is left, the run commits nothing (no data, no quarantine rows, no cursor) and fails
for the retry, which reads the source again; the last allowed try commits whatever it finds.

The same :class:`PartialRetry` decides for ``dativo run`` (its in-process retries), the
Airflow operator (try number and retry policy of the task) and ``dativo_ingest`` workflow
tasks (the task's retries).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class PartialRetry:
    """The retry situation of one try: its number, how many tries the task has in all, and
    whether exit code 1 with a given error text would be retried."""

    try_number: int
    """1-based number of this try."""
    tries: int
    """Tries allowed in all (retries + 1)."""
    retryable: Callable[[str], tuple[bool, str]]
    """``error text -> (retried?, why)`` for exit code 1, as the task's retry rules say."""

    def decide(self, error_text: str) -> tuple[bool, str]:
        """``(commit now?, why)`` for a partial outcome with ``error_text``."""
        retried, why = self.retryable(error_text)
        position = f"try {self.try_number} of {self.tries}"
        if not retried:
            return True, f"{why}: {position} commits the partial load"
        if self.try_number >= self.tries:
            return True, f"{why}, but {position} is the last: it commits the partial load"
        return False, (
            f"{why} and {position} is not the last: nothing is committed, so try {self.try_number + 1} "
            "reads the source again (the last try commits what it finds)"
        )


NO_RETRY = PartialRetry(1, 1, lambda _: (False, "no retry is configured"))
"""A run without retries: a partial outcome is committed at once."""
