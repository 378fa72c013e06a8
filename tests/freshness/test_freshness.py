"""Freshness promises: runner fields, the deadline alert the factory adds, and its callback."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from airflow.sdk.definitions.callback import AsyncCallback
from airflow.sdk.definitions.deadline import DeadlineReference
from airflow.serialization.serialized_objects import DagSerialization

from airflow_provider_dativo import settings
from airflow_provider_dativo.cli.main import main
from airflow_provider_dativo.dag_factory import build_dags
from airflow_provider_dativo.freshness.callback import freshness_missed
from airflow_provider_dativo.freshness.deadline import ALERT_NAME, CALLBACK_PATH
from airflow_provider_dativo.plan.runner import load_runner
from tests.support import freshness_notifiers
from tests.support.deployment import make_deployment

SCHEDULE = """\
- name: acme_orders
  config: ../jobs/acme/orders.yaml
  cron: "0 * * * *"
  {extra}
"""


def runner(tmp_path: Path, extra: str, orchestrator: str = "") -> Path:
    path = make_deployment(tmp_path, schedules=SCHEDULE.format(extra=extra))
    if orchestrator:
        path.write_text(path.read_text() + f"    {orchestrator}\n")
    return path


def test_a_promise_becomes_a_deadline_alert_on_the_queued_time(tmp_path: Path) -> None:
    dag = build_dags(runner(tmp_path, "freshness_minutes: 45"), cache_dir="off")["acme_orders"]
    (alert,) = dag.deadline
    assert alert.name == ALERT_NAME
    assert alert.reference == DeadlineReference.DAGRUN_QUEUED_AT
    assert alert.interval == timedelta(minutes=45)
    assert isinstance(alert.callback, AsyncCallback) and alert.callback.path == CALLBACK_PATH
    assert alert.callback.kwargs == {
        "schedule": "acme_orders",
        "tenant": "acme",
        "table": "acme.orders",
        "freshness_minutes": 45,
        "notifier": None,
    }
    serialized = DagSerialization.to_dict(dag)["dag"]["deadline"]
    assert serialized[0]["callback"]["__data__"]["kwargs"]["table"] == "acme.orders"
    assert DagSerialization.from_dict(DagSerialization.to_dict(dag)).dag_id == "acme_orders"


def test_no_promise_no_deadline(tmp_path: Path) -> None:
    assert not build_dags(runner(tmp_path, "enabled: true"), cache_dir="off")["acme_orders"].deadline


def test_the_parse_cache_keeps_the_promise(tmp_path: Path) -> None:
    path = runner(tmp_path, "freshness_minutes: 5")
    cache = tmp_path / "cache"
    first = build_dags(path, cache_dir=cache)["acme_orders"]
    old = time.time() - 60
    for file in [path, *tmp_path.rglob("*.yaml")]:
        os.utime(file, (old, old))
    build_dags(path, cache_dir=cache)  # stores the cache (inputs are no longer "racy")
    cached = build_dags(path, cache_dir=cache)["acme_orders"]
    assert (
        DagSerialization.to_dict(cached)["dag"]["deadline"]
        == DagSerialization.to_dict(first)["dag"]["deadline"]
    )


def test_the_orchestrator_notifier_is_the_default_and_a_schedule_overrides_it(tmp_path: Path) -> None:
    path = runner(
        tmp_path, "freshness_minutes: 5", "freshness_notifier: tests.support.freshness_notifiers:remember"
    )
    (spec,) = load_runner(path).specs
    assert spec.schedule.freshness_notifier == "tests.support.freshness_notifiers:remember"
    own = runner(
        tmp_path / "own",
        "freshness_minutes: 5\n  freshness_notifier: tests.support.freshness_notifiers.remember_async",
        "freshness_notifier: tests.support.freshness_notifiers:remember",
    )
    (spec,) = load_runner(own).specs
    assert spec.schedule.freshness_notifier == "tests.support.freshness_notifiers.remember_async"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("freshness_minutes: 0", "greater than 0"),
        ("freshness_minutes: soon", "valid integer"),
        ("freshness_minutes: 5\n  freshness_notifier: 'not a path!'", "package.module:function"),
    ],
)
def test_bad_promises_are_config_errors_naming_the_field(tmp_path: Path, extra: str, message: str) -> None:
    plan = load_runner(runner(tmp_path, extra))
    (failure,) = plan.failures
    text = "\n".join(str(p) for p in failure.problems)
    assert "freshness" in text and message in text and "runner.yaml" in text


def test_a_workflow_schedule_cannot_promise_freshness(tmp_path: Path) -> None:
    path = make_deployment(
        tmp_path,
        schedules='- name: chain\n  dag: ../wf.yaml\n  cron: "0 * * * *"\n  freshness_minutes: 5\n',
    )
    (failure,) = load_runner(path).failures
    assert "'freshness_minutes' applies to schedules with 'config:'" in str(failure.problems[0])


def test_export_writes_the_same_deadline(tmp_path: Path) -> None:
    from airflow.dag_processing.dagbag import DagBag

    from tests.support.serialized import comparable

    path = runner(tmp_path, "freshness_minutes: 15")
    out = tmp_path / "exported"
    assert main(["export", str(path), "--out", str(out)]) == 0
    source = (out / "acme_orders.py").read_text()
    assert "from airflow_provider_dativo.freshness.deadline import freshness_deadline" in source
    assert "deadline=freshness_deadline({'schedule': 'acme_orders'" in source
    exported = DagBag(dag_folder=str(out), safe_mode=False)
    assert exported.import_errors == {}
    factory = build_dags(path, cache_dir="off")["acme_orders"]
    assert comparable(exported.dags["acme_orders"]) == comparable(factory)
    assert comparable(factory)["dag"]["deadline"]


def run_callback(**kwargs):
    context = {
        "dag_run": {"dag_id": "acme_orders", "dag_run_id": "scheduled__2026-12-06T05:00:00+00:00"},
        "deadline": {"id": "d1", "deadline_time": "2026-12-06T05:30:00+00:00"},
    }
    return asyncio.run(
        freshness_missed(
            schedule="acme_orders",
            tenant="acme",
            table="acme.orders",
            freshness_minutes=30,
            context=context,
            **kwargs,
        )
    )


def test_the_callback_logs_a_freshness_missed_event(caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="dativo.events"):
        event = run_callback()
    (record,) = [r for r in caplog.records if r.name == "dativo.events"]
    logged = json.loads(record.getMessage())
    assert logged == json.loads(json.dumps(event))
    assert logged["event_type"] == "freshness_missed"
    assert (logged["schedule"], logged["tenant"], logged["table"]) == ("acme_orders", "acme", "acme.orders")
    assert logged["run_id"] == "scheduled__2026-12-06T05:00:00+00:00"
    assert "not loaded within 30 minutes" in logged["message"]


@pytest.mark.parametrize("name", ["remember", "remember_async"])
def test_the_callback_calls_the_notifier(name: str) -> None:
    freshness_notifiers.RECEIVED.clear()
    event = run_callback(notifier=f"tests.support.freshness_notifiers:{name}")
    (received,) = freshness_notifiers.RECEIVED
    assert received["table"] == event["table"] and received.get("async", False) == (name == "remember_async")


def test_a_notifier_that_is_not_a_function_fails_the_callback() -> None:
    with pytest.raises(ImportError, match="NOT_CALLABLE"):
        run_callback(notifier="tests.support.freshness_notifiers:NOT_CALLABLE")


def test_append_jsonl_writes_one_line_per_event(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DATIVO_HOME", str(tmp_path / "home"))
    monkeypatch.delenv(settings.FRESHNESS_EVENTS_PATH, raising=False)
    run_callback(notifier="airflow_provider_dativo.freshness.notifiers:append_jsonl")
    run_callback(notifier="airflow_provider_dativo.freshness.notifiers:append_jsonl")
    lines = (tmp_path / "home" / "freshness_events.jsonl").read_text().splitlines()
    assert [json.loads(line)["event_type"] for line in lines] == ["freshness_missed"] * 2
    monkeypatch.setenv(settings.FRESHNESS_EVENTS_PATH, str(tmp_path / "elsewhere.jsonl"))
    run_callback(notifier="airflow_provider_dativo.freshness.notifiers.append_jsonl")
    assert (tmp_path / "elsewhere.jsonl").read_text().count("freshness_missed") == 1
