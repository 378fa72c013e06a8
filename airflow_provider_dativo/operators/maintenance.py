"""``DativoMaintenanceOperator``: maintain a job's Iceberg table inside an Airflow task.

Runs the steps of the job's ``target.maintenance`` (compaction, snapshot expiry, orphan-file
removal, :mod:`airflow_provider_dativo.engine.iceberg.maintenance`). The job file is loaded as
for a load (tenant, confinement and namespace checks), at run time: parsing a DAG file that uses
this operator imports neither pyiceberg nor pyarrow.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

if TYPE_CHECKING:
    from airflow.sdk import Context


class DativoMaintenanceOperator(BaseOperator):
    """Maintain the target table of the job ``config_path``; returns the summary (pushed to XCom).

    :param config_path: job YAML with ``target.maintenance`` (templated); without the block the
        defaults of ``dativo maintain`` apply.
    :param app_root: folder that replaces ``/app/`` in paths.
    :param dativo_home: home of the embedded catalog (default: ``DATIVO_HOME`` or ``./.dativo``).
    :param runner_config: the runner file whose ``runner.tenants`` grant the job's tenant folders.
    """

    template_fields: Sequence[str] = ("config_path",)
    ui_color = "#eef7e8"

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

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowFailException

        from airflow_provider_dativo.config.confinement import granted_roots
        from airflow_provider_dativo.config.errors import DativoConfigError
        from airflow_provider_dativo.config.loader import load_job
        from airflow_provider_dativo.engine.iceberg.maintenance import MaintenanceSteps, maintain_job_table
        from airflow_provider_dativo.settings import resolve_app_root

        app_root = resolve_app_root(self.app_root)
        try:
            job = load_job(
                self.config_path, app_root=app_root, allowed_roots=granted_roots(self.runner_config, app_root)
            )
        except DativoConfigError as exc:  # retrying cannot fix a job file
            raise AirflowFailException(f"invalid job configuration: {exc}") from exc
        steps = MaintenanceSteps.for_job(job.config.target.maintenance)
        summary = maintain_job_table(job, steps, self.dativo_home)
        self.log.info("maintenance of %s: %s", summary.get("table"), summary)
        return summary
