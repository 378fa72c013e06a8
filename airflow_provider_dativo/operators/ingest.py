"""``DativoIngestOperator``: run one dativo job inside an Airflow task.

Parsing a DAG file that uses this operator must stay cheap and side-effect free, so the
engine (pyarrow, pyiceberg) is imported only in :meth:`DativoIngestOperator.execute`.

Secrets are read at run time only (files of ``secrets/<tenant>/`` and Airflow connections, see
:mod:`airflow_provider_dativo.hooks.dativo`), never at parse time: no value can end up
in a serialized DAG or a rendered template field. With ``logging.redaction: true`` every
value is masked in the job's events, in Airflow's task log, and in whatever leaves the task:
the exception text and the metrics pushed to XCom.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_dativo.exceptions import DativoJobError
from airflow_provider_dativo.operators.job_file import JobFileOperator
from airflow_provider_dativo.outcomes import EXIT_PARTIAL, EXIT_SUCCESS

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_dativo.config.loader import ResolvedJob
    from airflow_provider_dativo.engine.events import EventEmitter
    from airflow_provider_dativo.engine.partial_retry import PartialRetry
    from airflow_provider_dativo.engine.run import JobResult


class DativoIngestOperator(JobFileOperator):
    """Run the dativo job described by ``config_path`` and return its metrics (pushed to XCom).

    Exit code 0 succeeds with status ``success``. Exit code 1 (warn mode dropped records)
    succeeds with status ``partial``, unless the task's retry policy treats 1 as retryable
    and tries remain: then the run commits nothing and the task fails so that Airflow retries
    it and the retry reads the source again; the last try commits the partial load. Exit code 2 fails
    the task with :class:`~airflow_provider_dativo.exceptions.DativoJobError`, whose
    ``exit_code`` the retry policy decides on. An invalid job or asset file, or a connector
    this version cannot run, fails at once without retries, since retrying cannot fix it.

    :param config_path: job YAML (templated).
    :param app_root: folder that replaces ``/app/`` in paths (default: ``DATIVO_APP_ROOT``, else
        ``[dativo] app_root``).
    :param job_name: name in events and metrics (default: the dag_id, i.e. the schedule name).
    :param dativo_home: home of the embedded catalog (default: ``DATIVO_HOME`` or ``./.dativo``).
    :param runner_config: the runner file whose ``runner.tenants.<t>.allowed_roots`` grant the
        job's tenant folders beyond its default roots (read when the task runs); the DAG factory
        sets it when the runner grants any.
    """

    ui_color = "#e8f4fd"

    def __init__(self, *, job_name: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job_name = job_name

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowFailException

        from airflow_provider_dativo.engine.events import EventEmitter

        job = self.load_job_file()

        job_name = self.job_name or self.dag_id
        run_id = f"{self.dag_id}/{context['run_id']}/{self.task_id}"
        emitter = EventEmitter(job_name=job_name, tenant_id=job.tenant_id, run_id=run_id)
        result = self._run(job, job_name, run_id, emitter, self._partial_retry(context))
        # The events are already masked; what leaves the task (XCom, exception, log) is masked here.
        metrics = emitter.redactor.redact(result.metrics)
        error = emitter.redact_text(result.error) if result.error else None
        self.log.info("dativo job %s finished with exit code %s: %s", job_name, result.exit_code, metrics)

        if result.exit_code == EXIT_SUCCESS:
            return metrics
        if not result.retryable:
            # An invalid job, asset or secret, a connector without engine: no retry can help.
            raise AirflowFailException(f"{result.why_hopeless(job_name)}: {error}")
        if result.exit_code == EXIT_PARTIAL and not result.deferred:
            self.log.warning("dativo job %s was partial: %s", job_name, error)
            return metrics
        raise DativoJobError(
            error or f"dativo job {job_name} failed", exit_code=result.exit_code, metrics=metrics
        )

    def _run(
        self, job: ResolvedJob, job_name: str, run_id: str, emitter: EventEmitter, partial_retry: PartialRetry
    ) -> JobResult:
        """Run the job with secrets from the tenant's files and Airflow connections."""
        from airflow_provider_dativo.engine.run import run_job
        from airflow_provider_dativo.hooks.dativo import airflow_secrets_loader

        return run_job(
            job,
            job_name=job_name,
            run_id=run_id,
            emitter=emitter,
            dativo_home=self.dativo_home,
            secrets_loader=airflow_secrets_loader,
            partial_retry=partial_retry,
        )

    def _partial_retry(self, context: Context) -> PartialRetry:
        """This try's place among the task's tries and whether its retry policy retries exit
        code 1: a partial run commits only when no retry would follow. Without a
        ``DativoRetryPolicy`` exit code 1 is a success, so a partial run commits at once."""
        from airflow_provider_dativo.engine.partial_retry import NO_RETRY, PartialRetry
        from airflow_provider_dativo.retry_policy import DativoRetryPolicy

        policy = self.retry_policy
        if not isinstance(policy, DativoRetryPolicy):
            return NO_RETRY
        config = policy.retry_config
        ti = context.get("ti")
        try_number = getattr(ti, "try_number", 1) or 1
        tries = min(self.retries or 0, config.max_retries) + 1
        return PartialRetry(try_number, tries, lambda text: config.is_retryable(EXIT_PARTIAL, text))
