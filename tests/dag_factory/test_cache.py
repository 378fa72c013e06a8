"""The parse cache: re-parses of unchanged files skip the YAML and build identical DAGs."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from airflow_provider_dativo.dag_factory import build_dags
from tests.support.deployment import forbid_yaml, make_deployment
from tests.support.serialized import comparable

SCHEDULES = (
    "- {name: a, config: ../jobs/acme/orders.yaml, cron: '0 * * * *', timezone: Europe/Paris}\n"
    "- {name: b, config: ../jobs/acme/later.yaml, interval_seconds: 60}\n"
)
RETRY = "retry_config:\n  max_retries: 2\n  initial_delay_seconds: 7\n"


def age(*paths: Path, seconds: int = 60) -> None:
    """Backdate files: the cache never trusts files modified during the last seconds."""
    past = time.time() - seconds
    for path in paths:
        os.utime(path, (past, past))


@pytest.fixture
def deployment(tmp_path: Path) -> Path:
    runner = make_deployment(tmp_path / "deploy", schedules=SCHEDULES, job_extra=RETRY)
    age(runner, tmp_path / "deploy" / "jobs" / "acme" / "orders.yaml")
    return runner


def test_warm_parse_skips_yaml_and_builds_identical_dags(deployment, tmp_path, monkeypatch) -> None:
    cache = tmp_path / "cache"
    cold = build_dags(deployment, cache_dir=cache)
    assert len(list(cache.glob("*.json"))) == 1
    forbid_yaml(monkeypatch)
    warm = build_dags(deployment, cache_dir=cache)
    assert set(warm) == set(cold) == {"a", "b"}  # b is a placeholder: its job file is missing
    for dag_id in cold:
        assert comparable(warm[dag_id]) == comparable(cold[dag_id]), dag_id
    assert warm["a"].tasks[0].retry_policy == cold["a"].tasks[0].retry_policy
    assert "dativo:config-error" in warm["b"].tags


def test_changed_job_file_invalidates(deployment, tmp_path) -> None:
    cache = tmp_path / "cache"
    build_dags(deployment, cache_dir=cache)
    job = tmp_path / "deploy" / "jobs" / "acme" / "orders.yaml"
    job.write_text(job.read_text().replace("max_retries: 2", "max_retries: 5"))
    age(job, seconds=30)
    assert build_dags(deployment, cache_dir=cache)["a"].tasks[0].retries == 5


def test_job_file_appearing_invalidates(deployment, tmp_path) -> None:
    cache = tmp_path / "cache"
    assert "dativo:config-error" in build_dags(deployment, cache_dir=cache)["b"].tags
    jobs = tmp_path / "deploy" / "jobs" / "acme"
    (jobs / "later.yaml").write_text((jobs / "orders.yaml").read_text())
    age(jobs / "later.yaml")
    assert "dativo:config-error" not in build_dags(deployment, cache_dir=cache)["b"].tags


def test_recently_modified_files_are_not_cached(tmp_path) -> None:
    runner = make_deployment(tmp_path / "deploy", schedules=SCHEDULES)
    build_dags(runner, cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").glob("*.json"))


def test_off_disables_and_corrupt_cache_is_ignored(deployment, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DATIVO_PARSE_CACHE_DIR", "off")
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    build_dags(deployment)
    assert not (tmp_path / "airflow").exists()

    cache = tmp_path / "cache"
    build_dags(deployment, cache_dir=cache)
    (entry,) = cache.glob("*.json")
    entry.write_text("{not json")
    assert set(build_dags(deployment, cache_dir=cache)) == {"a", "b"}
    assert entry.read_text().startswith("{")  # rewritten
    assert '"format"' in entry.read_text()


def test_app_root_is_part_of_the_key(deployment, tmp_path) -> None:
    cache = tmp_path / "cache"
    one = build_dags(deployment, cache_dir=cache, app_root=str(tmp_path / "one"))
    two = build_dags(deployment, cache_dir=cache, app_root=str(tmp_path / "two"))
    assert one["a"].tasks[0].app_root.endswith("one") and two["a"].tasks[0].app_root.endswith("two")
    assert len(list(cache.glob("*.json"))) == 2
