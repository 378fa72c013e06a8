"""Redaction: secret values never reach events, logs or error text once ``logging.redaction`` is on."""

from __future__ import annotations

import inspect
import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_dativo.config.loader import ResolvedJob
from airflow_provider_dativo.engine.events import EventEmitter
from airflow_provider_dativo.engine.run import run_job
from airflow_provider_dativo.engine.secrets.redaction import MASK, Redactor, redact_logs
from airflow_provider_dativo.engine.secrets.setup import prepare_secrets
from tests.support.secret_files import write_job, write_secrets

SECRET = "tok-4f9a2c7e"
OTHER = "pw-b81d33"

RUNNER_LOADS_SECRETS = "secrets_loader" in inspect.signature(run_job).parameters
"""Whether runner.run_job loads secrets itself (the wiring described in docs); until then the
tests prepare them the way the operator does, and JobResult.error is not yet masked."""


# --- Redactor -----------------------------------------------------------------------------


def test_masks_values_and_their_escaped_forms() -> None:
    redactor = Redactor(["p@ss/word+1", SECRET])
    assert redactor.redact_text(f"key={SECRET}; again {SECRET}") == "key=***; again ***"
    assert redactor.redact_text("postgresql://u:p%40ss%2Fword%2B1@h/db") == "postgresql://u:***@h/db"
    assert redactor.redact_text("q=p%40ss%2Fword%2B1") == "q=***"
    assert redactor.redact_text(json.dumps({"k": 'x"' + SECRET})) == '{"k": "x\\"***"}'
    assert redactor.redact_text(repr({"k": "it's \\" + SECRET})) == "{'k': \"it's \\\\***\"}"
    assert redactor.redact_text("nothing here") == "nothing here"


def test_overlapping_and_nested_values_leave_no_fragment() -> None:
    redactor = Redactor(["abcdef", "defghi", "abcdefghijkl"])
    assert redactor.redact_text("xx abcdefghi yy") == "xx *** yy"
    assert redactor.redact_text("abcdefghijkl!") == "***!"


def test_short_and_empty_values_are_not_masked() -> None:
    redactor = Redactor(["", "1234", "true"])
    assert not redactor.active
    assert redactor.redact_text("1234 true") == "1234 true"
    assert redactor.masks("12345") and not redactor.masks("1234")


def test_redact_walks_every_structure() -> None:
    redactor = Redactor([SECRET])
    value = {
        "error": f"boom: {SECRET}",
        SECRET: 1,
        "nested": [{"deep": (f"a{SECRET}", 3, None, True)}],
        "path": Path(f"/data/{SECRET}/x.csv"),
        "clean": Path("/data/x.csv"),
    }
    assert redactor.redact(value) == {
        "error": "boom: ***",
        MASK: 1,
        "nested": [{"deep": ("a***", 3, None, True)}],
        "path": "/data/***/x.csv",
        "clean": Path("/data/x.csv"),
    }
    assert SECRET not in repr(redactor)


def test_redact_exception_text() -> None:
    redactor = Redactor([SECRET])
    assert redactor.redact_exception(ValueError(f"bad token {SECRET}")) == "ValueError: bad token ***"


# --- events and logs ----------------------------------------------------------------------


def test_emitter_masks_every_field_of_every_event() -> None:
    stream = io.StringIO()
    emitter = EventEmitter(job_name="j", tenant_id="acme", run_id="r", stream=stream)
    emitter.emit("job_started", message=f"before {SECRET}")
    emitter.add_secrets([SECRET, OTHER])
    written = emitter.emit(
        "job_error",
        level="ERROR",
        message=f"failed: {SECRET}",
        error=f"ConnectionError: {OTHER}",
        details={"uri": f"sqlite:///{SECRET}.db", "tries": [OTHER, 2]},
    )
    before, after = stream.getvalue().splitlines()
    assert SECRET in before  # added later: earlier events are not rewritten (so the test can fail)
    parsed = json.loads(after)
    assert parsed == written
    assert parsed["message"] == "failed: ***" and parsed["error"] == "ConnectionError: ***"
    assert parsed["details"] == {"uri": "sqlite:///***.db", "tries": ["***", 2]}
    assert SECRET not in after and OTHER not in after


def test_emitter_logs_masked_lines_without_stream(caplog: pytest.LogCaptureFixture) -> None:
    emitter = EventEmitter(job_name="j", tenant_id="acme", redactor=Redactor([SECRET]))
    with caplog.at_level(logging.INFO, logger="dativo.events"):
        emitter.emit("job_error", level="ERROR", message=f"x {SECRET}")
    assert SECRET not in caplog.text and json.loads(caplog.records[-1].getMessage())["message"] == "x ***"


def test_redact_logs_masks_library_records(caplog: pytest.LogCaptureFixture) -> None:
    library = logging.getLogger("some.library")
    redactor = Redactor()
    with caplog.at_level(logging.INFO):
        with redact_logs(redactor):
            redactor.add([SECRET])  # added after the filter was installed, as the runner does
            library.info("connecting to %s", f"sqlite:///{SECRET}.db")
            try:
                try:
                    raise KeyError(SECRET)
                except KeyError as exc:
                    raise RuntimeError(f"cannot open {SECRET}") from exc
            except RuntimeError:
                library.exception("failed")
            try:
                open(f"/nonexistent/{SECRET}")  # noqa: SIM115 - the filename is an attribute, not an arg
            except OSError:
                library.exception("failed again")
        library.info("after: %s", SECRET)
    inside, after = caplog.text.split("after: ")
    assert SECRET not in inside and "connecting to sqlite:///***.db" in inside
    assert "RuntimeError: cannot open ***" in inside and "KeyError: '***'" in inside
    assert "No such file or directory: '/nonexistent/***'" in inside
    assert caplog.records[1].exc_info is not None  # a real traceback is kept where possible
    assert SECRET in after  # the filter is gone once the run is over


# --- a whole run ----------------------------------------------------------------------------


def run(job: ResolvedJob, home: Path) -> tuple[Any, list[dict[str, Any]], str]:
    """Run ``job`` with its secrets; the result, the events and the raw event lines."""
    stream = io.StringIO()
    emitter = EventEmitter(job_name="orders_job", tenant_id=job.tenant_id, run_id="run-1", stream=stream)
    kwargs: dict[str, Any] = {"job_name": "orders_job", "run_id": "run-1", "dativo_home": str(home)}
    if RUNNER_LOADS_SECRETS:
        result = run_job(job, emitter=emitter, **kwargs)
    else:
        job, _ = prepare_secrets(job, emitter)
        result = run_job(job, emitter=emitter, **kwargs)
    text = stream.getvalue()
    return result, [json.loads(line) for line in text.splitlines()], text


def leaky_job(root: Path, where: str, redaction: bool) -> ResolvedJob:
    """A job whose failure message holds SECRET: in its catalog URI or its source path."""
    write_secrets(root, "acme", {"api.env": f"CATALOG_TOKEN={SECRET}\nDB_PASSWORD={OTHER}\n"})
    (root / "data").mkdir(parents=True, exist_ok=True)
    (root / "data" / "orders.csv").write_text("order_id\n1\n")
    doc: dict[str, Any] = {"logging": {"redaction": redaction}}
    if where == "catalog":
        uri = f"sqlite:///{root}/missing/${{secret:CATALOG_TOKEN}}/catalog.db"
        doc["target"] = {"catalog": {"type": "sql", "uri": uri, "warehouse": f"file://{root}/wh"}}
    elif where == "source reference":
        doc["source"] = {"path": "../../data/${secret:CATALOG_TOKEN}/orders.csv"}
    else:  # the value itself written in the job file
        doc["source"] = {"path": f"../../data/{SECRET}/orders.csv"}
    return write_job(root, doc)


@pytest.mark.parametrize("where", ["catalog", "source reference", "source literal"])
def test_a_failing_run_leaks_no_secret(tmp_path: Path, where: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        result, events, text = run(leaky_job(tmp_path, where, redaction=True), tmp_path / "home")
    assert result.exit_code == 2
    error = events[-1]
    assert error["event_type"] == "job_error" and "***" in error["error"] and "***" in error["message"]
    assert SECRET not in text and OTHER not in text
    assert SECRET not in caplog.text
    loaded = next(e for e in events if e["event_type"] == "secrets_loaded")
    assert loaded["secret_names"] == ["CATALOG_TOKEN", "DB_PASSWORD"]
    if RUNNER_LOADS_SECRETS:
        assert SECRET not in (result.error or "") and "***" in (result.error or "")


@pytest.mark.parametrize("where", ["catalog", "source reference"])
def test_without_redaction_the_same_run_shows_the_value(tmp_path: Path, where: str) -> None:
    """The control: these runs do carry the value, so the test above would see a leak."""
    result, events, text = run(leaky_job(tmp_path, where, redaction=False), tmp_path / "home")
    assert result.exit_code == 2
    assert SECRET in events[-1]["error"] and SECRET in text
    assert SECRET in (result.error or "")


def test_a_successful_run_resolves_the_catalog_reference(tmp_path: Path) -> None:
    write_secrets(tmp_path, "acme", {"cat.env": "CATALOG_DB=catalog-file-1\n"})
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "orders.csv").write_text("order_id\n1\n2\n")
    home = tmp_path / "home"
    home.mkdir()
    job = write_job(
        tmp_path,
        {
            "logging": {"redaction": True},
            "target": {
                "catalog": {
                    "type": "sql",
                    "uri": f"sqlite:///{home}/${{secret:CATALOG_DB}}.db",
                    "warehouse": f"file://{home}/wh",
                }
            },
        },
    )
    result, events, text = run(job, home)
    assert result.exit_code == 0, result.error
    assert (home / "catalog-file-1.db").exists()
    assert "catalog-file-1" not in text and "catalog-file-1" not in json.dumps(result.metrics)
    assert [e["event_type"] for e in events].count("secrets_loaded") == 1
