"""A deployment for database and API connector jobs: assets, jobs, secrets, runs, the table."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.support.workspace import Run, embedded_catalog, run_capturing_events


@dataclass
class Deployment:
    """``root`` holds ``assets/``, ``jobs/acme/``, ``secrets/acme/`` and ``connectors/``; ``home``
    the embedded catalog."""

    root: Path
    home: Path

    def write(self, relative: str, document: Any) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        text = document if isinstance(document, str) else yaml.safe_dump(document, sort_keys=False)
        path.write_text(text)
        return path

    def asset(self, name: str, fields: list[dict[str, Any]]) -> None:
        self.write(f"assets/{name}.yaml", {"name": name, "fields": fields})

    def secrets(self, **values: str) -> None:
        self.write("secrets/acme/test.env", "".join(f"{k}={v}\n" for k, v in values.items()))

    def recipe(self, connector: str, document: dict[str, Any]) -> Path:
        return self.write(f"connectors/{connector}.yaml", {"connector": connector, **document})

    def job(
        self,
        connector: str,
        source: dict[str, Any],
        *,
        asset: str,
        table: str,
        name: str = "job",
        validation: str = "strict",
        redaction: bool = True,
        **target: Any,
    ):
        from airflow_provider_dativo.config.loader import load_job

        document = {
            "tenant_id": "acme",
            "source_connector": connector,
            "source": source,
            "target": {"table": table, **target},
            "asset": asset,
            "validation": {"mode": validation},
            "logging": {"redaction": redaction},
        }
        return load_job(self.write(f"jobs/acme/{name}.yaml", document))

    def run(self, job, *, run_id: str | None = None, secrets_loader=None) -> Run:
        run_id = run_id or f"run-{uuid.uuid4().hex[:8]}"
        return run_capturing_events(
            job, home=self.home, run_id=run_id, job_name="job", secrets_loader=secrets_loader
        )

    def table(self, identifier: str):
        return embedded_catalog(self.home).load_table(identifier)

    def rows(self, identifier: str, key: str) -> list[dict[str, Any]]:
        return sorted(self.table(identifier).scan().to_arrow().to_pylist(), key=lambda r: r[key])


def api_job(
    deployment: Deployment, connector: str, api: Any, asset: str, asset_fields: list[dict[str, Any]], **source
):
    """A job of an API connector against a fake server: small pages, no backoff, its secret
    defined; target settings (``mode``, ``merge_keys``, ``validation``, ``catalog``) may be passed too."""
    from tests.support.fake_hubspot import TOKEN
    from tests.support.fake_stripe import API_KEY

    deployment.asset(asset, asset_fields)
    deployment.secrets(STRIPE_API_KEY=API_KEY, HUBSPOT_ACCESS_TOKEN=TOKEN)
    settings = {"base_url": api.base_url, "page_size": 2, "backoff_seconds": 0, **source}
    target = {k: settings.pop(k) for k in ("validation", "mode", "merge_keys", "catalog") if k in settings}
    table = asset.rsplit("_", 1)[-1]
    return deployment.job(connector, settings, asset=asset, table=table, **target)


def everything_said(run: Run) -> str:
    """Every event and the result's error and metrics, as one text (to look for leaks)."""
    return "\n".join(
        [json.dumps(e) for e in run.events] + [str(run.result.error), json.dumps(run.result.metrics)]
    )
