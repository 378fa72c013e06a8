"""``[core] hostname_callable`` of the end-to-end Celery workers: the worker's own name.

Airflow records the hostname of the machine that ran each task instance. The Celery workers of
tests/e2e run on one machine, so they are told apart by the name each carries in
``DATIVO_WORKER_NAME`` (see :meth:`tests.support.stack.AirflowStack.start_worker`).
"""

from __future__ import annotations

import os
import socket


def hostname() -> str:
    return os.environ.get("DATIVO_WORKER_NAME") or socket.getfqdn()
