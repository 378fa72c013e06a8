"""Connector recipes (connectors/<name>.yaml): defaults under the job's settings, capability
switches, and errors that name the recipe's file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_dativo.cli.main import collect_problems
from airflow_provider_dativo.config.connectors import REGISTRY, load_connector, recipe_problems
from airflow_provider_dativo.config.loader import load_job
from tests.support.examples import EXAMPLES
from tests.support.fake_stripe import API_KEY, FakeStripe, customer

FIELDS = [{"name": "id", "type": "string", "required": True}, {"name": "created", "type": "timestamp"}]


def test_recipe_defaults_fill_in_what_the_job_leaves_out(deployment) -> None:
    deployment.asset("customers", FIELDS)
    deployment.secrets(ACME_STRIPE_KEY=API_KEY)
    with FakeStripe({"customers": [customer(i, 1_700_000_000 + i) for i in range(3)]}) as api:
        deployment.recipe(
            "stripe",
            {"defaults": {"base_url": api.base_url, "page_size": 2, "api_key": "${secret:ACME_STRIPE_KEY}"}},
        )
        job = deployment.job("stripe", {"object": "customers"}, asset="customers", table="customers")
        run = deployment.run(job)
        calls = list(api.requests)
    assert run.result.exit_code == 0, run.result.error
    assert [c.query["limit"] for c in calls] == ["2", "2"]
    assert calls[0].headers["authorization"] == f"Bearer {API_KEY}"  # the recipe's secret


def test_job_settings_win_over_the_recipe(deployment) -> None:
    deployment.asset("customers", FIELDS)
    deployment.recipe("stripe", {"defaults": {"page_size": 2, "base_url": "https://proxy.example"}})
    job = deployment.job("stripe", {"object": "customers", "page_size": 50}, asset="customers", table="c")
    connector = load_connector(job)
    settings = connector.settings_for(job.config.source)
    assert settings["page_size"] == 50 and settings["base_url"] == "https://proxy.example"
    assert settings["api_key"] == "${secret:STRIPE_API_KEY}"  # the registry's default


def test_a_bad_recipe_names_its_file_line_and_field(deployment) -> None:
    deployment.asset("customers", FIELDS)
    path = deployment.write(
        "connectors/stripe.yaml",
        "connector: stripe\ndefaults:\n  base_url: https://api.stripe.com\n  pagesize: 10\n",
    )
    job = deployment.job("stripe", {"object": "customers"}, asset="customers", table="c")
    (problem,) = recipe_problems(job)
    assert (problem.file, problem.line, problem.field) == (str(path), 4, "defaults.pagesize")
    assert "unknown setting 'pagesize'; stripe settings: base_url, page_size" in problem.message

    run = deployment.run(job)  # the same problem stops a run before anything is read
    assert run.result.exit_code == 2 and run.result.error_type == "ConfigError"
    assert f"{path}:4: defaults.pagesize" in run.result.error


def test_a_wrong_default_value_is_blamed_on_the_recipe(deployment) -> None:
    deployment.asset("customers", FIELDS)
    path = deployment.recipe("stripe", {"defaults": {"page_size": 500}})
    job = deployment.job("stripe", {"object": "customers"}, asset="customers", table="c")
    problems, _ = collect_problems(job.path, None)
    assert [(p.file, p.field) for p in problems] == [(str(path), "defaults.page_size")]
    assert "less than or equal to 100" in problems[0].message


def test_a_recipe_cannot_switch_a_capability_on(deployment) -> None:
    deployment.asset("customers", FIELDS)
    path = deployment.recipe("csv", {"capabilities": {"cursor_pushdown": True}})
    deployment.write("data/x.csv", "id,created\n")
    job = deployment.job("csv", {"path": "../../data/x.csv"}, asset="customers", table="c")
    (problem,) = recipe_problems(job)
    assert (problem.file, problem.field) == (str(path), "capabilities.cursor_pushdown")
    assert "can switch a capability off, not on" in problem.message


def test_switched_off_incremental_rejects_incremental_jobs(deployment) -> None:
    deployment.asset("customers", FIELDS)
    deployment.recipe("stripe", {"capabilities": {"incremental": False, "streaming": False}})
    source = {"object": "customers", "incremental": {"cursor_field": "created"}}
    job = deployment.job("stripe", source, asset="customers", table="c")
    (problem,) = recipe_problems(job)
    assert (problem.file, problem.field) == (str(job.path), "source.incremental")
    assert "incremental loads switched off by its recipe" in problem.message
    plain = deployment.job("stripe", {"object": "customers"}, asset="customers", table="c", name="plain")
    assert load_connector(plain).capabilities.streaming is False


def test_a_recipe_for_another_connector_is_refused(deployment) -> None:
    deployment.asset("customers", FIELDS)
    deployment.write("connectors/stripe.yaml", "connector: hubspot\n")
    job = deployment.job("stripe", {"object": "customers"}, asset="customers", table="c")
    assert "is 'hubspot', but this file is the recipe of 'stripe'" in recipe_problems(job)[0].message


@pytest.mark.parametrize("connector", ["postgres", "stripe", "hubspot"])
def test_example_recipes_match_the_registry(connector: str) -> None:
    """The shipped recipes restate the engines' capabilities and hold only valid defaults."""
    from airflow_provider_dativo.config.connectors import ConnectorRecipe
    from airflow_provider_dativo.config.yaml_source import read_yaml

    recipe = ConnectorRecipe.model_validate(read_yaml(EXAMPLES / "connectors" / f"{connector}.yaml"))
    spec = REGISTRY[connector]
    assert recipe.connector == connector
    assert recipe.capabilities.model_dump() == {
        "incremental": spec.capabilities.incremental,
        "cursor_pushdown": spec.capabilities.cursor_pushdown,
        "streaming": spec.capabilities.streaming,
    }


@pytest.mark.parametrize(
    "job_file",
    [
        "postgres_orders_to_iceberg.yaml",
        "stripe_customers_to_iceberg.yaml",
        "hubspot_contacts_to_iceberg.yaml",
    ],
)
def test_example_jobs_are_valid_with_their_recipes(job_file: str) -> None:
    job = load_job(EXAMPLES / "jobs" / "acme" / job_file, app_root=str(EXAMPLES))
    assert recipe_problems(job) == []
    assert load_connector(job).recipe_path == EXAMPLES / "connectors" / f"{job.config.source_connector}.yaml"
    assert job.config.incremental_settings() is not None


def test_recipes_are_not_read_when_dags_are_parsed(tmp_path: Path) -> None:
    """A broken recipe does not touch DAG parsing (like assets): only runs and validate read it."""
    from tests.support.deployment import make_deployment

    runner = make_deployment(
        tmp_path, schedules="- {name: orders, config: ../jobs/acme/orders.yaml, cron: '0 * * * *'}\n"
    )
    (tmp_path / "connectors").mkdir()
    (tmp_path / "connectors" / "csv.yaml").write_text("connector: csv\nbogus: 1\n")
    from airflow_provider_dativo.dag_factory import build_dags

    assert set(build_dags(runner, cache_dir="off")) == {"orders"}
    problems, _ = collect_problems(runner, None)
    assert any(p.file.endswith("connectors/csv.yaml") and "bogus" in p.message for p in problems)
