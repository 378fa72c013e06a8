"""What every operator that works on one dativo job file shares: its arguments and how it loads
the job at run time (tenant, folders and namespace checked as for ``dativo run``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider_dativo.config.errors import DativoConfigError

if TYPE_CHECKING:
    from airflow_provider_dativo.config.loader import ResolvedJob


class JobFileOperator(BaseOperator):
    """Base of the operators driven by a job file.

    :param config_path: job YAML (templated).
    :param app_root: folder that replaces ``/app/`` in paths (default: ``DATIVO_APP_ROOT``, else
        ``[dativo] app_root``).
    :param dativo_home: home of the embedded catalog (default: ``DATIVO_HOME`` or ``./.dativo``).
    :param runner_config: the runner file whose ``runner.tenants.<t>.allowed_roots`` grant the
        job's tenant folders beyond its default roots (read when the task runs); the DAG factory
        sets it when the runner grants any.
    """

    template_fields: Sequence[str] = ("config_path",)

    def __init__(
        self,
        *,
        config_path: str,
        app_root: str | None = None,
        dativo_home: str | None = None,
        runner_config: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.config_path = config_path
        self.app_root = app_root
        self.dativo_home = dativo_home
        self.runner_config = runner_config

    def load_job_file(self) -> ResolvedJob:
        """The job, loaded now; an invalid one fails the task without retries (none can fix it)."""
        from airflow.sdk.exceptions import AirflowFailException

        from airflow_provider_dativo.config.confinement import granted_roots
        from airflow_provider_dativo.config.loader import load_job
        from airflow_provider_dativo.settings import resolve_app_root

        try:
            app_root = resolve_app_root(self.app_root)
            grants = granted_roots(self.runner_config, app_root)
            return load_job(self.config_path, app_root=app_root, allowed_roots=grants)
        except DativoConfigError as exc:
            raise AirflowFailException(f"invalid dativo job configuration:\n{exc}") from None
