"""Case 1 of issue 15: a tenant's job file reads only that tenant's files.

Each hostile path is refused by ``dativo validate`` (exit 2, file:line: field) and by ``dativo
run`` before a byte is read (exit 2, ``ConfigError``, no table), and the tenant's own files and
the folders the operator grants still load.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from airflow_provider_dativo.config.confinement import job_confinement
from airflow_provider_dativo.config.errors import DativoConfigError
from airflow_provider_dativo.config.loader import load_job
from airflow_provider_dativo.dag_factory.args import ingest_dag_args
from airflow_provider_dativo.plan.runner import load_runner
from tests.support.tenants import GLOBEX_PASSWORD, Tenants, dativo, events, make_tenants


@pytest.fixture
def tenants(tmp_path: Path) -> Tenants:
    return make_tenants(tmp_path / "app")


def source(path: str, extra: str = "") -> str:
    return f"source:\n  path: {path}\n{extra}target:\n  table: stolen\n"


HOSTILE_PATHS = {
    "another tenant's secrets": ("../../secrets/globex/*.env", '  delimiter: "="\n  header: false\n'),
    "the host's files": ("/etc/passwd", '  delimiter: ":"\n  header: false\n'),
    "another tenant's data": ("../../data/globex/orders.csv", ""),
    "a glob into every tenant's data": ("../../data/*/orders.csv", ""),
    "the own secrets folder": ("../../secrets/acme/db.env", '  delimiter: "="\n  header: false\n'),
}


@pytest.mark.parametrize("what", HOSTILE_PATHS)
def test_validate_refuses_a_path_outside_the_tenant(tenants: Tenants, what: str) -> None:
    path, extra = HOSTILE_PATHS[what]
    job = tenants.job("steal", source(path, extra))
    result = dativo("validate", str(job), home=tenants.root / "home")
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{job}:4: source.path:" in result.stdout, result.stdout


@pytest.mark.parametrize("what", HOSTILE_PATHS)
def test_run_refuses_it_before_reading_a_byte(tenants: Tenants, what: str) -> None:
    path, extra = HOSTILE_PATHS[what]
    job = tenants.job("steal", source(path, extra))
    home = tenants.root / "home"
    result = dativo("run", "--config", str(job), "--no-retries", home=home)
    assert result.returncode == 2, result.stdout + result.stderr
    error = events(result.stdout)[-1]
    assert error["event_type"] == "job_error" and error["error_type"] == "ConfigError"
    assert "source.path" in error["error"]
    assert GLOBEX_PASSWORD not in result.stdout + result.stderr
    assert not (home / "catalog.db").exists() or "stolen" not in _tables(home)


def _tables(home: Path) -> str:
    import sqlite3

    with sqlite3.connect(home / "catalog.db") as db:
        return str(db.execute("SELECT table_name FROM iceberg_tables").fetchall())


def test_a_symlink_out_of_the_tenant_is_followed_and_refused(tenants: Tenants) -> None:
    link = tenants.root / "data" / "acme" / "innocent.csv"
    os.symlink(tenants.root / "secrets" / "globex" / "db.env", link)
    job = tenants.job("steal", source("../../data/acme/innocent.csv", '  delimiter: "="\n  header: false\n'))
    load_job(job)  # as written, the path is the tenant's own

    validated = dativo("validate", str(job), home=tenants.root / "home")
    assert validated.returncode == 2 and "resolves to" in validated.stdout, validated.stdout

    run = dativo("run", "--config", str(job), "--no-retries", home=tenants.root / "home")
    assert run.returncode == 2 and GLOBEX_PASSWORD not in run.stdout
    assert "secrets folder" in events(run.stdout)[-1]["error"]


def test_a_job_file_cannot_claim_another_tenant(tenants: Tenants) -> None:
    job = tenants.job("impostor", "tenant_id: globex\n" + source("../../data/acme/orders.csv"))
    with pytest.raises(DativoConfigError) as info:
        load_job(job)
    (problem,) = [p for p in info.value.problems if p.field == "tenant_id"]
    assert problem.line == 3 and "folder of tenant 'acme'" in problem.message
    result = dativo("run", "--config", str(job), "--no-retries", home=tenants.root / "home")
    assert result.returncode == 2 and "tenant_id" in events(result.stdout)[-1]["error"]


def test_an_asset_of_another_tenant_is_refused(tenants: Tenants) -> None:
    tenants.write("jobs/globex/private.yaml", "name: p\nfields:\n  - {name: order_id, type: long}\n")
    job = tenants.write(
        "jobs/acme/peek.yaml",
        "source_connector: csv\nsource:\n  path: ../../data/acme/orders.csv\n"
        "target:\n  table: t\nasset: ../globex/private.yaml\n",
    )
    with pytest.raises(DativoConfigError, match=r"peek.yaml:6: asset: .*tenant 'globex'"):
        load_job(job)


def test_a_recipe_that_leads_out_is_refused_at_run_time(tenants: Tenants) -> None:
    (tenants.root / "connectors").mkdir()
    os.symlink("/etc/passwd", tenants.root / "connectors" / "csv.yaml")
    job = tenants.job("own", source("../../data/acme/orders.csv"))
    result = dativo("run", "--config", str(job), "--no-retries", home=tenants.root / "home")
    assert result.returncode == 2
    error = events(result.stdout)[-1]["error"]
    assert "source_connector" in error and "outside the folders tenant 'acme' may read" in error


def test_own_files_still_load(tenants: Tenants) -> None:
    job = tenants.job("own", source("../../data/acme/*.csv"))
    result = dativo("run", "--config", str(job), "--no-retries", home=tenants.root / "home")
    assert result.returncode == 0, result.stdout + result.stderr
    assert events(result.stdout)[-1]["event_type"] == "job_finished"


def granted_job(tenants: Tenants, name: str) -> tuple[Path, Path, Path]:
    """(job, runner, folder): a job of acme reading a folder outside the app root that the
    runner file grants acme."""
    outside = tenants.root.parent / f"{name}-outside"
    outside.mkdir()
    (outside / "orders.csv").write_text("order_id\n8\n")
    job = tenants.job(name, source(str(outside / "orders.csv")))
    runner = tenants.runner(
        f"- {{name: {name}, config: ../jobs/acme/{name}.yaml, cron: '0 * * * *'}}\n",
        extra=f"tenants:\n  acme:\n    allowed_roots: [{outside}]\n",
    )
    return job, runner, outside


def test_the_operator_can_grant_a_shared_folder(tenants: Tenants) -> None:
    job, runner, outside = granted_job(tenants, "landing")
    home = tenants.root / "home"
    assert dativo("validate", str(runner), home=home).returncode == 0
    refused = dativo("run", "--config", str(job), "--no-retries", home=home)
    assert refused.returncode == 2 and "runner.tenants.acme.allowed_roots" in refused.stdout
    granted = dativo("run", "--config", str(job), "--runner", str(runner), "--no-retries", home=home)
    assert granted.returncode == 0, granted.stdout + granted.stderr

    plan = load_runner(runner)
    (spec,) = plan.specs
    args = ingest_dag_args(spec, app_root=None)
    assert args.task["runner_config"] == str(runner)  # the operator re-reads the grant when it runs
    other = tenants.job("landing", source(str(outside / "orders.csv")), tenant="globex")
    with pytest.raises(DativoConfigError, match="outside the folders tenant 'globex' may read"):
        load_job(other, allowed_roots={"acme": [str(outside)]})


def test_the_operator_runs_with_the_grant(tenants: Tenants, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider_dativo.operators.ingest import DativoIngestOperator

    job, runner, _ = granted_job(tenants, "shared")
    monkeypatch.setenv("DATIVO_HOME", str(tenants.root / "home"))
    context = {"run_id": "manual__1", "ti": None}
    granted = DativoIngestOperator(task_id="ingest", config_path=str(job), runner_config=str(runner))
    assert granted.execute(context)["records_valid"] == 1
    from airflow.sdk.exceptions import AirflowFailException

    refused = DativoIngestOperator(task_id="ingest", config_path=str(job))
    with pytest.raises(AirflowFailException, match="allowed_roots"):
        refused.execute(context)


def test_a_path_one_tenant_may_read_is_still_refused_to_the_next(tenants: Tenants) -> None:
    """The check of a path as written is remembered per tenant and folder (a runner's jobs name
    the same few paths): what acme's jobs may read stays refused to globex's, whichever loads first."""
    own = tenants.job("own", source("../../data/acme/orders.csv"))
    theirs = tenants.job("peek", source("../acme/../../data/acme/orders.csv"), tenant="globex")
    for _ in range(2):  # the second round answers from the memo
        assert load_job(own).source_path == tenants.root / "data" / "acme" / "orders.csv"
        with pytest.raises(DativoConfigError, match="a folder of tenant 'acme'"):
            load_job(theirs)


def test_the_memo_of_written_checks_is_per_tenant(tenants: Tenants) -> None:
    folder = tenants.root / "jobs" / "acme"
    acme = job_confinement(folder / "a.yaml", "acme", None)
    globex = job_confinement(folder / "b.yaml", "globex", None)
    target = str(tenants.root / "data" / "acme" / "orders.csv")
    assert acme.written_problem(target) is None
    assert "a folder of tenant 'acme'" in (globex.written_problem(target) or "")
    assert acme.reach is job_confinement(folder / "c.yaml", "acme", None).reach  # one per folder and tenant
    assert acme.job_path == folder / "a.yaml"  # errors still name each job's own file
