"""Structured job events: one JSON object per line, so log shippers and tests can parse them.

The same events serve the CLI (written to a stream such as stdout) and Airflow (logged through
``logging`` so they land in the task log); the format does not depend on where they go.

Once a job's secrets are loaded (with ``logging.redaction: true``), the emitter masks their
values in every string of every event, at any depth, before the line is written: events are
the one place where error text and settings leave the engine.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any, TextIO

from airflow_provider_dativo.engine.secrets.redaction import Redactor

_LEVELS = {"DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARNING": logging.WARNING, "ERROR": logging.ERROR}


def utc_timestamp() -> str:
    """ISO-8601 UTC with millisecond precision and a ``Z`` suffix."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class EventEmitter:
    """Emits the events of one job run, stamping each with the run's identity."""

    def __init__(
        self,
        *,
        job_name: str,
        tenant_id: str | None,
        run_id: str | None = None,
        stream: TextIO | None = None,
        logger: logging.Logger | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        self.job_name = job_name
        self.tenant_id = tenant_id
        self.run_id = run_id
        self.stream = stream
        self.logger = logger or logging.getLogger("dativo.events")
        self.redactor = redactor or Redactor()
        """Masks secret values in every event; holds none until :meth:`add_secrets` is called."""

    def add_secrets(self, values: Iterable[str]) -> None:
        """Mask ``values`` in every event emitted from now on."""
        self.redactor.add(values)

    def redact_text(self, text: str) -> str:
        """``text`` with the secrets known to this emitter masked (for errors returned to callers)."""
        return self.redactor.redact_text(text)

    def emit(
        self, event_type: str, *, level: str = "INFO", message: str = "", **fields: Any
    ) -> dict[str, Any]:
        """Write one event and return it as written (secrets masked); extra ``fields`` follow the
        standard keys."""
        level = level.upper()
        event: dict[str, Any] = {
            "timestamp": utc_timestamp(),
            "level": level,
            "event_type": event_type,
            "job_name": self.job_name,
            "tenant_id": self.tenant_id,
            "run_id": self.run_id,
            "message": message,
        }
        event.update(fields)
        event = self.redactor.redact(event)
        line = json.dumps(event, default=str, ensure_ascii=False)
        if self.stream is not None:
            self.stream.write(line + "\n")
            self.stream.flush()
        else:
            self.logger.log(_LEVELS.get(level, logging.INFO), line)
        return event
