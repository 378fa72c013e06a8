"""One CLI run of a workflow at a time per state file: a second run is refused, not interleaved.

Two runs writing one state file would each record their own tasks over the other's, and both
would run the same tasks. ``dativo workflow run`` therefore holds an exclusive ``flock`` on
``<state file>.lock`` for the whole run; a second run finds it taken and stops before it reads
the state, naming the run that holds it. The operating system releases the lock when the
holding process ends, killed or not, so no stale lock is ever left to clean up. (``flock`` is
not reliable on every network file system: keep state files on local disks.)

Hand-written on the standard library's ``fcntl``: ``filelock`` truncates the lock file when it
opens it, which would erase the holder's identity that the refusal message shows.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from airflow_provider_dativo.engine.events import utc_timestamp


class WorkflowRunLocked(Exception):
    """Another run of the workflow holds its state file."""


def lock_path(state_file: Path) -> Path:
    return state_file.with_name(f"{state_file.name}.lock")


@contextlib.contextmanager
def exclusive_run(state_file: Path, *, workflow_name: str, run_id: str) -> Iterator[None]:
    """Hold the run lock of ``state_file`` while the block runs; raises :class:`WorkflowRunLocked`
    at once when another process holds it."""
    path = lock_path(state_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            raise WorkflowRunLocked(_refusal(workflow_name, state_file, handle.read())) from None
        try:
            holder = {"run_id": run_id, "pid": os.getpid(), "host": socket.gethostname()}
            _rewrite(handle, json.dumps({**holder, "started_at": utc_timestamp()}))
            yield
        finally:
            _rewrite(handle, "")
            fcntl.flock(handle, fcntl.LOCK_UN)


def _rewrite(handle, text: str) -> None:  # type: ignore[no-untyped-def]
    handle.seek(0)
    handle.truncate()
    handle.write(text)
    handle.flush()


def _refusal(workflow_name: str, state_file: Path, holder_text: str) -> str:
    try:
        holder = json.loads(holder_text)
        who = (
            f"run {holder['run_id']} (pid {holder['pid']} on {holder['host']}, "
            f"started {holder['started_at']})"
        )
    except (ValueError, KeyError, TypeError):
        who = "another run"
    return (
        f"workflow {workflow_name!r} is already running: {who} holds its state file {state_file}; "
        "this run is refused so that neither overwrites the other's state. Wait for it to finish "
        "(or use another --state)"
    )
