"""Namespace isolation: a job writes its own tenant's namespace unless the job file allows another."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_dativo.config.errors import DativoConfigError
from airflow_provider_dativo.config.loader import load_job
from airflow_provider_dativo.plan.runner import load_runner


def write_job(root: Path, body: str, *, tenant_folder: str = "acme") -> Path:
    (root / "assets").mkdir(parents=True, exist_ok=True)
    (root / "assets" / "orders.yaml").write_text("name: orders\nfields:\n  - {name: id, type: long}\n")
    path = root / "jobs" / tenant_folder / "orders.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "source_connector: csv\nsource:\n  path: ../../data/orders.csv\nasset: orders\n" + body,
        encoding="utf-8",
    )
    return path


def test_writing_another_tenants_namespace_is_a_problem_with_file_and_line(tmp_path: Path) -> None:
    path = write_job(tmp_path, "target:\n  table: orders\n  namespace: globex\n")
    with pytest.raises(DativoConfigError) as info:
        load_job(path)
    [problem] = info.value.problems
    assert (problem.file, problem.line, problem.field) == (str(path), 7, "target.namespace")
    assert problem.message == (
        "namespace 'globex' is outside tenant 'acme': a job of tenant 'acme' writes only namespace "
        "'acme' unless isolation.allow_namespaces lists 'globex'"
    )
    assert f"{path}:7: target.namespace: namespace 'globex'" in str(info.value)


def test_explicit_tenant_id_is_the_one_checked(tmp_path: Path) -> None:
    path = write_job(tmp_path, "tenant_id: globex\ntarget:\n  table: orders\n  namespace: acme\n")
    with pytest.raises(DativoConfigError, match="a job of tenant 'globex' writes only namespace 'globex'"):
        load_job(path)


@pytest.mark.parametrize(
    "body",
    [
        "target:\n  table: orders\n",
        "target:\n  table: orders\n  namespace: acme\n",
        "target:\n  table: orders\n  namespace: shared\nisolation:\n  allow_namespaces: [shared, globex]\n",
    ],
)
def test_own_default_or_allowed_namespace_loads(tmp_path: Path, body: str) -> None:
    job = load_job(write_job(tmp_path, body))
    assert job.namespace in ("acme", "shared")


def test_allowing_one_namespace_does_not_allow_another(tmp_path: Path) -> None:
    body = "target:\n  table: orders\n  namespace: globex\nisolation:\n  allow_namespaces: [shared]\n"
    with pytest.raises(DativoConfigError, match="namespace 'globex' is outside tenant 'acme'"):
        load_job(write_job(tmp_path, body))


def test_allow_secrets_from_does_not_allow_writing(tmp_path: Path) -> None:
    body = "target:\n  table: orders\n  namespace: globex\nisolation:\n  allow_secrets_from: [globex]\n"
    with pytest.raises(DativoConfigError, match=r"target\.namespace"):
        load_job(write_job(tmp_path, body))


def test_runner_reports_the_cross_tenant_schedule_and_keeps_the_others(tmp_path: Path) -> None:
    bad = write_job(tmp_path, "target:\n  table: orders\n  namespace: globex\n")
    good = write_job(tmp_path, "target:\n  table: orders\n", tenant_folder="globex")
    runner = tmp_path / "configs" / "runner.yaml"
    runner.parent.mkdir()
    runner.write_text(
        "runner:\n  orchestrator:\n    type: airflow\n    schedules:\n"
        f"      - {{name: bad, config: {bad}, cron: '0 * * * *'}}\n"
        f"      - {{name: good, config: {good}, cron: '0 * * * *'}}\n"
    )
    plan = load_runner(runner)
    assert [s.schedule.name for s in plan.specs] == ["good"]
    [failure] = plan.failures
    assert failure.name == "bad"
    assert any(p.field == "target.namespace" and p.file == str(bad) for p in failure.problems)
