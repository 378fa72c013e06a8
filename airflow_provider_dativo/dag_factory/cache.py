"""A disk cache of the DAG arguments a runner file produces, so re-parses skip the YAML.

The dag-processor parses the DAG file again and again, yet the runner, job and workflow files
rarely change. An entry holds the plain-data arguments (:mod:`.args`) and the signature
(mtime, size, inode, ctime) of every file they were read from, found or not; a parse whose
signatures all match builds the DAGs from it. The cache is a local file, written atomically,
and never required: turned ``off``, or unwritable, every parse reads the YAML. Its folder comes
from :func:`airflow_provider_dativo.settings.parse_cache_dir`.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from airflow_provider_dativo import __version__
from airflow_provider_dativo.dag_factory.args import IngestDagArgs, TimetableArgs
from airflow_provider_dativo.dag_factory.maintenance_args import MaintenanceDagArgs
from airflow_provider_dativo.dag_factory.workflow_args import WorkflowDagArgs, WorkflowTaskArgs

CACHE_FORMAT = 4
RACY_WINDOW_NS = 2_000_000_000
"""Files changed less than this before a parse are not trusted to have a stable signature."""


@dataclass
class DagArguments:
    """Everything the factory builds DAGs from: healthy schedules and placeholders."""

    ingest: list[IngestDagArgs] = field(default_factory=list)
    config_errors: list[dict[str, Any]] = field(default_factory=list)
    workflows: list[WorkflowDagArgs] = field(default_factory=list)
    maintenance: list[MaintenanceDagArgs] = field(default_factory=list)


def _signature(path: Path) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns]


def _encode_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Operator arguments as JSON: timedeltas become ``{"seconds": n}`` (no argument is a dict
    but ``workflow_params``, which is stored apart)."""
    return {k: {"seconds": v.total_seconds()} if isinstance(v, timedelta) else v for k, v in kwargs.items()}


def _decode_kwargs(data: dict[str, Any]) -> dict[str, Any]:
    return {
        k: timedelta(seconds=v["seconds"]) if isinstance(v, dict) and k != "workflow_params" else v
        for k, v in data.items()
    }


def _encode_timetable(timetable: TimetableArgs | None) -> list[Any] | None:
    return None if timetable is None else [timetable.cron, timetable.interval_seconds, timetable.timezone]


def _decode_timetable(data: list[Any] | None) -> TimetableArgs | None:
    return None if data is None else TimetableArgs(*data)


def _encode(args: IngestDagArgs) -> dict[str, Any]:
    return {
        "dag": args.dag,
        "timetable": _encode_timetable(args.timetable),
        "task": _encode_kwargs(args.task),
        "asset_uri": args.asset_uri,
        "retry_config": args.retry_config,
        "freshness": args.freshness,
    }


def _decode(data: dict[str, Any]) -> IngestDagArgs:
    return IngestDagArgs(
        dag=data["dag"],
        timetable=_decode_timetable(data["timetable"]),
        task=_decode_kwargs(data["task"]),
        asset_uri=data["asset_uri"],
        retry_config=data["retry_config"],
        freshness=data["freshness"],
    )


def _encode_workflow(args: WorkflowDagArgs) -> dict[str, Any]:
    return {
        "dag": args.dag,
        "timetable": _encode_timetable(args.timetable),
        "tasks": [[_encode_kwargs(t.task), t.retry_config, t.upstream] for t in args.tasks],
    }


def _decode_workflow(data: dict[str, Any]) -> WorkflowDagArgs:
    tasks = [
        WorkflowTaskArgs(_decode_kwargs(task), retry, upstream) for task, retry, upstream in data["tasks"]
    ]
    return WorkflowDagArgs(data["dag"], _decode_timetable(data["timetable"]), tasks)


def _encode_maintenance(args: MaintenanceDagArgs) -> dict[str, Any]:
    timetable = _encode_timetable(args.timetable)
    return {"dag": args.dag, "timetable": timetable, "task": _encode_kwargs(args.task)}


def _decode_maintenance(data: dict[str, Any]) -> MaintenanceDagArgs:
    return MaintenanceDagArgs(data["dag"], _decode_timetable(data["timetable"]), _decode_kwargs(data["task"]))


class ParseCache:
    """The cache entry of one runner file under one app root."""

    def __init__(self, folder: Path, runner_path: Path, app_root: str | None) -> None:
        self.runner_path = Path(os.path.abspath(runner_path))
        key = json.dumps([str(self.runner_path), app_root, __version__, CACHE_FORMAT])
        self.file = folder / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.json"

    def load(self) -> DagArguments | None:
        """The cached arguments when no input changed since they were stored, else ``None``."""
        try:
            data = json.loads(self.file.read_text(encoding="utf-8"))
            if data["format"] != CACHE_FORMAT:
                return None
            for path, signature in data["inputs"]:
                if _signature(Path(path)) != signature:
                    return None
            return DagArguments(
                [_decode(d) for d in data["ingest"]],
                data["config_errors"],
                [_decode_workflow(d) for d in data["workflows"]],
                [_decode_maintenance(d) for d in data["maintenance"]],
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def store(self, arguments: DagArguments, job_paths: Iterable[Path], *, parse_started_ns: int) -> None:
        """Write the entry atomically; a cache that cannot be written is silently skipped.

        An input modified shortly before (or during) the parse is "racily clean": its
        signature might not match the content that was read, so nothing is stored and the
        next parse reads the YAML again.
        """
        inputs = [[str(p), _signature(p)] for p in (self.runner_path, *job_paths)]
        if any(sig is not None and sig[0] >= parse_started_ns - RACY_WINDOW_NS for _, sig in inputs):
            return
        payload = {
            "format": CACHE_FORMAT,
            "inputs": inputs,
            "ingest": [_encode(a) for a in arguments.ingest],
            "config_errors": arguments.config_errors,
            "workflows": [_encode_workflow(a) for a in arguments.workflows],
            "maintenance": [_encode_maintenance(a) for a in arguments.maintenance],
        }
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.file.with_name(f"{self.file.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(payload), encoding="utf-8")
            os.replace(tmp, self.file)
        except OSError:
            pass
