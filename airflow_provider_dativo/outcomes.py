"""How a job run ends: exit codes and statuses, defined once for the engine, the operator, the
``dativo`` command line and workflow tasks.

Exit code 0 is ``success``; 1 is ``partial`` (warn mode dropped invalid records, the valid ones
were loaded); 2 is ``failure`` (nothing of the run was committed). Retry rules
(``retry_config.retryable_exit_codes``) name these codes.
"""

from __future__ import annotations

EXIT_SUCCESS = 0
EXIT_PARTIAL = 1
EXIT_FAILURE = 2

SUCCESS = "success"
PARTIAL = "partial"
FAILURE = "failure"

STATUS_BY_EXIT_CODE = {EXIT_SUCCESS: SUCCESS, EXIT_PARTIAL: PARTIAL, EXIT_FAILURE: FAILURE}
"""The status a run reports for each exit code."""
