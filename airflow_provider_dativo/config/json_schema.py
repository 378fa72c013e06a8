"""JSON Schemas of runner, job, asset and workflow files, so editors validate them as users type.

``python -m airflow_provider_dativo.config.json_schema docs/schema`` rewrites the files in
``docs/schema/``; a test fails when they are out of date.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from airflow_provider_dativo.config.asset import Asset
from airflow_provider_dativo.config.job import FileSourceSettings, JobConfig
from airflow_provider_dativo.config.runner import RunnerFile, Schedule
from airflow_provider_dativo.config.service_sources import (
    HubspotSourceSettings,
    PostgresSourceSettings,
    StripeSourceSettings,
)
from airflow_provider_dativo.config.workflow import WorkflowFile

_BASE = "https://airflow-provider-dativo.invalid/schema/"


def _with_header(schema: dict[str, Any], name: str, title: str) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": _BASE + name,
        "title": title,
        **schema,
    }


def runner_schema() -> dict[str, Any]:
    """runner.yaml; schedules are loaded one by one at run time, but editors check them fully."""
    schema = RunnerFile.model_json_schema()
    schedule = Schedule.model_json_schema()
    schema["$defs"]["Schedule"] = {k: v for k, v in schedule.items() if k != "$defs"}
    schema["$defs"]["Orchestrator"]["properties"]["schedules"]["items"] = {"$ref": "#/$defs/Schedule"}
    schedule_rules = schema["$defs"]["Schedule"]
    schedule_rules["allOf"] = [
        {"oneOf": [{"required": ["cron"]}, {"required": ["interval_seconds"]}]},
        {"oneOf": [{"required": ["config"]}, {"required": ["dag"]}]},
    ]
    schedule_rules["required"] = ["name"]
    return _with_header(schema, "runner.schema.json", "dativo runner.yaml")


def job_schema() -> dict[str, Any]:
    schema = JobConfig.model_json_schema()
    defs = schema.setdefault("$defs", {})
    for model in (FileSourceSettings, PostgresSourceSettings, StripeSourceSettings, HubspotSourceSettings):
        defs[model.__name__] = model.model_json_schema()
    schema["properties"]["source"]["description"] = (
        "Connector settings. csv/jsonl/parquet: see FileSourceSettings (path is relative to the job file); "
        "postgres, stripe, hubspot: see PostgresSourceSettings, StripeSourceSettings, HubspotSourceSettings "
        "(docs/connectors.md)."
    )
    return _with_header(schema, "job.schema.json", "dativo job file")


def asset_schema() -> dict[str, Any]:
    return _with_header(Asset.model_json_schema(), "asset.schema.json", "dativo asset file")


def workflow_schema() -> dict[str, Any]:
    """DAG-of-workflows files; references and params are checked when the file is loaded."""
    return _with_header(
        WorkflowFile.model_json_schema(), "workflow.schema.json", "dativo DAG-of-workflows file"
    )


SCHEMAS = {
    "runner.schema.json": runner_schema,
    "job.schema.json": job_schema,
    "asset.schema.json": asset_schema,
    "workflow.schema.json": workflow_schema,
}


def render(name: str) -> str:
    return json.dumps(SCHEMAS[name](), indent=2, sort_keys=True) + "\n"


def write_schemas(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in SCHEMAS:
        path = folder / name
        path.write_text(render(name), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_schemas(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/schema")):
        print(path)
