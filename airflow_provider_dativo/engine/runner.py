"""Run one ingestion job end to end and report it: events, metrics and an exit code.

``run_job`` is the single entry point shared by the ``dativo`` CLI and the Airflow operator.
It never raises for a failing job: callers map :class:`JobResult` to their own conventions
(a process exit code, an Airflow task failure), and the events describe what happened.
Exit codes: 0 success, 1 partial (warn mode dropped invalid records), 2 failure.

A run goes through phases (:class:`_JobRun`): extract the source, select what is new
(incremental jobs), validate, write. Writing commits the records, the run id and the cursor in
one Iceberg commit (:mod:`.batch`, :mod:`.commit`), so a retry of the same run id recognises
its own commit and writes nothing (``already_committed`` in the metrics).

Append and overwrite jobs are streamed (:mod:`.streaming`): the phases run batch by batch,
valid records are written as data files while the source is read, and one commit adds them
all, so memory stays bounded whatever the input size. Merge jobs read the whole source into
memory (pyiceberg's upsert compares it with the table in memory anyway).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from pyiceberg.table import StagedTable, Table
from pyiceberg.table.snapshots import Snapshot

from airflow_provider_dativo.config.asset import Asset
from airflow_provider_dativo.config.errors import DativoConfigError
from airflow_provider_dativo.config.loader import ResolvedJob, load_asset
from airflow_provider_dativo.engine.batch import Batch
from airflow_provider_dativo.engine.commit import CommitOutcome, commit_with_retries
from airflow_provider_dativo.engine.errors import ConfigError, JobFailed, ValidationFailed
from airflow_provider_dativo.engine.events import EventEmitter
from airflow_provider_dativo.engine.iceberg_writer import WriteResult, check_merge_keys, resolve_dativo_home
from airflow_provider_dativo.engine.incremental import (
    check_cursor_values,
    committed_cursor_value,
    cursor_spec,
    max_cursor,
    select_newer,
)
from airflow_provider_dativo.engine.metrics import RunMetrics
from airflow_provider_dativo.engine.quarantine import quarantine_table_name, rejected_records, write_rejected
from airflow_provider_dativo.engine.redaction import redact_logs
from airflow_provider_dativo.engine.schema import iceberg_schema
from airflow_provider_dativo.engine.secret_setup import SecretsLoader, prepare_secrets
from airflow_provider_dativo.engine.sources.base import (
    BatchSource,
    connector_of,
    get_source,
    with_connector_defaults,
)
from airflow_provider_dativo.engine.sources.files import FileSource
from airflow_provider_dativo.engine.state import encode_cursor, find_run, run_status, write_mirror
from airflow_provider_dativo.engine.streaming import StreamedLoad, Tally, snapshot_properties
from airflow_provider_dativo.engine.target import TargetTable
from airflow_provider_dativo.engine.tracing import trace_job_execution, trace_phase
from airflow_provider_dativo.engine.validation import ValidationReport, validate

EXIT_SUCCESS = 0
EXIT_PARTIAL = 1
EXIT_FAILURE = 2


@dataclass
class JobResult:
    """Outcome of a run: exit code, the metrics dict and, unless it fully succeeded, why."""

    exit_code: int
    metrics: dict[str, Any]
    error: str | None
    error_type: str | None = None


@dataclass
class _Outcome:
    exit_code: int
    status: str
    error: str | None = None
    error_type: str | None = None
    note: str | None = None
    """Said in ``job_finished`` when the run succeeded in an unusual way (e.g. already committed)."""


def run_job(
    job: ResolvedJob,
    *,
    job_name: str,
    run_id: str | None = None,
    emitter: EventEmitter | None = None,
    dativo_home: str | None = None,
    secrets_loader: SecretsLoader | None = None,
) -> JobResult:
    """Read, validate and write ``job``; every failure becomes exit code 2 and a ``job_error`` event.

    ``secrets_loader`` reads the tenant's secrets (default: the tenant's secret files; the
    Airflow operator adds Airflow connections). Once they are loaded, every event, log record
    and error text is masked when the job sets ``logging.redaction``.
    """
    with trace_job_execution(job_name, job.tenant_id, job.config.source_connector) as span:
        result = _run_job(job, job_name, run_id, emitter, dativo_home, secrets_loader)
        span.set_attributes(
            {"run_id": run_id, "exit_code": result.exit_code, "status": result.metrics.get("status")}
        )
        if result.exit_code == EXIT_FAILURE:
            span.record_failure(result.error or "job failed", result.error_type)
        return result


def _run_job(
    job: ResolvedJob,
    job_name: str,
    run_id: str | None,
    emitter: EventEmitter | None,
    dativo_home: str | None,
    secrets_loader: SecretsLoader | None,
) -> JobResult:
    started = time.monotonic()
    emitter = emitter or EventEmitter(job_name=job_name, tenant_id=job.tenant_id, run_id=run_id)
    target = job.config.target
    table_id = f"{job.namespace}.{target.table}"
    metrics = RunMetrics(job_name=job_name, tenant_id=job.tenant_id)
    metrics.extra.update(
        {"invalid_by_rule": {}, "table": table_id, "snapshot_id": None, "already_committed": False}
    )

    emitter.emit(
        "job_started",
        message=f"job {job_name} started: {job.config.source_connector} -> {table_id} ({target.mode})",
        job_file=str(job.path),
        source_connector=job.config.source_connector,
        table=table_id,
        mode=target.mode,
        validation_mode=job.config.validation.mode,
    )
    if job.tenant_inferred:
        emitter.emit(
            "tenant_inferred",
            message=f"tenant {job.tenant_id!r} inferred from the job file path",
            tenant_id=job.tenant_id,
            source="path",
        )

    try:
        with redact_logs(emitter.redactor):  # library log records are masked too
            job = with_connector_defaults(job)  # a recipe's default may reference a secret
            job, _ = prepare_secrets(job, emitter, loader=secrets_loader)
            outcome = _execute(_JobRun(job, job_name, run_id, emitter, metrics, dativo_home))
    except JobFailed as exc:
        outcome = _Outcome(EXIT_FAILURE, "failure", exc.report(), exc.error_type)
    except Exception as exc:
        outcome = _Outcome(EXIT_FAILURE, "failure", f"{type(exc).__name__}: {exc}", type(exc).__name__)
    if outcome.error:
        outcome.error = emitter.redact_text(outcome.error)

    metrics.status = outcome.status
    values = metrics.as_dict(time.monotonic() - started)
    emitter.emit(
        "metrics_complete",
        message=(
            f"{values['records_extracted']} records read, {values['records_valid']} valid, "
            f"{values['records_invalid']} invalid; {values['files_written']} files written"
        ),
        **values,
    )
    if outcome.exit_code == EXIT_FAILURE:
        emitter.emit(
            "job_error",
            level="ERROR",
            message=outcome.error or "job failed",
            exit_code=outcome.exit_code,
            error=outcome.error,
            error_type=outcome.error_type,
        )
    else:
        emitter.emit(
            "job_finished",
            level="WARNING" if outcome.exit_code == EXIT_PARTIAL else "INFO",
            message=outcome.error or outcome.note or f"job {job_name} finished",
            exit_code=outcome.exit_code,
            status=outcome.status,
        )
    return JobResult(
        exit_code=outcome.exit_code, metrics=values, error=outcome.error, error_type=outcome.error_type
    )


def _execute(run: _JobRun) -> _Outcome:
    """The run itself, in phases: extract, select (incremental jobs), validate, write.

    Nothing is written before validation passed: a strict failure leaves no trace in the
    catalog, and an incremental job only reads the table (its committed cursor) before then.
    Append and overwrite jobs take the streamed path (:meth:`_JobRun.stream_load`), with the same
    guarantees.
    """
    try:
        if run.streams():
            return run.stream_load()
        with trace_phase("extract") as span:
            raw = run.extract()
            records = run.select(raw)
            span.set_attribute("records", records.num_rows)
        with trace_phase("validate", records=records.num_rows) as span:
            report, problem = run.validate(records)
            span.set_attributes({"records_valid": report.valid, "records_invalid": report.invalid})
        with trace_phase("write", mode=run.job.config.target.mode, table=run.target.table_id) as span:
            outcome = run.write(records, report, problem)
            span.set_attributes(
                {"files_written": run.metrics.files_written, "total_bytes": run.metrics.total_bytes}
            )
            return outcome
    except _AlreadyCommitted as done:
        return run.already_committed(done.snapshot_id, done.status)


class _AlreadyCommitted(Exception):
    """The table holds a snapshot of this run id: an earlier try committed, so this one stops."""

    def __init__(self, snapshot_id: int | None, status: str | None) -> None:
        super().__init__(snapshot_id)
        self.snapshot_id = snapshot_id
        self.status = status or "success"

    @classmethod
    def of(cls, snapshot: Snapshot) -> _AlreadyCommitted:
        return cls(snapshot.snapshot_id, run_status(snapshot))


class _JobRun:
    """One run's phases and what they share; each phase fills in ``metrics`` as it goes."""

    def __init__(
        self,
        job: ResolvedJob,
        job_name: str,
        run_id: str | None,
        emitter: EventEmitter,
        metrics: RunMetrics,
        dativo_home: str | None,
    ) -> None:
        self.job = job
        self.job_name = job_name
        self.run_id = run_id
        self.emitter = emitter
        self.metrics = metrics
        self.dativo_home = dativo_home
        self.asset = _load_asset(job)
        self.cursor = cursor_spec(job, self.asset)
        self.target = TargetTable(job, dativo_home)
        self._committed: pa.Scalar | None = None
        self._committed_read = False

    def extract(self) -> pa.Table:
        """Every record of the source, shaped like the asset; a database or API source of an
        incremental job is asked only for the records beyond the committed cursor."""
        source = get_source(self.job, self.asset, metrics=self.metrics.extra)
        if isinstance(source, BatchSource):
            raw = source.read(self._resume_after() if self.cursor is not None else None)
        else:
            raw = source.read()
        self.metrics.records_extracted = raw.num_rows
        return raw

    def _resume_after(self) -> pa.Scalar | None:
        """Where an incremental run starts (committed cursor, else ``start``); an earlier try's
        commit stops the run before the source is read."""
        assert self.cursor is not None
        committed = self._committed_cursor()
        return committed if committed is not None else self.cursor.start

    def _committed_cursor(self) -> pa.Scalar | None:
        """The cursor the table holds, read once per run without creating anything; an earlier
        try's commit of this run id stops the run."""
        assert self.cursor is not None
        if not self._committed_read:
            existing = self.target.existing_table()
            if existing is not None and (done := find_run(existing, self.run_id)) is not None:
                raise _AlreadyCommitted.of(done)
            self._committed = committed_cursor_value(existing, self.cursor)
            self._committed_read = True
        return self._committed

    def select(self, raw: pa.Table) -> pa.Table:
        """The records this run handles: all of them, or for an incremental job those beyond
        the cursor its table holds (read without creating anything)."""
        if self.cursor is None:
            return raw
        committed = self._committed_cursor()
        selection = select_newer(raw, self.cursor, committed if committed is not None else self.cursor.start)
        self.metrics.records_extracted = selection.records.num_rows
        self.metrics.extra.update(
            {
                "cursor_field": self.cursor.name,
                "cursor_before": _json_value(committed),
                "cursor_after": _json_value(committed),
                "records_skipped_by_cursor": selection.skipped,
            }
        )
        return selection.records

    def validate(self, records: pa.Table) -> tuple[ValidationReport, str | None]:
        """Check every rule; strict mode raises, warn mode returns the partial-run message."""
        report = validate(records, self.asset)
        if self.cursor is not None:
            check_cursor_values(report, self.cursor)
        self.metrics.records_valid = report.valid
        self.metrics.records_invalid = report.invalid
        self.metrics.extra["invalid_by_rule"] = dict(report.invalid_by_rule)
        problem = _validation_problem(self.job, report)
        target = self.job.config.target
        if target.mode == "merge":
            check_merge_keys(report.valid_table(), target.merge_keys)
        return report, problem

    def write(self, records: pa.Table, report: ValidationReport, problem: str | None) -> _Outcome:
        """Create or evolve the table, quarantine rejected records, commit the batch exactly once."""
        batch = self._batch(report)
        table = self._ready_table(self.target.prepare(batch.asset_schema))
        batch.schema_changes(table)  # refuse an incompatible table before writing anything
        if problem:
            problem += self._quarantine(records, report)
        outcome = commit_with_retries(table, run_id=self.run_id, stage=batch.stage)
        self._record_commit(outcome, batch.staged_cursor)
        if problem:
            return _Outcome(EXIT_PARTIAL, "partial", problem, ValidationFailed.error_type)
        return _Outcome(EXIT_SUCCESS, "success")

    def _ready_table(self, table: Table) -> Table:
        """Announce the opened (or staged) table (``infra_validated``); an earlier try's commit
        of this run id stops the run."""
        self.emitter.emit(
            "infra_validated",
            message=f"catalog {self.target.catalog_name!r} reachable; table {self.target.table_id} ready",
            catalog=self.target.catalog_name,
            table=self.target.table_id,
        )
        if not isinstance(table, StagedTable) and (done := find_run(table, self.run_id)) is not None:
            raise _AlreadyCommitted.of(done)
        return table

    def _record_commit(self, outcome: CommitOutcome, staged_cursor: pa.Scalar | None) -> None:
        """Metrics and state mirror of a commit; an earlier try's commit stops the run."""
        if outcome.already_committed:
            raise _AlreadyCommitted(outcome.snapshot_id, outcome.run_status)
        written = WriteResult.from_snapshots(outcome.snapshots)
        self.metrics.files_written = written.files_written
        self.metrics.total_bytes = written.total_bytes
        self.metrics.extra["snapshot_id"] = written.snapshot_id
        self.metrics.extra["commit_attempts"] = outcome.attempts
        if self.cursor is not None and staged_cursor is not None and outcome.snapshots:
            self.metrics.extra["cursor_after"] = _json_value(staged_cursor)
            self._mirror_state(written.snapshot_id)

    def streams(self) -> bool:
        """Append and overwrite jobs are streamed (:mod:`.streaming`) unless the connector's
        recipe switched streaming off; merge jobs are not (pyiceberg's upsert holds the records
        in memory anyway)."""
        mode = self.job.config.target.mode
        return mode in ("append", "overwrite") and connector_of(self.job).capabilities.streaming

    def stream_load(self) -> _Outcome:
        """Every phase of an append or overwrite job, streamed in one pass: batches are read,
        selected, validated and written as data files as they come, then committed at once.
        A strict run that meets an invalid record deletes its files and commits nothing; a
        table that does not exist yet is created only by that commit (:mod:`.creation`)."""
        with trace_phase("extract"):
            source = get_source(self.job, self.asset, metrics=self.metrics.extra)
            if isinstance(source, FileSource):
                source.files()  # a missing or forbidden input fails before the catalog is opened
            destination = self._load_destination()
            after = None
            if self.cursor is not None:
                committed = committed_cursor_value(destination, self.cursor)
                after = committed if committed is not None else self.cursor.start
                self.metrics.extra.update(
                    {
                        "cursor_field": self.cursor.name,
                        "cursor_before": _json_value(committed),
                        "cursor_after": _json_value(committed),
                    }
                )
            mode = self.job.config.target.mode
            load = StreamedLoad(
                source,
                self.asset,
                self.cursor,
                after,
                run_id=self.run_id,
                job_name=self.job_name,
                overwrite=mode == "overwrite",
            )
        strict = self.job.config.validation.mode == "strict"
        with trace_phase("write", mode=mode, table=self.target.table_id) as span:
            tally, rejected = load.write(destination, keep_rejected=not strict, strict=strict)
            self._record_tally(tally)
            span.set_attributes({"records_valid": tally.valid, "records_invalid": tally.invalid})
            problem = _validation_problem(self.job, tally)  # strict: raises, nothing was committed
            if problem and rejected is not None:
                try:
                    problem += self._quarantine_rejected(rejected)
                except BaseException:
                    load.discard(destination, load.files)
                    raise
            status = "partial" if tally.invalid else "success"
            # deletes the data files itself when they did not land (unless they still might)
            outcome = load.commit(
                destination,
                tally,
                snapshot_properties(self.run_id, self.job_name, status),
                catalog=self.target.catalog,
            )
            self._record_commit(outcome, load.staged_cursor)
            span.set_attributes(
                {"files_written": self.metrics.files_written, "total_bytes": self.metrics.total_bytes}
            )
        if problem:
            return _Outcome(EXIT_PARTIAL, "partial", problem, ValidationFailed.error_type)
        return _Outcome(EXIT_SUCCESS, "success")

    def _load_destination(self) -> Table:
        """The table a streamed load writes into: the existing one (whether it can take the
        asset's records is checked before any record is read), or a staged one the commit will
        create."""
        return self._ready_table(self.target.existing_or_staged(iceberg_schema(self.asset)))

    def _record_tally(self, tally: Tally) -> None:
        self.metrics.records_extracted = tally.total if self.cursor is not None else tally.read
        if self.cursor is not None:
            self.metrics.extra["records_skipped_by_cursor"] = tally.skipped
        self.metrics.records_valid = tally.valid
        self.metrics.records_invalid = tally.invalid
        self.metrics.extra["invalid_by_rule"] = tally.invalid_by_rule

    def already_committed(self, snapshot_id: int | None, status: str) -> _Outcome:
        """An earlier try of this run id committed: write nothing and report what it committed.

        A try that committed a partial load (warn mode rejected records) is reported as partial
        again: the table holds that partial load, and loading the records once more to do
        better would load the valid ones twice. Its rejected records are in the quarantine table.
        """
        self.metrics.extra["already_committed"] = True
        self.metrics.extra["snapshot_id"] = snapshot_id
        committed = f"run {self.run_id} was already committed (snapshot {snapshot_id}); nothing written"
        if status == "partial":
            quarantine = f"{self.job.namespace}.{quarantine_table_name(self.job.config.target.table)}"
            problem = (
                f"validation failed (warn) in an earlier try: {committed}; the records it rejected "
                f"are in {quarantine}"
            )
            return _Outcome(EXIT_PARTIAL, "partial", problem, ValidationFailed.error_type)
        return _Outcome(EXIT_SUCCESS, "success", note=committed)

    def _batch(self, report: ValidationReport) -> Batch:
        target = self.job.config.target
        return Batch(
            records=report.valid_table(),
            mode=target.mode,
            merge_keys=target.merge_keys,
            asset_schema=iceberg_schema(self.asset),
            asset_name=self.asset.name,
            run_id=self.run_id,
            job_name=self.job_name,
            run_status="partial" if report.invalid else "success",
            cursor=self.cursor,
            cursor_value=max_cursor(report.table, self.cursor) if self.cursor is not None else None,
        )

    def _quarantine(self, records: pa.Table, report: ValidationReport) -> str:
        """Keep the rejected records in ``<table>__rejected``; returns the note for the message."""
        rejected = rejected_records(records, report, run_id=self.run_id, job_name=self.job_name)
        return self._quarantine_rejected(rejected)

    def _quarantine_rejected(self, rejected: pa.Table) -> str:
        """Append ``rejected`` (see :func:`.rejected_records`) to the quarantine table."""
        table_name = self.job.config.target.table
        write_rejected(
            self.target.catalog,
            self.job.namespace,
            table_name,
            rejected,
            field_names=[f.name for f in self.asset.fields],
            run_id=self.run_id,
            job_name=self.job_name,
        )
        quarantine_id = f"{self.job.namespace}.{quarantine_table_name(table_name)}"
        self.metrics.extra["records_quarantined"] = rejected.num_rows
        self.metrics.extra["quarantine_table"] = quarantine_id
        return f"; rejected records kept in {quarantine_id}"

    def _mirror_state(self, snapshot_id: int | None) -> None:
        """The optional human-readable copy of the committed state (never read back)."""
        write_mirror(
            resolve_dativo_home(self.dativo_home),
            self.job.tenant_id,
            self.job_name,
            {
                "tenant_id": self.job.tenant_id,
                "job_name": self.job_name,
                "table": self.target.table_id,
                "cursor_field": self.cursor.name if self.cursor else None,
                "cursor": self.metrics.extra.get("cursor_after"),
                "run_id": self.run_id,
                "snapshot_id": snapshot_id,
            },
        )


def _load_asset(job: ResolvedJob) -> Asset:
    try:
        return load_asset(job)
    except DativoConfigError as exc:
        raise ConfigError(f"asset {job.config.asset!r} cannot be used:\n{exc}") from None


def _validation_problem(job: ResolvedJob, report: ValidationReport | Tally) -> str | None:
    """The partial-run message in warn mode; raises :class:`ValidationFailed` in strict mode."""
    if not report.invalid:
        return None
    mode = job.config.validation.mode
    dropped = " and dropped" if mode == "warn" else ""
    problem = (
        f"validation failed ({mode}): {report.invalid} of {report.total} records invalid{dropped}: "
        f"{report.summary()}"
    )
    if mode == "strict":
        raise ValidationFailed(problem)
    return problem


def _json_value(value: pa.Scalar | None) -> Any:
    """A typed cursor as it appears in metrics and the state mirror (the snapshot property's JSON)."""
    return None if value is None else json.loads(encode_cursor(value.as_py()))
