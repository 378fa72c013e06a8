"""A tenant's secret files and a csv job that uses them, written into a throw-away app root."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from airflow_provider_dativo.config.loader import ResolvedJob, load_job


def write_secrets(root: Path, tenant: str, files: dict[str, str]) -> Path:
    folder = root / "secrets" / tenant
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def write_job(root: Path, doc: dict[str, Any], *, tenant: str = "acme", name: str = "job") -> ResolvedJob:
    """A csv job in ``root/jobs/<tenant>/`` reading ``root/data/orders.csv``; ``doc`` is merged in."""
    assets = root / "assets" / "orders.yaml"
    if not assets.exists():
        assets.parent.mkdir(parents=True, exist_ok=True)
        assets.write_text(
            yaml.safe_dump({"name": "orders", "fields": [{"name": "order_id", "type": "long"}]})
        )
    base: dict[str, Any] = {
        "source_connector": "csv",
        "source": {"path": "../../data/orders.csv"},
        "target": {"table": "orders"},
        "asset": "orders",
    }
    for key, value in doc.items():
        base[key] = {**base[key], **value} if isinstance(base.get(key), dict) else value
    path = root / "jobs" / tenant / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(base))
    return load_job(path)
