"""Run one ingestion job end to end and report it: events, metrics and an exit code.

``run_job`` is the single entry point shared by the ``dativo`` CLI, the Airflow operator and
workflow tasks. It never raises for a failing job: callers map :class:`JobResult` to their own
conventions (a process exit code, an Airflow task failure), and the events describe what
happened. Exit codes and statuses are those of :mod:`airflow_provider_dativo.outcomes`.

A run has three steps:

1. **set up**: the asset, the source, the target table (the existing one, or a staged one that
   only the run's commit creates) and, for an incremental job, the committed cursor; a table
   holding a snapshot of this run id means an earlier try committed, and the run stops;
2. **load** (:mod:`.pipeline`): every batch through cursor selection, validation and the sink
   of the write mode, whose data files are written as the source is read;
3. **decide** (:meth:`_JobRun.decide`), one explicit step once the input is consumed: strict
   mode with an invalid record, or merge keys that are not usable, commits nothing and the
   sink's files are deleted; so does a partial run that a retry may still do better
   (:mod:`.partial_retry`); otherwise the rejected records go to the quarantine table, then
   the records, the run id and the cursor with its boundary are committed to the target in one
   commit, so a retry of the same run id recognises it and writes nothing
   (``already_committed``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from airflow_provider_dativo.config.asset import Asset
from airflow_provider_dativo.config.errors import DativoConfigError
from airflow_provider_dativo.config.loader import ResolvedJob, load_asset, target_problems
from airflow_provider_dativo.engine.checks.boundary import Boundary
from airflow_provider_dativo.engine.checks.incremental import (
    CursorProgress,
    CursorSelection,
    cursor_spec,
    window_start,
)
from airflow_provider_dativo.engine.checks.keys import MergeKeyCheck
from airflow_provider_dativo.engine.errors import ConfigError, JobFailed, ValidationFailed
from airflow_provider_dativo.engine.events import EventEmitter
from airflow_provider_dativo.engine.iceberg.catalog import resolve_dativo_home
from airflow_provider_dativo.engine.iceberg.commit import CommitOutcome
from airflow_provider_dativo.engine.iceberg.layout import Layout, identifier_fields
from airflow_provider_dativo.engine.iceberg.modes import sink_for
from airflow_provider_dativo.engine.iceberg.quarantine import quarantine_table_name, write_rejected
from airflow_provider_dativo.engine.iceberg.schema import iceberg_schema
from airflow_provider_dativo.engine.iceberg.sinks import Sink
from airflow_provider_dativo.engine.iceberg.state import (
    StagedCursor,
    committed_record_ids,
    committed_state,
    encode_cursor,
    find_run,
    run_status,
    snapshot_properties,
    write_mirror,
)
from airflow_provider_dativo.engine.iceberg.tables import WriteResult, is_staged
from airflow_provider_dativo.engine.iceberg.target import TargetTable
from airflow_provider_dativo.engine.metrics import RunMetrics
from airflow_provider_dativo.engine.partial_retry import NO_RETRY, PartialRetry
from airflow_provider_dativo.engine.pipeline import Loaded, Pipeline, Tally
from airflow_provider_dativo.engine.secrets.redaction import redact_logs
from airflow_provider_dativo.engine.secrets.setup import SecretsLoader, prepare_secrets
from airflow_provider_dativo.engine.sources.base import get_source, with_connector_defaults
from airflow_provider_dativo.engine.tracing import trace_job_execution, trace_phase
from airflow_provider_dativo.outcomes import (
    EXIT_FAILURE,
    EXIT_PARTIAL,
    EXIT_SUCCESS,
    FAILURE,
    PARTIAL,
    SUCCESS,
)

if TYPE_CHECKING:
    from pyiceberg.table import Table
    from pyiceberg.table.snapshots import Snapshot


@dataclass
class JobResult:
    """Outcome of a run: exit code, the metrics dict and, unless it fully succeeded, why."""

    exit_code: int
    metrics: dict[str, Any]
    error: str | None
    error_type: str | None = None
    retryable: bool = True
    """Whether a retry could help at all (see :attr:`.errors.JobFailed.retryable`); whether
    one happens is for the job's ``retry_config`` to say."""
    hopeless: str | None = None
    """When not retryable: why, for the orchestrator's message (``{job_name}`` to fill in)."""
    deferred: bool = False
    """A partial run that committed nothing so that a retry reads the source again."""

    def why_hopeless(self, job_name: str) -> str:
        """Why no retry can help, for the message of a task failed at once."""
        return (self.hopeless or JobFailed.hopeless).format(job_name=job_name)


@dataclass
class _Outcome:
    exit_code: int
    status: str
    error: str | None = None
    error_type: str | None = None
    note: str | None = None
    """Said in ``job_finished`` when the run succeeded in an unusual way (e.g. already committed)."""
    retryable: bool = True
    hopeless: str | None = None
    deferred: bool = False


def run_job(
    job: ResolvedJob,
    *,
    job_name: str,
    run_id: str | None = None,
    emitter: EventEmitter | None = None,
    dativo_home: str | None = None,
    secrets_loader: SecretsLoader | None = None,
    partial_retry: PartialRetry = NO_RETRY,
) -> JobResult:
    """Read, validate and write ``job``; every failure becomes exit code 2 and a ``job_error`` event.

    ``secrets_loader`` reads the tenant's secrets (default: the tenant's secret files; the
    Airflow operator adds Airflow connections). Once they are loaded, every event, log record
    and error text is masked when the job sets ``logging.redaction``. ``partial_retry`` says
    whether a partial outcome commits now or is left to a retry (default: committed).
    """
    with trace_job_execution(job_name, job.tenant_id, job.config.source_connector) as span:
        result = _run_job(job, job_name, run_id, emitter, dativo_home, secrets_loader, partial_retry)
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
    partial_retry: PartialRetry,
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
            outcome = _JobRun(job, job_name, run_id, emitter, metrics, dativo_home, partial_retry).execute()
    except JobFailed as exc:
        outcome = _Outcome(
            EXIT_FAILURE,
            FAILURE,
            exc.report(),
            exc.error_type,
            retryable=exc.retryable,
            hopeless=None if exc.retryable else exc.hopeless,
        )
    except Exception as exc:
        outcome = _Outcome(EXIT_FAILURE, FAILURE, f"{type(exc).__name__}: {exc}", type(exc).__name__)
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
        exit_code=outcome.exit_code,
        metrics=values,
        error=outcome.error,
        error_type=outcome.error_type,
        retryable=outcome.retryable,
        hopeless=outcome.hopeless,
        deferred=outcome.deferred,
    )


class _AlreadyCommitted(Exception):
    """The table holds a snapshot of this run id: an earlier try committed, so this one stops."""

    def __init__(self, snapshot_id: int | None, status: str | None) -> None:
        super().__init__(snapshot_id)
        self.snapshot_id = snapshot_id
        self.status = status or SUCCESS

    @classmethod
    def of(cls, snapshot: Snapshot) -> _AlreadyCommitted:
        return cls(snapshot.snapshot_id, run_status(snapshot))


class _JobRun:
    """One run's steps and what they share; each step fills in ``metrics`` as it goes."""

    def __init__(
        self,
        job: ResolvedJob,
        job_name: str,
        run_id: str | None,
        emitter: EventEmitter,
        metrics: RunMetrics,
        dativo_home: str | None,
        partial_retry: PartialRetry = NO_RETRY,
    ) -> None:
        self.partial_retry = partial_retry
        self.job = job
        self.job_name = job_name
        self.run_id = run_id
        self.emitter = emitter
        self.metrics = metrics
        self.dativo_home = dativo_home
        self.asset = _load_asset(job)
        self.layout = _declared_layout(job, self.asset)
        self.cursor = cursor_spec(job, self.asset)
        self.target = TargetTable(job, dativo_home)
        self.mode = job.config.target.mode
        self.strict = job.config.validation.mode == "strict"

    def execute(self) -> _Outcome:
        """Set up, load, decide (see the module docstring). Nothing is written to the catalog
        before the decision; a strict failure leaves no trace in it."""
        try:
            with trace_phase("extract"):
                source = get_source(self.job, self.asset, metrics=self.metrics.extra)
                source.preflight()  # a missing input fails before the catalog is opened
                table = self._destination()
                selection = self._cursor_selection(table)
                merge_keys = self._merge_key_check()
                sink = sink_for(
                    self.mode,
                    table,
                    merge_keys=self.job.config.target.merge_keys,
                    asset_schema=iceberg_schema(self.asset),
                    asset_name=self.asset.name,
                    cursor=self.cursor,
                    after=selection.after if selection is not None else None,
                    layout=self.layout,
                )
            with trace_phase("write", mode=self.mode, table=self.target.table_id) as span:
                pipeline = Pipeline(
                    self.asset,
                    sink,
                    cursor=selection,
                    merge_keys=merge_keys,
                    strict=self.strict,
                    run_id=self.run_id,
                    job_name=self.job_name,
                )
                loaded = pipeline.run(source.batches(selection.lower if selection is not None else None))
                self._record_tally(loaded.tally)
                span.set_attributes(
                    {"records_valid": loaded.tally.valid, "records_invalid": loaded.tally.invalid}
                )
                outcome = self.decide(loaded, sink, merge_keys, selection)
                span.set_attributes(
                    {"files_written": self.metrics.files_written, "total_bytes": self.metrics.total_bytes}
                )
                return outcome
        except _AlreadyCommitted as done:
            return self.already_committed(done.snapshot_id, done.status)

    # --- set up ---------------------------------------------------------------------------

    def _destination(self) -> Table:
        """The existing table (whether it can take the asset's records is checked before any
        record is read), or a staged one the commit will create; announced in
        ``infra_validated``. An earlier try's commit of this run id stops the run."""
        schema = iceberg_schema(self.asset)
        table = self.target.existing_or_staged(schema, self.layout)
        self.emitter.emit(
            "infra_validated",
            message=f"catalog {self.target.catalog_name!r} reachable; table {self.target.table_id} ready",
            catalog=self.target.catalog_name,
            table=self.target.table_id,
        )
        _, note = identifier_fields(self.layout, schema)
        if note is not None and is_staged(table):
            self.emitter.emit("table_layout_note", level="WARNING", message=note, table=self.target.table_id)
        if not is_staged(table) and (done := find_run(table, self.run_id)) is not None:
            raise _AlreadyCommitted.of(done)
        return table

    def _cursor_selection(self, table: Table) -> CursorSelection | None:
        """The cursor stage of an incremental job: at or beyond the committed cursor, less the
        records committed at it (and within the lookback window, less those in the table);
        beyond ``start`` on the first run."""
        if self.cursor is None:
            return None
        state = None if is_staged(table) else committed_state(table, self.cursor)
        committed = state.value if state is not None else None
        self.metrics.extra.update(
            {
                "cursor_field": self.cursor.name,
                "cursor_before": _json_value(committed),
                "cursor_after": _json_value(committed),
            }
        )
        if state is None:
            return CursorSelection(self.cursor, self.cursor.start)
        by = self.cursor.identity.by if self.cursor.identity else "content"
        boundary = state.boundary
        if boundary is None or boundary.ids is None:
            # beyond the bound, or committed by a version that recorded no boundary: the table's
            # records at the cursor value say what was loaded
            ids = committed_record_ids(table, self.cursor, state.value, state.value)
            count = boundary.count if boundary is not None else len(ids)
            boundary = Boundary(by, None, count)
        else:
            ids = set(boundary.ids)
        low = window_start(state.value, self.cursor.lookback)
        if self.cursor.lookback is not None:
            ids |= committed_record_ids(table, self.cursor, low, state.value)
        progress = CursorProgress(
            state.value,
            Boundary(boundary.by, None if boundary.ids is None else set(boundary.ids), boundary.count),
            base_snapshot_id=state.snapshot_id,
        )
        return CursorSelection(
            self.cursor, state.value, inclusive=True, low=low, known=ids, progress=progress
        )

    def _merge_key_check(self) -> MergeKeyCheck | None:
        if self.mode != "merge":
            return None
        return MergeKeyCheck(self.job.config.target.merge_keys, [f.name for f in self.asset.fields])

    def _record_tally(self, tally: Tally) -> None:
        self.metrics.records_extracted = tally.total if self.cursor is not None else tally.read
        if self.cursor is not None:
            self.metrics.extra["records_skipped_by_cursor"] = tally.skipped
        self.metrics.records_valid = tally.valid
        self.metrics.records_invalid = tally.invalid
        self.metrics.extra["invalid_by_rule"] = tally.invalid_by_rule
        if tally.first_invalid is not None:
            self.metrics.extra["first_invalid"] = str(tally.first_invalid)

    # --- decide ---------------------------------------------------------------------------

    def decide(
        self, loaded: Loaded, sink: Sink, merge_keys: MergeKeyCheck | None, selection: CursorSelection | None
    ) -> _Outcome:
        """Commit or not, once the input is consumed: the one place that decides.

        Refused (the sink's files deleted, nothing committed anywhere): strict mode with an
        invalid record (:class:`ValidationFailed`), merge keys that are null or not unique, and
        a partial outcome that a retry may still do better (:meth:`_defer_partial`).
        Otherwise the rejected records are quarantined first, then the target commit lands
        the records, the run's properties and the cursor with its boundary together.
        """
        tally = loaded.tally
        try:
            problem = _validation_problem(self.job, tally)  # strict: raises
            if merge_keys is not None:
                merge_keys.verify()
            if problem and self._defer_partial(problem):
                sink.discard()
                return _Outcome(
                    EXIT_PARTIAL,
                    PARTIAL,
                    f"{problem}; nothing committed: {self.metrics.extra['commit_decision']}",
                    ValidationFailed.error_type,
                    deferred=True,
                )
            if problem and loaded.rejected is not None:
                problem += self._quarantine(loaded.rejected)
        except BaseException:
            sink.discard()
            raise
        status = PARTIAL if tally.invalid else SUCCESS
        # deletes the data files itself when they did not land (unless they still might)
        outcome = sink.commit(
            self.target.catalog,
            run_id=self.run_id,
            top=selection.progress if selection is not None else None,
            properties=lambda staged: snapshot_properties(
                self.run_id, self.job_name, status=status, cursor=self.cursor, staged=staged
            ),
        )
        self._record_commit(outcome, sink.staged_cursor)
        if sink.layout_change is not None:
            change = sink.layout_change
            self.emitter.emit(
                "table_layout_evolved",
                message=f"table {self.target.table_id} layout evolved (old data files unchanged): "
                + change.describe(),
                table=self.target.table_id,
                before=change.before,
                after=change.after,
            )
        if problem:
            return _Outcome(EXIT_PARTIAL, PARTIAL, problem, ValidationFailed.error_type)
        return _Outcome(EXIT_SUCCESS, SUCCESS)

    def _defer_partial(self, problem: str) -> bool:
        """Whether this partial run leaves the load to a retry (see :mod:`.partial_retry`);
        announced in a ``commit_decision`` event either way."""
        commit, why = self.partial_retry.decide(problem)
        self.metrics.extra["commit_decision"] = why
        self.emitter.emit(
            "commit_decision",
            level="INFO" if commit else "WARNING",
            message=f"partial run: {why}",
            commit=commit,
            try_number=self.partial_retry.try_number,
            tries=self.partial_retry.tries,
            reason=why,
        )
        return not commit

    def _quarantine(self, rejected: pa.Table) -> str:
        """Append ``rejected`` to ``<table>__rejected``; returns the note for the message."""
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

    def _record_commit(self, outcome: CommitOutcome, staged_cursor: StagedCursor | None) -> None:
        """Metrics and state mirror of a commit; an earlier try's commit stops the run."""
        if outcome.already_committed:
            raise _AlreadyCommitted(outcome.snapshot_id, outcome.run_status)
        written = WriteResult.from_snapshots(outcome.snapshots)
        self.metrics.files_written = written.files_written
        self.metrics.total_bytes = written.total_bytes
        self.metrics.extra["snapshot_id"] = written.snapshot_id
        self.metrics.extra["commit_attempts"] = outcome.attempts
        if self.cursor is not None and staged_cursor is not None and outcome.snapshots:
            self.metrics.extra["cursor_after"] = _json_value(staged_cursor.value)
            self._mirror_state(written.snapshot_id)

    def already_committed(self, snapshot_id: int | None, status: str) -> _Outcome:
        """An earlier try of this run id committed: write nothing and report what it committed.

        A try that committed a partial load (warn mode rejected records) is reported as partial
        again: the table holds that partial load, and loading the records once more to do
        better would load the valid ones twice. Its rejected records are in the quarantine table.
        """
        self.metrics.extra["already_committed"] = True
        self.metrics.extra["snapshot_id"] = snapshot_id
        committed = f"run {self.run_id} was already committed (snapshot {snapshot_id}); nothing written"
        if status == PARTIAL:
            quarantine = f"{self.job.namespace}.{quarantine_table_name(self.job.config.target.table)}"
            problem = (
                f"validation failed (warn) in an earlier try: {committed}; the records it rejected "
                f"are in {quarantine}"
            )
            return _Outcome(EXIT_PARTIAL, PARTIAL, problem, ValidationFailed.error_type)
        return _Outcome(EXIT_SUCCESS, SUCCESS, note=committed)

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


def _declared_layout(job: ResolvedJob, asset: Asset) -> Layout:
    """The table layout of the job's ``target``, once its columns are known to be the asset's."""
    problems = target_problems(job, asset)
    if problems:
        raise ConfigError(
            f"target of job {job.path} does not fit asset {asset.name!r}:\n{DativoConfigError(problems)}"
        )
    target = job.config.target
    return Layout.of(target.partition_fields(), target.sort_fields(), target.merge_keys)


def _validation_problem(job: ResolvedJob, tally: Tally) -> str | None:
    """The partial-run message in warn mode; raises :class:`ValidationFailed` in strict mode."""
    if not tally.invalid:
        return None
    mode = job.config.validation.mode
    dropped = " and dropped" if mode == "warn" else ""
    problem = (
        f"validation failed ({mode}): {tally.invalid} of {tally.total} records invalid{dropped}: "
        f"{tally.summary()}"
    )
    first = tally.first_invalid
    if first is not None and first.exact_line:  # JSON Lines: the file, line and field
        problem += f"; the first is at {first}"
    if mode == "strict":
        raise ValidationFailed(problem)
    return problem


def _json_value(value: pa.Scalar | None) -> Any:
    """A typed cursor as it appears in metrics and the state mirror (the snapshot property's JSON)."""
    return None if value is None else json.loads(encode_cursor(value.as_py()))
