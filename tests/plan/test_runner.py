"""Loading runner files into plans: the seeds' runners, and a table of bad schedules that must
each get a precise message naming file, line and field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider_dativo.config.errors import DativoConfigError
from airflow_provider_dativo.plan.runner import load_runner
from tests.support.deployment import make_deployment, write
from tests.support.examples import EXAMPLES, RUNNER_AIRFLOW


def test_seed_runner_airflow_loads_every_schedule_with_seed_defaults() -> None:
    plan = load_runner(RUNNER_AIRFLOW, app_root=str(EXAMPLES))
    assert plan.failures == []
    by_name = {s.schedule.name: s for s in plan.specs}
    assert list(by_name) == [
        "stripe_customers_hourly",
        "hubspot_contacts_daily",
        "maintenance_job",
        "acme_orders_csv",
        "globex_events_jsonl",
    ]
    stripe = by_name["stripe_customers_hourly"]
    assert stripe.schedule.cron == "0 * * * *"
    assert stripe.schedule.tags == {"environment": "production", "priority": "high"}
    assert stripe.job.path == EXAMPLES / "jobs" / "acme" / "stripe_customers_to_iceberg.yaml"
    assert stripe.job.retry_config is not None and stripe.job.retry_config.initial_delay_seconds == 10
    hubspot = by_name["hubspot_contacts_daily"]
    assert hubspot.schedule.interval_seconds == 21600 and hubspot.schedule.timezone == "America/New_York"
    # defaults of the seeds
    assert hubspot.schedule.enabled is True and hubspot.schedule.max_concurrent_runs == 1
    assert by_name["maintenance_job"].schedule.enabled is False
    assert plan.runner.runner.orchestrator.concurrency_per_tenant == 1


def test_tenant_inferred_from_jobs_folder_and_runner_retry_default_applies() -> None:
    plan = load_runner(RUNNER_AIRFLOW, app_root=str(EXAMPLES))
    by_name = {s.schedule.name: s for s in plan.specs}
    hubspot = by_name["hubspot_contacts_daily"].job
    assert hubspot.tenant_id == "acme" and hubspot.tenant_inferred is True
    globex = by_name["globex_events_jsonl"].job
    assert globex.tenant_id == "globex" and globex.tenant_inferred
    # globex's job has no retry_config: the runner's default is used
    assert globex.retry_config is not None and globex.retry_config.initial_delay_seconds == 30
    assert by_name["stripe_customers_hourly"].job.tenant_inferred is False


def test_app_paths_are_rerooted_and_relative_paths_follow_the_file(tmp_path: Path) -> None:
    plan = load_runner(RUNNER_AIRFLOW, app_root=str(EXAMPLES))
    orders = next(s for s in plan.specs if s.schedule.name == "acme_orders_csv").job
    assert orders.source_path == EXAMPLES / "data" / "acme" / "orders.csv"
    assert orders.asset_path == EXAMPLES / "assets" / "orders.yaml"
    assert orders.namespace == "acme"
    assert orders.asset_uri == "iceberg://dativo/acme/orders"


def test_env_app_root_is_used_when_no_argument(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "runner.yaml"
    elsewhere.write_text(RUNNER_AIRFLOW.read_text())
    monkeypatch.setenv("DATIVO_APP_ROOT", str(EXAMPLES))
    plan = load_runner(elsewhere)
    assert plan.failures == [] and plan.specs[0].job.path.parent == EXAMPLES / "jobs" / "acme"
    monkeypatch.delenv("DATIVO_APP_ROOT")
    failures = load_runner(elsewhere).failures
    assert len(failures) == 7  # 5 job and 2 workflow (`dag:`) schedules
    assert "set DATIVO_APP_ROOT" in str(failures[0].problems[0])


def test_without_app_root_a_checkout_of_the_app_folder_stands_for_app(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """/app/jobs/... does not exist here: the folder above the runner that has jobs/ is used."""
    monkeypatch.delenv("DATIVO_APP_ROOT", raising=False)
    plan = load_runner(RUNNER_AIRFLOW)
    assert plan.failures == []
    orders = next(s for s in plan.specs if s.schedule.name == "acme_orders_csv").job
    assert orders.path == EXAMPLES / "jobs" / "acme" / "orders_csv_to_iceberg.yaml"
    assert orders.source_path == EXAMPLES / "data" / "acme" / "orders.csv"


def test_seed_runner_yaml_dagster_flavour_is_accepted() -> None:
    plan = load_runner(EXAMPLES / "runner.yaml", app_root=str(EXAMPLES))
    assert plan.runner.runner.orchestrator.type == "dagster"
    assert [s.schedule.name for s in plan.specs] == ["stripe_customers_hourly", "hubspot_contacts_daily"]


# --- bad input: (schedule yaml, expected line, expected field, expected words) ---------------
BAD_SCHEDULES = [
    pytest.param(
        '- {name: a, config: ../jobs/acme/orders.yaml, cron: "61 * * * *"}\n',
        5,
        "runner.orchestrator.schedules[0].cron",
        "not a valid cron expression",
        id="bad-cron",
    ),
    pytest.param(
        "- name: a\n  config: ../jobs/acme/orders.yaml\n  cron: '0 * * * *'\n  timezone: Europe/Atlantis\n",
        8,
        "runner.orchestrator.schedules[0].timezone",
        "'Europe/Atlantis' is not an IANA time zone",
        id="unknown-timezone",
    ),
    pytest.param(
        "- name: a\n  config: ../jobs/acme/orders.yaml\n  cron: '0 * * * *'\n  interval_seconds: 60\n",
        5,
        "runner.orchestrator.schedules[0]",
        "exactly one of 'cron' or 'interval_seconds'",
        id="cron-and-interval",
    ),
    pytest.param(
        "- name: a\n  config: ../jobs/acme/orders.yaml\n",
        5,
        "runner.orchestrator.schedules[0]",
        "exactly one of 'cron' or 'interval_seconds'",
        id="neither-cron-nor-interval",
    ),
    pytest.param(
        "- name: a\n  config: ../jobs/acme/orders.yaml\n  cron: '0 * * * *'\n  colour: blue\n",
        8,
        "runner.orchestrator.schedules[0].colour",
        "unknown key 'colour'; allowed keys: name, config",
        id="unknown-key",
    ),
    pytest.param(
        "- name: a\n  config: ../jobs/acme/missing.yaml\n  cron: '0 * * * *'\n",
        6,
        "runner.orchestrator.schedules[0].config",
        "jobs/acme/missing.yaml does not exist",
        id="missing-job-file",
    ),
    pytest.param(
        "- name: a\n  config: ../jobs/acme/orders.yaml\n  interval_seconds: -5\n",
        7,
        "runner.orchestrator.schedules[0].interval_seconds",
        "greater than 0",
        id="negative-interval",
    ),
    pytest.param(
        "- name: 'bad name!'\n  config: ../jobs/acme/orders.yaml\n  cron: '0 * * * *'\n",
        5,
        "runner.orchestrator.schedules[0].name",
        "cannot be a dag_id",
        id="bad-dag-id",
    ),
]


@pytest.mark.parametrize(("schedules", "line", "field", "words"), BAD_SCHEDULES)
def test_bad_schedule_is_reported_with_file_line_and_field(
    tmp_path: Path, schedules: str, line: int, field: str, words: str
) -> None:
    runner = make_deployment(tmp_path, schedules=schedules)
    plan = load_runner(runner)
    assert plan.specs == []
    (problem, *_) = plan.failures[0].problems
    assert problem.file == str(runner)
    assert problem.line == line, str(problem)
    assert problem.field == field
    assert words in problem.message
    assert f"{runner}:{line}: {field}:" in str(problem)


def test_duplicate_names_keep_the_first_and_report_the_second(tmp_path: Path) -> None:
    runner = make_deployment(
        tmp_path,
        schedules="- {name: a, config: ../jobs/acme/orders.yaml, cron: '0 * * * *'}\n"
        "- {name: a, config: ../jobs/acme/orders.yaml, cron: '5 * * * *'}\n",
    )
    plan = load_runner(runner)
    assert [s.schedule.cron for s in plan.specs] == ["0 * * * *"]
    (problem,) = plan.failures[0].problems
    assert problem.line == 6 and problem.field == "runner.orchestrator.schedules[1].name"
    assert "duplicate name" in problem.message and "schedules[0]" in problem.message


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    runner = write(tmp_path / "runner.yaml", "runner:\n  orchestrator:\n    schedules: [a\n")
    with pytest.raises(DativoConfigError) as err:
        load_runner(runner)
    assert err.value.problems[0].line == 4 and "not valid YAML" in str(err.value)


def test_loading_file_connector_jobs_builds_only_the_models_they_need(tmp_path: Path) -> None:
    """A DAG parse pays for every model it imports: the service connectors' settings and the
    asset model are left to the jobs and checks that use them."""
    schedules = "- {name: a, config: ../jobs/acme/orders.yaml, cron: '@daily'}\n"
    runner = make_deployment(tmp_path, schedules=schedules)
    code = (
        "import sys\n"
        "from airflow_provider_dativo.plan.runner import load_runner\n"
        f"plan = load_runner({str(runner)!r})\n"
        "assert len(plan.specs) == 1, plan.problems\n"
        "mods = ('airflow_provider_dativo.config.service_sources', 'airflow_provider_dativo.config.asset')\n"
        "print(','.join(m for m in mods if m in sys.modules) or 'none')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "none"
