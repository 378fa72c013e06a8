"""Secrets under Airflow: real connections (``AIRFLOW_CONN_*``), Airflow's secrets masker, and
real task runs that must not leak a value into the task log, XCom or rendered template fields."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from airflow.sdk._shared.secrets_masker import redact

from airflow_provider_dativo.config.loader import ResolvedJob
from airflow_provider_dativo.engine.secrets.store import SecretsError
from airflow_provider_dativo.hooks.dativo import airflow_secrets_loader, connection_id
from airflow_provider_dativo.operators.ingest import DativoIngestOperator
from tests.support.secret_files import write_job, write_secrets

FILE_KEY = "sk_file_acme_1111"
CONN_KEY = "sk_conn_acme_2222"


def conn_env(monkeypatch: pytest.MonkeyPatch, conn_id: str, value: dict[str, Any] | str) -> None:
    """Define an Airflow connection the way Airflow reads it without a database."""
    text = value if isinstance(value, str) else json.dumps(value)
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", text)


def stripe_job(root: Path, ref: Any = "${secret:STRIPE_API_KEY}", **doc: Any) -> ResolvedJob:
    write_secrets(
        root, "acme", {"stripe.env": f"STRIPE_API_KEY={FILE_KEY}\nOTHER_FILE_SECRET=file-only-3333\n"}
    )
    return write_job(root, {"target": {"catalog": {"type": "sql", "credential": ref}}, **doc})


def test_connection_id_of_a_tenant_secret() -> None:
    assert connection_id("acme", "STRIPE_API_KEY") == "dativo_acme_stripe_api_key"


def test_connection_in_json_form_wins_over_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conn_env(monkeypatch, "dativo_acme_stripe_api_key", {"conn_type": "generic", "password": CONN_KEY})
    secrets = airflow_secrets_loader(stripe_job(tmp_path))
    assert secrets["STRIPE_API_KEY"] == CONN_KEY
    assert secrets["OTHER_FILE_SECRET"] == "file-only-3333"
    assert secrets.origin("STRIPE_API_KEY") == "Airflow connection 'dativo_acme_stripe_api_key'"
    assert secrets.sources == {"files": 1, "connections": 1}


def test_without_a_connection_the_file_value_is_used(tmp_path: Path) -> None:
    secrets = airflow_secrets_loader(stripe_job(tmp_path))
    assert secrets["STRIPE_API_KEY"] == FILE_KEY and secrets.sources["connections"] == 0


def test_declared_connection_in_uri_form(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conn_env(monkeypatch, "warehouse_db", "postgres://etl:s3cr%40t-pw@db:5432/lake")
    job = stripe_job(tmp_path, {"secret": "PG_PASSWORD", "conn_id": "warehouse_db"})
    secrets = airflow_secrets_loader(job)
    assert secrets["PG_PASSWORD"] == "s3cr@t-pw"


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("uri", "postgres://etl:s3cr%40t-pw@db.example:5433/lake?sslmode=require"),
        ("login", "etl"),
        ("host", "db.example"),
        ("password", "s3cr@t-pw"),
    ],
)
def test_field_picks_a_part_of_the_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, field: str, expected: str
) -> None:
    conn_env(monkeypatch, "warehouse_db", "postgres://etl:s3cr%40t-pw@db.example:5433/lake?sslmode=require")
    job = stripe_job(tmp_path, {"secret": "PG_DSN", "conn_id": "warehouse_db", "field": field})
    assert airflow_secrets_loader(job)["PG_DSN"] == expected


def test_a_missing_field_of_the_connection_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn_env(monkeypatch, "warehouse_db", {"conn_type": "generic", "password": "x-secret"})
    job = stripe_job(tmp_path, {"secret": "PG_USER", "conn_id": "warehouse_db", "field": "login"})
    with pytest.raises(SecretsError, match=r"'warehouse_db' .* has no login to take the value from"):
        airflow_secrets_loader(job)


def test_an_unknown_field_is_refused_with_the_known_ones(tmp_path: Path) -> None:
    job = stripe_job(tmp_path, {"secret": "PG_DSN", "conn_id": "warehouse_db", "field": "schema"})
    with pytest.raises(
        SecretsError, match=r"'field' must be one of password, extra, login, host, uri"
    ) as info:
        airflow_secrets_loader(job)
    assert "target.catalog.credential" in str(info.value)


def test_connection_without_password_gives_its_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key_file = {"type": "service_account", "private_key": "-----BEGIN KEY-----abc"}
    conn_env(monkeypatch, "dativo_acme_gcp_key", {"conn_type": "google_cloud_platform", "extra": key_file})
    secrets = airflow_secrets_loader(stripe_job(tmp_path, "${secret:GCP_KEY}"))
    assert json.loads(secrets["GCP_KEY"]) == key_file


def test_missing_declared_connection_is_an_error(tmp_path: Path) -> None:
    job = stripe_job(tmp_path, {"secret": "STRIPE_API_KEY", "conn_id": "stripe_prod"})
    with pytest.raises(SecretsError) as info:
        airflow_secrets_loader(job)
    assert "Airflow connection 'stripe_prod' declared for secret 'STRIPE_API_KEY'" in str(info.value)
    assert "(at target.catalog.credential) does not exist" in str(info.value)


def test_a_secret_declared_with_two_connections_is_an_error(tmp_path: Path) -> None:
    catalog = {
        "type": "sql",
        "credential": {"secret": "PG_PASSWORD", "conn_id": "pg_a"},
        "token": {"secret": "PG_PASSWORD", "conn_id": "pg_b"},
    }
    with pytest.raises(SecretsError) as info:
        airflow_secrets_loader(write_job(tmp_path, {"target": {"catalog": catalog}}))
    assert "secret 'PG_PASSWORD' is declared with two connections or fields: 'pg_a'" in str(info.value)
    assert "(at target.catalog.credential) and 'pg_b' (at target.catalog.token)" in str(info.value)


def test_another_tenants_connection_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conn_env(monkeypatch, "dativo_globex_stripe_api_key", {"conn_type": "generic", "password": "sk_globex_9"})
    with pytest.raises(SecretsError, match="may not read the secrets of tenant 'globex'"):
        airflow_secrets_loader(stripe_job(tmp_path, "${secret:globex/STRIPE_API_KEY}"))
    declared = {"secret": "STRIPE_API_KEY", "conn_id": "dativo_globex_stripe_api_key"}
    with pytest.raises(SecretsError) as info:
        airflow_secrets_loader(stripe_job(tmp_path, declared))
    assert "holds another tenant's secrets" in str(info.value) and "sk_globex_9" not in str(info.value)


def test_allowed_tenants_connection_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conn_env(monkeypatch, "dativo_globex_stripe_api_key", {"conn_type": "generic", "password": "sk_globex_9"})
    job = stripe_job(
        tmp_path, "${secret:globex/STRIPE_API_KEY}", isolation={"allow_secrets_from": ["globex"]}
    )
    secrets = airflow_secrets_loader(job)
    assert secrets["globex/STRIPE_API_KEY"] == "sk_globex_9" and secrets["STRIPE_API_KEY"] == FILE_KEY


def test_missing_secret_names_the_connection_that_was_tried(tmp_path: Path) -> None:
    from airflow_provider_dativo.engine.secrets.store import resolve_job_secrets

    job = stripe_job(tmp_path, "${secret:HUBSPOT_TOKEN}")
    with pytest.raises(SecretsError) as info:
        resolve_job_secrets(job, airflow_secrets_loader(job))
    assert "secret 'HUBSPOT_TOKEN' of tenant 'acme' is not defined" in str(info.value)
    assert "Airflow connection dativo_acme_<name>" in str(info.value)


def test_values_are_registered_with_airflows_masker_when_redaction_is_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_secrets(tmp_path, "acme", {"a.env": "MASKED_FILE_VALUE=masked-by-airflow-5151\n"})
    airflow_secrets_loader(write_job(tmp_path, {"logging": {"redaction": True}}))
    assert redact("log line masked-by-airflow-5151 end") == "log line *** end"


def test_values_are_not_registered_without_redaction(tmp_path: Path) -> None:
    write_secrets(tmp_path, "acme", {"a.env": "PLAIN_FILE_VALUE=not-registered-6262\n"})
    airflow_secrets_loader(write_job(tmp_path, {"logging": {"redaction": False}}))
    assert redact("log line not-registered-6262 end") == "log line not-registered-6262 end"


def test_a_dativo_connection_is_served_by_the_dativo_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    """Airflow maps the ``dativo`` connection type to DativoHook (through get_provider_info)."""
    from airflow.sdk import BaseHook

    from airflow_provider_dativo.hooks.dativo import DativoHook

    conn_env(monkeypatch, "dativo_acme_token", {"conn_type": "dativo", "password": CONN_KEY})
    hook = BaseHook.get_hook("dativo_acme_token")
    assert isinstance(hook, DativoHook)
    assert hook.dativo_conn_id == "dativo_acme_token"
    assert hook.secret() == CONN_KEY


def test_the_hook_names_the_connection_and_the_missing_part(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider_dativo.hooks.dativo import DativoHook

    conn_env(monkeypatch, "dativo_acme_empty", {"conn_type": "dativo", "extra": '{"key": "v"}'})
    hook = DativoHook(dativo_conn_id="dativo_acme_empty")
    assert hook.secret() == '{"key": "v"}'  # no password: the extra
    with pytest.raises(SecretsError, match=r"'dativo_acme_empty' has no login to take the value from"):
        hook.secret("login")


def test_template_fields_hold_only_the_config_path() -> None:
    assert tuple(DativoIngestOperator.template_fields) == ("config_path",)


# --- real task runs ------------------------------------------------------------------------

LEAK_CONN = "sk_conn_leak_7a7a7a"
LEAK_FILE = "tok_file_leak_8b8b8b"
CONTROL = "tok_globex_ctl_9c9c9c"
CATALOG_DB = "catalog_db_4d4d4d"

DAG_FILE = """\
from airflow.sdk import DAG
from airflow_provider_dativo.operators.ingest import DativoIngestOperator

JOBS = {jobs!r}
with DAG("secrets_dag", schedule=None, catchup=False):
    for task_id, config_path in JOBS.items():
        DativoIngestOperator(task_id=task_id, config_path=config_path, retries=2, retry_delay=0)
"""


def _job(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    base = {"source_connector": "csv", "source": {"path": "../../data/orders.csv"}, "asset": "orders"}
    path.write_text(yaml.safe_dump({**base, **doc}))


def deploy(root: Path, home: Path) -> dict[str, str]:
    """acme: ``ok`` (succeeds) and ``leak`` (fails, its error holds two secrets), both with
    redaction; globex: ``control`` (fails, its error holds a secret, no redaction); acme:
    ``forbidden`` (references a globex secret without isolation.allow_secrets_from)."""
    (root / "assets").mkdir(parents=True)
    (root / "assets" / "orders.yaml").write_text("name: orders\nfields:\n  - {name: order_id, type: long}\n")
    (root / "data").mkdir()
    (root / "data" / "orders.csv").write_text("order_id\n1\n2\n")
    write_secrets(root, "acme", {"a.env": f"CATALOG_DB={CATALOG_DB}\nFILE_TOKEN={LEAK_FILE}\n"})
    write_secrets(root, "globex", {"g.json": json.dumps({"GLOBEX_TOKEN": CONTROL})})
    catalog = {
        "type": "sql",
        "uri": f"sqlite:///{home}/${{secret:CATALOG_DB}}.db",
        "warehouse": f"file://{home}/wh",
    }
    leaky_uri = f"sqlite:///{root}/missing/${{secret:STRIPE_API_KEY}}/${{secret:FILE_TOKEN}}/c.db"
    jobs = {
        "ok": ("acme", {"target": {"table": "orders", "catalog": catalog}, "logging": {"redaction": True}}),
        "leak": (
            "acme",
            {
                "target": {"table": "orders", "catalog": {"type": "sql", "uri": leaky_uri}},
                "logging": {"redaction": True},
            },
        ),
        "control": (
            "globex",
            {"source": {"path": "../../data/${secret:GLOBEX_TOKEN}.csv"}, "target": {"table": "orders"}},
        ),
        "forbidden": (
            "acme",
            {
                "target": {
                    "table": "orders",
                    "catalog": {"type": "sql", "uri": "${secret:globex/GLOBEX_TOKEN}"},
                }
            },
        ),
    }
    paths = {}
    for task_id, (tenant, doc) in jobs.items():
        path = root / "jobs" / tenant / f"{task_id}.yaml"
        _job(path, doc)
        paths[task_id] = str(path)
    return paths


@pytest.fixture(scope="module")
def secrets_dag_run(airflow_db, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """One ``airflow dags test`` of a DAG with the four tasks; its output and the catalog home."""
    tmp = tmp_path_factory.mktemp("secrets-run")
    root, home, dags = tmp / "deploy", tmp / "home", tmp / "dags"
    home.mkdir()
    dags.mkdir()
    (dags / "secrets_dag.py").write_text(DAG_FILE.format(jobs=deploy(root, home)))
    env = {
        **os.environ,
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "DATIVO_HOME": str(home),
        "AIRFLOW_CONN_DATIVO_ACME_STRIPE_API_KEY": json.dumps(
            {"conn_type": "generic", "password": LEAK_CONN}
        ),
    }
    result = subprocess.run(
        [sys.executable, "-m", "airflow", "dags", "test", "secrets_dag"],
        capture_output=True,
        text=True,
        env=env,
    )
    return result.stdout + result.stderr, home


@pytest.mark.slow
def test_task_log_masks_every_secret_of_a_redacted_job(secrets_dag_run: tuple[str, Path]) -> None:
    output, _ = secrets_dag_run
    assert '"event_type": "secrets_loaded"' in output, output[-3000:]
    assert "cannot be reached" in output  # the leak task failed on the catalog, as designed
    assert LEAK_CONN not in output and LEAK_FILE not in output and CATALOG_DB not in output
    assert "missing/***/***/c.db" in output
    # the control job has no redaction: its secret is in the same output, so a leak would be seen
    assert CONTROL in output


@pytest.mark.slow
def test_xcom_and_rendered_fields_hold_no_secret(secrets_dag_run: tuple[str, Path]) -> None:
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    output, home = secrets_dag_run
    assert (home / f"{CATALOG_DB}.db").exists(), output[-3000:]  # the reference was resolved
    with create_session() as session:
        [xcom] = session.query(XComModel).filter_by(dag_id="secrets_dag", task_id="ok", key="return_value")
        rendered = session.query(RenderedTaskInstanceFields).filter_by(dag_id="secrets_dag").all()
    metrics = xcom.value if isinstance(xcom.value, dict) else json.loads(xcom.value)
    assert metrics["status"] == "success" and metrics["records_valid"] == 2
    assert {r.task_id for r in rendered} == {"ok", "leak", "control", "forbidden"}
    stored = json.dumps(metrics) + json.dumps([r.rendered_fields for r in rendered], default=str)
    for value in (LEAK_CONN, LEAK_FILE, CATALOG_DB, CONTROL):
        assert value not in stored
    assert all(set(r.rendered_fields) == {"config_path"} for r in rendered)


def _job_errors(output: str, task_id: str) -> list[str]:
    return [line for line in output.splitlines() if '"job_error"' in line and f'+00:00/{task_id}"' in line]


@pytest.mark.slow
def test_a_cross_tenant_secret_fails_the_task_at_once(secrets_dag_run: tuple[str, Path]) -> None:
    output, _ = secrets_dag_run
    [error] = _job_errors(output, "forbidden")  # one try although retries=2: no retry can fix it
    assert "SecretsError: a job of tenant 'acme' may not read the secrets of tenant 'globex'" in error
    assert "dativo job secrets_dag cannot read its secrets" in output and "AirflowFailException" in output
    assert len(_job_errors(output, "leak")) == 3  # a catalog failure, by contrast, is retried
