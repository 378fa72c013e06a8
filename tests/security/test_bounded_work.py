"""Case 4 and item 6's regex of issue 15: no input makes a command run away.

A YAML alias bomb is refused wherever a YAML file is read (job, asset, recipe, workflow,
runner), nesting deep enough to overflow libyaml's C stack is refused instead of crashing the
process, and a user's regular expression such as ``(a+)+b`` matches in linear time (RE2).
The subprocess timeouts only stop a hang on a broken build; nothing here measures speed.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from airflow_provider_dativo.config.errors import DativoConfigError
from airflow_provider_dativo.config.loader import load_asset, load_job
from airflow_provider_dativo.plan.runner import load_runner
from tests.support.tenants import Tenants, dativo, events, make_tenants


def bomb(levels: int = 9) -> str:
    """A "billion laughs" mapping: 9 levels of 9 aliases each expand to 9**9 strings."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    return "\n".join(lines)


def indented(text: str, spaces: int) -> str:
    return textwrap.indent(text, " " * spaces)


@pytest.fixture
def tenants(tmp_path: Path) -> Tenants:
    return make_tenants(tmp_path / "app")


def catalog_bomb_job(tenants: Tenants) -> Path:
    return tenants.job(
        "bomb",
        "source:\n  path: ../../data/acme/orders.csv\ntarget:\n  table: t\n  catalog:\n"
        + indented(bomb(), 4)
        + "\n",
    )


def test_a_bomb_in_target_catalog_is_refused_by_validate_and_run(tenants: Tenants) -> None:
    job = catalog_bomb_job(tenants)
    validated = dativo("validate", str(job), home=tenants.root / "home", timeout=120)
    assert validated.returncode == 2 and "alias bomb" in validated.stdout, validated.stdout
    run = dativo("run", "--config", str(job), "--no-retries", home=tenants.root / "home", timeout=120)
    assert run.returncode == 2
    assert "alias bomb" in events(run.stdout)[-1]["error"]


def test_a_bomb_in_every_kind_of_file_is_refused(tenants: Tenants) -> None:
    job = tenants.job("ok", "source:\n  path: ../../data/acme/orders.csv\ntarget:\n  table: t\n")
    tenants.write("assets/orders.yaml", "name: orders\nfields:\n  - {name: order_id, type: long}\n" + bomb())
    with pytest.raises(DativoConfigError, match="alias bomb"):
        load_asset(load_job(job))

    tenants.write("connectors/csv.yaml", "connector: csv\ndefaults:\n" + indented(bomb(), 2))
    run = dativo("run", "--config", str(job), "--no-retries", home=tenants.root / "home")
    assert run.returncode == 2 and "alias bomb" in events(run.stdout)[-1]["error"]

    workflow = tenants.write("workflows/w.yaml", "name: w\ntenant_id: acme\ntasks: []\n" + bomb())
    runner = tenants.runner("- {name: w, dag: ../workflows/w.yaml, cron: '0 * * * *'}\n")
    (failure,) = load_runner(runner).failures
    assert any("alias bomb" in problem.message for problem in failure.problems)
    assert workflow.exists()

    tenants.write("configs/runner.yaml", "runner:\n  orchestrator:\n    schedules: []\n" + bomb())
    with pytest.raises(DativoConfigError, match="alias bomb"):
        load_runner(runner)


def test_a_worker_parse_of_one_dag_is_bounded_like_the_full_load(tenants: Tenants) -> None:
    """The worker's parse (Airflow's parsing context names one DAG) cuts the runner's text to
    that schedule's item: it must refuse a bomb outside the item, nesting inside it and bytes
    that are not UTF-8 exactly as the full load does, never hang or raise something else."""
    from airflow_provider_dativo.plan.one_schedule import load_one_dag

    tenants.job("ok", "source:\n  path: ../../data/acme/orders.csv\ntarget:\n  table: t\n")
    item = "    - {name: a, config: ../jobs/acme/ok.yaml, cron: '0 * * * *'}\n"
    runner = tenants.write(
        "configs/runner.yaml", "runner:\n  orchestrator:\n    schedules:\n" + item + "\n" + bomb() + "\n"
    )
    with pytest.raises(DativoConfigError, match="alias bomb"):
        load_one_dag(runner, "a")

    deep = "    - {name: a, config: ../jobs/acme/ok.yaml, cron: '0 * * * *', tags: {x: " + "[" * 300
    runner.write_text("runner:\n  orchestrator:\n    schedules:\n" + deep + "]" * 300 + "}}\n")
    with pytest.raises(DativoConfigError, match="nested more than 200 levels deep"):
        load_one_dag(runner, "a")

    runner.write_bytes(b"runner:\n  orchestrator:\n    schedules:\n" + item.encode() + b"# caf\xe9\n")
    with pytest.raises(DativoConfigError, match="not UTF-8"):
        load_one_dag(runner, "a")


def test_shared_anchors_are_still_fine(tenants: Tenants) -> None:
    runner = tenants.runner(
        "- {name: a, config: ../jobs/acme/ok.yaml, cron: '0 * * * *', tags: &t {team: data}}\n"
        "- {name: b, config: ../jobs/acme/ok.yaml, cron: '0 * * * *', tags: *t}\n"
    )
    tenants.job("ok", "source:\n  path: ../../data/acme/orders.csv\ntarget:\n  table: t\n")
    assert [spec.schedule.tags for spec in load_runner(runner).specs] == [{"team": "data"}] * 2


def test_nesting_that_would_crash_libyaml_is_a_config_error(tenants: Tenants) -> None:
    job = tenants.job("deep", "source:\n  path: " + "[" * 100_000 + "]" * 100_000 + "\n")
    result = dativo("validate", str(job), home=tenants.root / "home")
    assert result.returncode == 2, (result.returncode, result.stderr[-500:])  # not -11 (SIGSEGV)
    assert "nested more than 200 levels deep" in result.stdout


REGEX_PROBE = """
from airflow_provider_dativo.config.retry import RetryConfig
from airflow_provider_dativo.retry_policy import DativoRetryPolicy
config = RetryConfig(retryable_error_patterns=["(a+)+b"])
print(config.is_retryable(2, "a" * 50_000 + "!")[0])
print(DativoRetryPolicy(config).decide(2, "a" * 50_000 + "!", 1).retry_delay)
"""


def test_a_catastrophic_retry_pattern_matches_in_linear_time() -> None:
    result = subprocess.run([sys.executable, "-c", REGEX_PROBE], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "None"]


def test_retry_patterns_that_cannot_run_in_linear_time_are_refused(tenants: Tenants) -> None:
    job = tenants.job(
        "lookaround",
        "source:\n  path: ../../data/acme/orders.csv\ntarget:\n  table: t\n"
        "retry_config:\n  retryable_error_patterns: ['(?<!x)timeout', '(a)\\\\1']\n",
    )
    result = dativo("validate", str(job), home=tenants.root / "home")
    assert result.returncode == 2
    assert f"{job}:8: retry_config.retryable_error_patterns" in result.stdout
    assert "RE2" in result.stdout
