"""Case 5 of issue 15: a secret is masked in every spelling, wherever text leaves a run.

The secret holds ``/ + space @ : % " \\``, so every encoder writes it differently: a REST
catalog URI (the HTTP client quotes it partly), a PostgreSQL DSN (libpq mis-parses it and
quotes a piece of it), JSON events, Python reprs, base64. None of those spellings may reach the
events, the error text, the log records or Airflow's masker unmasked.
"""

from __future__ import annotations

import base64
import json
import logging
import urllib.parse
from pathlib import Path

import pytest
import yaml

from airflow_provider_dativo.config.loader import load_job
from airflow_provider_dativo.engine.secrets.redaction import Redactor
from tests.support.postgres import free_port
from tests.support.tenants import make_tenants
from tests.support.workspace import run_capturing_events

SECRET = 'ab/cd+ef gh@ij:kl%"q\\z'


def every_spelling(value: str) -> set[str]:
    """What a leak would look like: the value and each encoding of it, and the pieces a driver
    quotes after splitting at '/' or '@'."""
    forms = {
        value,
        urllib.parse.quote(value),
        urllib.parse.quote(value, safe=""),
        urllib.parse.quote_plus(value),
        urllib.parse.quote(value, safe="/@:+"),
        value.replace(" ", "%20"),
        json.dumps(value)[1:-1],
        repr(value)[1:-1],
        base64.b64encode(value.encode()).decode(),
        value.split("/", 1)[1],
        value.split("@", 1)[1],
    }
    return {form for form in forms if len(form) >= 6}


def leaked(text: str) -> list[str]:
    return [form for form in every_spelling(SECRET) if form in text]


def job_with(tmp_path: Path, *, source: dict, target: dict, connector: str = "csv") -> Path:
    tenants = make_tenants(tmp_path / "app")
    tenants.write("secrets/acme/special.env", f"SPECIAL='{SECRET}'\n")
    document = {
        "source_connector": connector,
        "source": source,
        "target": {"table": "t", **target},
        "asset": "orders",
        "logging": {"redaction": True},
    }
    return tenants.write("jobs/acme/job.yaml", yaml.safe_dump(document))


def run_and_collect(job_path: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.DEBUG):
        run = run_capturing_events(load_job(job_path), home=tmp_path / "home", run_id="r1", job_name="j")
    return run, json.dumps(run.events) + (run.result.error or "") + caplog.text


def test_every_spelling_of_the_secret_is_masked() -> None:
    redactor = Redactor([SECRET])
    for form in every_spelling(SECRET):
        masked = redactor.redact_text(f"before {form} after")
        assert not leaked(masked), (form, masked)
        assert masked.startswith("before ") and masked.endswith(" after")


def test_a_secret_in_a_rest_catalog_uri(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()  # nothing listens there: the catalog cannot be reached
    job = job_with(
        tmp_path,
        source={"path": "../../data/acme/orders.csv"},
        target={"catalog": {"type": "rest", "uri": f"http://127.0.0.1:{port}/${{secret:SPECIAL}}/"}},
    )
    run, said = run_and_collect(job, tmp_path, caplog)
    assert run.result.exit_code == 2
    error = run.events[-1]
    assert error["event_type"] == "job_error" and "***" in error["error"]
    assert not leaked(said), leaked(said)


def test_a_secret_as_a_postgresql_password(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, postgres_server
) -> None:
    dsn = f"postgresql://dativo:${{secret:SPECIAL}}@127.0.0.1:{postgres_server.port}/postgres"
    job = job_with(tmp_path, connector="postgres", source={"dsn": dsn, "table": "whatever"}, target={})
    run, said = run_and_collect(job, tmp_path, caplog)
    assert run.result.exit_code == 2
    assert "***" in run.result.error
    assert not leaked(said), (leaked(said), run.result.error)


def test_airflow_masker_knows_every_exact_spelling(tmp_path: Path) -> None:
    from airflow.sdk._shared.secrets_masker import redact

    from airflow_provider_dativo.hooks.dativo import airflow_secrets_loader

    job = job_with(tmp_path, source={"path": "../../data/acme/orders.csv"}, target={})
    airflow_secrets_loader(load_job(job))
    exact = every_spelling(SECRET) - {SECRET.split("/", 1)[1], SECRET.split("@", 1)[1]}
    for form in exact:
        assert form not in redact(f"log line {form} end"), form
