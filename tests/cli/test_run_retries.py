"""``dativo run`` retries a job per its retry_config; ``--no-retries`` runs it once."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

HEADER = "order_id,email"
ASSET = {
    "name": "orders",
    "fields": [{"name": "order_id", "type": "long", "required": True}, {"name": "email", "type": "string"}],
}


def dativo(*args: str, home: Path) -> subprocess.CompletedProcess:
    """The installed console script in a fresh process, as a user runs it."""
    exe = shutil.which("dativo") or str(Path(sys.executable).parent / "dativo")
    env = {**os.environ, "DATIVO_HOME": str(home)}
    env.pop("DATIVO_APP_ROOT", None)
    return subprocess.run([exe, *args], capture_output=True, text=True, env=env)


def write_data(root: Path, *rows: str) -> None:
    path = root / "data" / "orders_1.csv"
    path.parent.mkdir(exist_ok=True)
    path.write_text("\n".join([HEADER, *rows]) + "\n")


def write_job(root: Path, retry_config: dict, **extra: object) -> Path:
    """A csv job reading ``data/orders_*.csv``; with no such file every try exits 2."""
    (root / "assets").mkdir(parents=True)
    (root / "assets" / "orders.yaml").write_text(yaml.safe_dump(ASSET))
    job = root / "jobs" / "acme" / "orders.yaml"
    job.parent.mkdir(parents=True)
    job.write_text(
        yaml.safe_dump(
            {
                "tenant_id": "acme",
                "source_connector": "csv",
                "source": {"path": "../../data/orders_*.csv"},
                "target": {"table": "orders"},
                "asset": "orders",
                "retry_config": retry_config,
                **extra,
            }
        )
    )
    return job


RETRY_NOW = {
    "max_retries": 2,
    "initial_delay_seconds": 0,
    "max_delay_seconds": 0,
    "backoff_multiplier": 2.0,
    "retryable_exit_codes": [2],
}


def events_of(done: subprocess.CompletedProcess) -> list[dict]:
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_run_retries_and_prints_retry_attempt_lines(tmp_path: Path) -> None:
    job = write_job(tmp_path, RETRY_NOW)

    done = dativo("run", "--config", str(job), home=tmp_path / "home")

    assert done.returncode == 2, done.stderr[-2000:]
    events = events_of(done)
    assert [e["event_type"] for e in events] == [
        "job_started",
        "metrics_complete",
        "job_error",
        "retry_attempt",
        "job_started",
        "metrics_complete",
        "job_error",
        "retry_attempt",
        "job_started",
        "metrics_complete",
        "job_error",
    ]
    retries = [e for e in events if e["event_type"] == "retry_attempt"]
    assert [(e["attempt"], e["exit_code"], e["delay_seconds"], e["max_retries"]) for e in retries] == [
        (1, 2, 0, 2),
        (2, 2, 0, 2),
    ]
    assert all(e["reason"] == "exit code 2 is retryable" for e in retries)
    assert all("no files match" in e["error"] for e in retries)
    assert len({e["run_id"] for e in events}) == 1 and events[0]["run_id"].startswith("cli/")


def test_run_keeps_the_final_try_exit_code_when_the_rule_says_no(tmp_path: Path) -> None:
    job = write_job(tmp_path, {**RETRY_NOW, "retryable_error_patterns": ["ConnectionError"]})

    done = dativo("run", "--config", str(job), home=tmp_path / "home")

    assert done.returncode == 2
    assert [e["event_type"] for e in events_of(done)] == ["job_started", "metrics_complete", "job_error"]


def test_no_retries_runs_the_job_once(tmp_path: Path) -> None:
    job = write_job(tmp_path, RETRY_NOW)

    done = dativo("run", "--config", str(job), "--no-retries", home=tmp_path / "home")

    assert done.returncode == 2
    assert [e["event_type"] for e in events_of(done)] == ["job_started", "metrics_complete", "job_error"]


def test_a_good_job_exits_0_without_retry_lines(tmp_path: Path) -> None:
    job = write_job(tmp_path, RETRY_NOW)
    write_data(tmp_path, "1,a@example.com")

    done = dativo("run", "--config", str(job), home=tmp_path / "home")

    assert done.returncode == 0, done.stdout[-2000:]
    types = [e["event_type"] for e in events_of(done)]
    assert "retry_attempt" not in types and types[-1] == "job_finished"


def test_partial_retried_until_used_up_exits_1(tmp_path: Path) -> None:
    """The exit code is the last try's: 1 (partial), not a generic failure."""
    config = {**RETRY_NOW, "max_retries": 1, "retryable_exit_codes": [1]}
    job = write_job(tmp_path, config, validation={"mode": "warn"})
    write_data(tmp_path, "1,a@example.com", ",missing-id@example.com")

    done = dativo("run", "--config", str(job), home=tmp_path / "home")

    assert done.returncode == 1, done.stdout[-2000:]
    events = events_of(done)
    (retry,) = [e for e in events if e["event_type"] == "retry_attempt"]
    assert retry["exit_code"] == 1 and "validation failed (warn)" in retry["error"]
    assert [e["event_type"] for e in events].count("job_started") == 2
    assert events[-1]["event_type"] == "job_finished" and events[-1]["status"] == "partial"


def test_partial_repaired_during_the_back_off_exits_0_with_every_row_once(tmp_path: Path) -> None:
    """Issue 16, tried case 2, as a user runs it: the first try commits nothing, the source is
    fixed while ``dativo run`` waits, the retry loads every row once."""
    config = {**RETRY_NOW, "initial_delay_seconds": 3, "max_delay_seconds": 3, "retryable_exit_codes": [1]}
    job = write_job(tmp_path, config, validation={"mode": "warn"})
    write_data(tmp_path, "1,a@example.com", ",missing-id@example.com")
    exe = shutil.which("dativo") or str(Path(sys.executable).parent / "dativo")
    env = {**os.environ, "DATIVO_HOME": str(tmp_path / "home")}
    child = subprocess.Popen(
        [exe, "run", "--config", str(job)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    lines = []
    assert child.stdout is not None
    for line in child.stdout:
        lines.append(line)
        if '"event_type": "retry_attempt"' in line:
            write_data(tmp_path, "1,a@example.com", "2,fixed@example.com")
    assert child.wait(timeout=120) == 0, "".join(lines)[-2000:]
    events = [json.loads(line) for line in lines]
    decision = next(e for e in events if e["event_type"] == "commit_decision")
    assert decision["commit"] is False and decision["try_number"] == 1 and decision["tries"] == 3
    assert events[-1]["event_type"] == "job_finished" and events[-1]["status"] == "success"
    complete = [e for e in events if e["event_type"] == "metrics_complete"][-1]
    assert complete["records_valid"] == 2 and "records_quarantined" not in complete

    from tests.support.workspace import embedded_catalog

    catalog = embedded_catalog(tmp_path / "home")
    rows = catalog.load_table("acme.orders").scan().to_arrow().to_pylist()
    assert sorted(r["order_id"] for r in rows) == [1, 2]
    assert not catalog.table_exists("acme.orders__rejected")
