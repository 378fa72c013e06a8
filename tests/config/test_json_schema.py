"""The JSON Schemas in docs/schema are current, and accept the example files."""

from __future__ import annotations

import json

import pytest
import yaml

from airflow_provider_dativo.config.json_schema import SCHEMAS, render
from tests.support.examples import EXAMPLES, REPO

jsonschema = pytest.importorskip("jsonschema")


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_committed_schema_is_current(name: str) -> None:
    committed = (REPO / "docs" / "schema" / name).read_text()
    assert committed == render(name), (
        f"docs/schema/{name} is stale: run python -m airflow_provider_dativo.config.json_schema docs/schema"
    )


@pytest.mark.parametrize(
    ("name", "files"),
    [
        ("runner.schema.json", sorted(EXAMPLES.glob("runner*.yaml"))),
        ("job.schema.json", sorted((EXAMPLES / "jobs").glob("*/*.yaml"))),
        ("asset.schema.json", sorted((EXAMPLES / "assets").glob("*.yaml"))),
    ],
)
def test_examples_validate_against_the_schema(name: str, files: list) -> None:
    schema = json.loads(render(name))
    assert files
    for path in files:
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)


def test_runner_schema_rejects_both_cron_and_interval() -> None:
    schema = json.loads(render("runner.schema.json"))
    bad = {
        "runner": {
            "orchestrator": {
                "schedules": [{"name": "a", "config": "x", "cron": "* * * * *", "interval_seconds": 5}]
            }
        }
    }
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
