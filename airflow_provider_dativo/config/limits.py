"""Bounds of every numeric setting: what Airflow, its metadata database and the engine can hold.

A value beyond them used to pass validation and then break far away: an integer the database
column cannot store removed every DAG from ``airflow dags list``, an interval of 10^12 seconds
overflowed Airflow's date arithmetic while the factory built DAGs, and ``1e400`` (infinity in
YAML) made a retry delay that never ends. Every model of :mod:`airflow_provider_dativo.config`
refuses them instead, with the file, line and field (``docs/security.md`` lists them).
"""

from __future__ import annotations

DB_INT_MAX = 2_147_483_647
"""Largest value of Airflow's ``Integer`` columns (``max_active_runs``, pool ``slots``,
``max_tries``) on every database Airflow supports (32-bit signed)."""

DAY_SECONDS = 86_400
YEAR_SECONDS = 365 * DAY_SECONDS

MAX_INTERVAL_SECONDS = 100 * YEAR_SECONDS
"""Longest ``interval_seconds``: far below what overflows Airflow's next-run date (year 9999)."""

MAX_RETRIES = 10_000
"""Most retries of a job or workflow task (Airflow's ``max_tries`` column holds more; nobody
waits for more)."""

MAX_RETRY_DELAY_SECONDS = YEAR_SECONDS
"""Longest delay before a retry (``initial_delay_seconds``, ``max_delay_seconds``)."""

MAX_BACKOFF_MULTIPLIER = 1_000.0
"""Largest growth factor of the retry delay."""

MAX_ERROR_PATTERNS = 100
"""Most ``retryable_error_patterns`` of one ``retry_config``."""

MAX_PATTERN_LENGTH = 1_000
"""Longest regular expression a user may write (RE2 bounds its program size as well)."""

MAX_TIMEOUT_SECONDS = DAY_SECONDS
"""Longest timeout or wait of a connector (HTTP timeouts, retry waits, statement timeouts)."""

MAX_BATCH_BYTES = 1 << 30
"""Largest record batch a database connector may ask its driver for (1 GiB)."""

MAX_FRESHNESS_MINUTES = 366 * DAY_SECONDS // 60
"""Longest freshness promise (a year and a day): a deadline beyond it is no promise, and a value
near ``timedelta``'s limit would overflow when Airflow adds it to the queued time."""

MAX_LOOKBACK_SECONDS = 10 * YEAR_SECONDS
"""Longest ``source.incremental.lookback`` duration."""

MAX_LOOKBACK_UNITS = 1e15
"""Largest numeric ``source.incremental.lookback`` (cursor units): within a double's exact integers."""

MIN_TARGET_FILE_SIZE_MB = 1
"""Smallest compaction target: below it, per-file overheads dominate and compaction gains nothing."""

MAX_TARGET_FILE_SIZE_MB = 4_096
"""Largest compaction target (4 GiB): one output file's rows are held in memory while it is written."""

MAX_SNAPSHOT_AGE_HOURS = 100 * YEAR_SECONDS // 3_600
"""Longest age limit of snapshot expiry and orphan removal (beyond it, nothing would ever go)."""

MAX_KEEP_LAST_SNAPSHOTS = 1_000_000
"""Most snapshots a maintenance run may be told to always keep."""
